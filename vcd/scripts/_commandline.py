# -*- test-case-name: tests.test_clientcli,tests.test_clientcommands -*-
"""
The command line of the clients C{vcc}, C{vce}, C{vcdadm} and C{vgc},
on C{argparse}.

A client is a L{Tool}: a program name, a summary and its
L{vcd.scripts._commands.Command}s.  The line is parsed in two steps: the
tool's parser takes the options before the command and the command's
name (an unknown name gets a "did you mean"); the command's own parser
takes its arguments and the same options again, so C{--json} and the
connection options may stand anywhere on the line.  The command is then
run by a L{vcd.scripts._session.Session}.

Exit codes: see L{vcd.scripts._clienterrors}; a command may have its own
(C{vcc exec} exits with the status of the command it ran).
"""

import argparse
import os
import sys
import textwrap

import vcd
from vcd.scripts._clienterrors import (
    EXIT_OK, EXIT_PIPE, EXIT_USAGE, SetupError, UsageError)
from vcd.scripts._clientsettings import (DEFAULT_HOST, DEFAULT_PORT,
                                         DEFAULT_USER, PASSWORD_VARIABLE)
from vcd.scripts._parser import Finished, Parser, ShowText, suggest
from vcd.scripts._session import IO, Session


class Tool:
    """
    A command-line client: a program name, a summary and its commands.

    A client module makes one, C{TOOL = Tool(...)}, and exposes
    C{main = TOOL.run} as its console-script entry point.
    """

    def __init__(self, prog, summary, commands):
        self.prog = prog
        self.summary = summary.strip()
        self.commands = {command.name: command for command in commands}

    # -- parsers -------------------------------------------------------------

    def addOptions(self, parser):
        """
        Add the options every command takes (connection, output, help),
        with no defaults: L{Session} applies them.
        """
        S = argparse.SUPPRESS
        parser.add_argument("-h", "--help", action=ShowText, tool=self,
                            text=lambda tool, p: p.format_help(),
                            help="show this help and exit")
        parser.add_argument("-c", metavar="FILE", dest="config", default=S,
                            help="client configuration: section [vcc] with"
                            " host, port, user, pass, tls, cafile, pin"
                            " (default ~/.vcc.conf, then /etc/vcd/vcc.conf)")
        parser.add_argument("-H", metavar="HOST", dest="host", default=S,
                            help="daemon host (default %s)" % (DEFAULT_HOST,))
        parser.add_argument("-p", metavar="PORT", dest="port", default=S,
                            help="daemon port (default %d)" % (DEFAULT_PORT,))
        parser.add_argument("-u", metavar="USER", dest="user", default=S,
                            help="user name (default %s)" % (DEFAULT_USER,))
        parser.add_argument("--json", action="store_true", default=S,
                            help="print the result as JSON")
        parser.add_argument("--tls", action="store_true", default=S,
                            help="call https:// (config 'tls = yes';"
                            " implied by --cafile and --pin)")
        parser.add_argument("--cafile", metavar="FILE", default=S,
                            help="verify the daemon's certificate against"
                            " these CAs (config 'cafile'; default the"
                            " system's)")
        parser.add_argument("--pin", metavar="SHA256", default=S,
                            help="the daemon's certificate must have this"
                            " SHA-256 fingerprint (config 'pin'; without a"
                            " CA file, the only check)")

    def parser(self):
        """
        The tool's parser: its options, then the command and its words.
        """
        from vcd.scripts import _completion, _manpage
        parser = Parser(
            prog=self.prog, add_help=False,
            usage="%(prog)s [options] <command> [<argument>...]",
            description=self.summary, epilog=self.commandList(),
            formatter_class=argparse.RawDescriptionHelpFormatter)
        self.addOptions(parser)
        parser.add_argument("--version", action=ShowText, tool=self,
                            text=lambda tool, p: "%s (vcd) %s\n" % (
                                tool.prog, vcd.__version__),
                            help="show the version and exit")
        parser.add_argument("--man", action=ShowText, tool=self,
                            text=_manpage.toolPage,
                            help="print the manual page (roff) and exit")
        parser.add_argument("--completion", action=ShowText, tool=self,
                            text=_completion.bashScript,
                            help="print a bash completion script and exit")
        parser.add_argument("command", nargs="?", metavar="<command>",
                            help="one of the commands below")
        parser.add_argument("words", nargs=argparse.REMAINDER,
                            metavar="<argument>",
                            help="the command's arguments, in order")
        return parser

    def commandParser(self, command):
        """
        The parser of one command's arguments (and the common options).
        """
        parser = Parser(
            prog="%s %s" % (self.prog, command.name), add_help=False,
            usage="%s [options] %s" % (self.prog, command.usage()),
            description=command.help)
        self.addOptions(parser)
        for argument in command.arguments:
            nargs = (argparse.REMAINDER if argument.rest else
                     "?" if argument.optional else None)
            parser.add_argument(argument.name, nargs=nargs,
                                metavar="<%s>" % (argument.name,),
                                help=argument.help or None)
        return parser

    def commandList(self):
        """
        The commands with their usage and help, for the tool's help.
        """
        lines = ["commands:"]
        for command in self.commands.values():
            lines.append("  " + command.usage())
            lines.extend(textwrap.wrap(command.help, 76,
                                       initial_indent=" " * 6,
                                       subsequent_indent=" " * 6))
        lines += ["", "The password comes from $%s, else 'pass' in the"
                  " configuration, else a prompt." % (PASSWORD_VARIABLE,),
                  "'%s <command> --help' describes one command." % (
                      self.prog,)]
        return "\n".join(lines)

    # -- running -------------------------------------------------------------

    def parse(self, argv):
        """
        Parse a command line.

        @return: C{(command, options, words)}: the L{Command}, the options
            given (a dict), and the words typed for each argument.
        @raise UsageError: a malformed line or an unknown command.
        @raise Finished: help, version, man page or completion asked for.
        """
        parser = self.parser()
        first = vars(parser.parse_args(argv))
        name, rest = first.pop("command"), first.pop("words")
        if name is None:
            raise UsageError("no command given; '%s --help' lists them"
                             % (self.prog,))
        command = self.commands.get(name)
        if command is None:
            raise UsageError("unknown command %r%s" % (
                name, suggest(name, self.commands)))
        commandParser = self.commandParser(command)
        try:
            second = vars(commandParser.parse_args(rest))
        except UsageError as e:
            e.command = command
            raise
        options = dict(first)
        for action in commandParser.recorded:
            if action.option_strings and action.dest in second:
                options[action.dest] = second.pop(action.dest)
        return command, options, second

    def run(self, argv=None, stdout=None, stderr=None, stdin=None,
            environ=None, transport=None):
        """
        Run the tool on C{argv} (default C{sys.argv[1:]}) and return the
        exit code.  The streams, the environment and the transport (see
        L{Session}) default to the process's own.
        """
        io = IO(stdout, stderr, stdin, environ)
        if argv is None:
            argv = sys.argv[1:]
        try:
            return self._run(list(argv), io, transport)
        except BrokenPipeError:
            return self.closedPipe(io)
        except KeyboardInterrupt:
            io.stderr.write("\n")
            return 130

    def _run(self, argv, io, transport):
        command = None
        try:
            command, options, words = self.parse(argv)
            values = command.bind(words)
        except UsageError as e:
            return self.fail(io, e, getattr(e, "command", command))
        except Finished as f:
            io.stdout.write(f.text)
            io.stdout.flush()
            return EXIT_OK
        session = Session(self, options, io, transport)
        try:
            code = session.run(command, values)
        except UsageError as e:
            return self.fail(io, e)
        except SetupError as e:
            io.stderr.write("%s: %s\n" % (self.prog, e))
            return EXIT_USAGE
        io.stdout.flush()
        return code

    def fail(self, io, error, command=None):
        """
        Report a usage error in two lines: C{<prog>: <message>} and where
        to read more; return 2.
        """
        io.stderr.write("%s: %s\n" % (self.prog, error))
        if command is not None:
            io.stderr.write("usage: %s [options] %s\n" % (self.prog,
                                                          command.usage()))
        io.stderr.write("run '%s %s--help' for help\n" % (
            self.prog, command.name + " " if command else ""))
        return EXIT_USAGE

    def closedPipe(self, io):
        """
        Standard output was closed (C{vcc status | head -1}): end quietly
        with 128 + SIGPIPE, as a process the signal ended would.
        """
        if io.stdout is sys.stdout:
            # Nothing more may be written: the interpreter's final flush
            # would fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return EXIT_PIPE

