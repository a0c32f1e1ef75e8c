# -*- test-case-name: tests.test_clients -*-
"""
The command line of the clients C{vcc}, C{vce}, C{vcdadm} and C{vgc}.

A client is a L{Tool}: a program name, a summary and a table of
L{vcd.scripts._commands.Command}s.  L{Tool.run} parses the common options,
picks the subcommand, binds its positional words to the method's named
arguments, makes the call (the C{{username, password}} struct first, the
arguments second) and prints the result (see
L{vcd.scripts._output.render}).

Exit codes: see L{vcd.scripts._clienterrors}.
"""

import getopt
import os
import sys
import xmlrpc.client

from vcd.scripts import _connection
from vcd.scripts._clienterrors import (
    EXIT_FAULT, EXIT_OK, EXIT_USAGE, SetupError, UsageError)
from vcd.scripts._clientsettings import (DEFAULT_HOST, DEFAULT_PORT,
                                         DEFAULT_USER, askPassword,
                                         loadSettings)
from vcd.scripts._output import formatFault, render

OPTIONS_HELP = """\
options:
  -c FILE     client configuration, section [vcc] with host, port, user,
              pass (default ~/.vcc.conf, then /etc/vcd/vcc.conf)
  -H HOST     daemon host (default %(host)s)
  -p PORT     daemon port (default %(port)d)
  -u USER     user name (default %(user)s)
  --tls       call https:// (config 'tls = yes'; implied by the next two)
  --cafile FILE  verify the daemon's certificate against these CAs
              (config 'cafile'; default the system's)
  --pin SHA256   the daemon's certificate must have this SHA-256
              fingerprint (config 'pin'; without a CA file, the only check)
  --json      print the result as JSON
  -h, --help  show this help; '<command> -h' shows one command
password: $VCC_PASSWORD, else 'pass' of the config file, else a prompt
""" % {"host": DEFAULT_HOST, "port": DEFAULT_PORT, "user": DEFAULT_USER}


class IO:
    """
    The streams and environment a run uses (injectable for tests).
    """

    def __init__(self, stdout=None, stderr=None, stdin=None, environ=None):
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdin = stdin if stdin is not None else sys.stdin
        self.environ = environ if environ is not None else os.environ


class Tool:
    """
    A command-line client: a program name, a summary and its commands.

    A client module makes one, C{TOOL = Tool(...)}, and exposes
    C{main = TOOL.run} as its console-script entry point.
    """

    def __init__(self, prog, summary, commands):
        self.prog = prog
        self.summary = summary
        self.commands = {command.name: command for command in commands}

    def usage(self):
        """
        The full help text: synopsis, summary, options and every command.
        """
        lines = ["usage: %s [options] <command> [<argument>...]" % self.prog,
                 "", self.summary.strip(), "", OPTIONS_HELP, "commands:"]
        width = min(40, max(len(c.usage()) for c in self.commands.values()))
        for command in self.commands.values():
            synopsis = command.usage()
            if len(synopsis) > width:
                lines.append("  " + synopsis)
                lines.append("  " + " " * width + "  " + command.help)
            else:
                lines.append("  %-*s  %s" % (width, synopsis, command.help))
        return "\n".join(lines) + "\n"

    def commandUsage(self, command):
        """
        The usage line of one command, with its help.
        """
        return "usage: %s [options] %s\n  %s\n" % (
            self.prog, command.usage(), command.help)

    def fail(self, io, message, usage=None, code=EXIT_USAGE):
        """
        Report an error as C{<prog>: <message>} on stderr, followed by
        C{usage} if given; return C{code} (by default 2).
        """
        io.stderr.write("%s: %s\n" % (self.prog, message))
        if usage:
            io.stderr.write(usage)
        return code

    def run(self, argv=None, stdout=None, stderr=None, stdin=None,
            environ=None):
        """
        Run the tool on C{argv} (default C{sys.argv[1:]}) and return the
        exit code.  The streams and the environment default to the
        process's own.
        """
        io = IO(stdout, stderr, stdin, environ)
        if argv is None:
            argv = sys.argv[1:]
        try:
            options, words = getopt.getopt(
                list(argv), "c:H:p:u:h", ["json", "help", "tls", "cafile=", "pin="])
        except getopt.GetoptError as e:
            return self.fail(io, str(e), self.usage())
        options = dict(options)
        if "-h" in options or "--help" in options:
            io.stdout.write(self.usage())
            return EXIT_OK
        if not words:
            return self.fail(io, "no command given", self.usage())
        command = self.commands.get(words[0])
        if command is None:
            return self.fail(io, "unknown command %r" % (words[0],),
                             self.usage())
        if words[1:2] in (["-h"], ["--help"]):
            io.stdout.write(self.commandUsage(command))
            return EXIT_OK
        try:
            values = command.bind(words[1:])
            settings = self.settings(options)
            if command.action is not None:
                return command.action(self, settings, values, io)
            result = self.call(settings, command.method, values, io)
        except UsageError as e:
            return self.fail(io, str(e), self.commandUsage(command))
        except SetupError as e:
            return self.fail(io, str(e))
        except xmlrpc.client.Fault as fault:
            io.stderr.write(formatFault(fault))
            return EXIT_FAULT
        render(result, io.stdout, "--json" in options)
        return EXIT_OK

    def settings(self, options):
        """
        The L{vcd.scripts._clientsettings.Settings} from the defaults, the
        configuration file and the parsed C{options}, in increasing
        precedence; the password is resolved at call time.
        """
        return loadSettings(configPath=options.get("-c"),
                            host=options.get("-H"), port=options.get("-p"),
                            user=options.get("-u"), tls="--tls" in options,
                            cafile=options.get("--cafile"),
                            pin=options.get("--pin"))

    def call(self, settings, method, arguments, io):
        """
        Resolve the password (asking for it at most once per run), then
        call C{method} on the daemon with C{arguments}.

        @raise SetupError: no password, or the daemon cannot be reached.
        @raise xmlrpc.client.Fault: the daemon's fault.
        """
        settings.password = askPassword(settings, io.environ, io.stdin,
                                        io.stderr)
        return _connection.call(settings, method, arguments)
