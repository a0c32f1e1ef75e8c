"""
Shared machinery of the command-line clients C{vcc}, C{vce}, C{vcdadm} and
C{vgc}.

A tool is data: a L{Tool} holds a table of L{Command}s, each naming its
subcommand, the XML-RPC method it calls and its positional L{Argument}s in
the method's order.  L{Tool.run} parses the common options, binds the
positional words to the method's named arguments, makes the call (the
C{{username, password}} struct first, the arguments second) and prints the
result (see L{render}).

Exit codes: 0 success, 1 the daemon answered with a fault, 2 usage,
configuration or connection errors.
"""

import configparser
import getopt
import getpass
import http.client
import json
import os
import sys
import xml.parsers.expat
import xmlrpc.client

from vcd.faults import faultName

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 13386
DEFAULT_USER = "admin"

#: Client configuration files tried in order when C{-c} is not given.
CONFIG_PATHS = ("~/.vcc.conf", "/etc/vcd/vcc.conf")

#: Environment variable holding the password; it wins over the config file.
PASSWORD_VARIABLE = "VCC_PASSWORD"

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_USAGE = 2

OPTIONS_HELP = """\
options:
  -c FILE     client configuration, section [vcc] with host, port, user,
              pass (default ~/.vcc.conf, then /etc/vcd/vcc.conf)
  -H HOST     daemon host (default 127.0.0.1)
  -p PORT     daemon port (default 13386)
  -u USER     user name (default admin)
  --json      print the result as JSON
  -h, --help  show this help; '<command> -h' shows one command
password: $VCC_PASSWORD, else 'pass' of the config file, else a prompt
"""


class UsageError(Exception):
    """
    The command line is wrong; the message says how.  Exit code 2.
    """


class SetupError(Exception):
    """
    The configuration, the password or the connection failed.  Exit code 2.
    """


# Argument kinds: each converts one command-line word to the value sent,
# raising ValueError with a readable message.

def string(word):
    """
    A string argument, sent as it is.
    """
    return word


def integer(word):
    """
    An int argument (XML-RPC C{<int>}).
    """
    try:
        return int(word, 10)
    except ValueError:
        raise ValueError("expected an integer, got %r" % (word,))


def uint64(word):
    """
    An unsigned 64-bit argument, sent as a decimal string (the manual's
    convention, since XML-RPC has no 64-bit integer).
    """
    if not word.isdigit() or int(word) >= 2 ** 64:
        raise ValueError("expected an unsigned 64-bit number, got %r" % (word,))
    return str(int(word))


_BOOLEANS = {"1": True, "true": True, "yes": True,
             "0": False, "false": False, "no": False}


def boolean(word):
    """
    A bool argument given as 0/1, true/false or yes/no.
    """
    try:
        return _BOOLEANS[word.lower()]
    except KeyError:
        raise ValueError("expected 0/1, true/false or yes/no, got %r" % (word,))


REQUIRED = object()


def sameAs(other):
    """
    A default that copies the value bound to the argument C{other}.
    """
    return lambda values: values[other]


class Argument:
    """
    One positional argument of a subcommand.

    @ivar name: the member name in the method's argument struct.
    @ivar kind: converter from the word to the value (L{string}, ...).
    @ivar default: L{REQUIRED}, a value, or a callable taking the values
        bound so far (see L{sameAs}).
    @ivar rest: if true, this argument takes all remaining words (at least
        one), joined with single spaces.
    """

    def __init__(self, name, kind=string, default=REQUIRED, rest=False):
        self.name = name
        self.kind = kind
        self.default = default
        self.rest = rest

    @property
    def optional(self):
        """
        Whether the argument may be left out.
        """
        return self.default is not REQUIRED

    def usage(self):
        """
        The argument as shown in a usage line, without the brackets that
        mark it optional.
        """
        if self.rest:
            return "<%s> [<args>...]" % (self.name,)
        return "<%s>" % (self.name,)

    def defaultFor(self, values):
        """
        The value of the argument when left out.
        """
        if callable(self.default):
            return self.default(values)
        return self.default


def required(name, kind=string):
    """
    A positional argument that must be given.
    """
    return Argument(name, kind)


def optional(name, default="", kind=string):
    """
    A positional argument that may be left out; C{""} by default, the
    manual's "this value may be empty".
    """
    return Argument(name, kind, default)


def rest(name):
    """
    The trailing words, joined with spaces into one string argument.
    """
    return Argument(name, rest=True)


class Command:
    """
    One subcommand: the words a user types and the method call they make.

    @ivar name: the subcommand.
    @ivar method: the XML-RPC method name, or C{None} for an C{action}.
    @ivar arguments: the L{Argument}s; optional ones come last.
    @ivar help: a one-line description.
    @ivar action: instead of a call, a callable C{(tool, values, io)}
        returning the exit code.
    """

    def __init__(self, name, method, arguments=(), help="", action=None):
        self.name = name
        self.method = method
        self.arguments = tuple(arguments)
        self.help = help
        self.action = action
        kinds = [argument.optional for argument in self.arguments]
        if kinds != sorted(kinds):
            raise ValueError("%s: required argument after optional" % (name,))

    def usage(self):
        """
        The usage line, e.g. C{create <name> <template> [<force> [...]]}.
        """
        words = [self.name]
        closing = ""
        for argument in self.arguments:
            if argument.optional:
                words.append("[" + argument.usage())
                closing += "]"
            else:
                words.append(argument.usage())
        return " ".join(words) + closing

    def bind(self, words):
        """
        Convert the positional words into the method's argument struct.

        @raise UsageError: missing, surplus or malformed words.
        """
        values = {}
        for index, argument in enumerate(self.arguments):
            if argument.rest:
                if index >= len(words):
                    raise UsageError("missing <%s>" % (argument.name,))
                values[argument.name] = " ".join(words[index:])
                return values
            if index < len(words):
                try:
                    values[argument.name] = argument.kind(words[index])
                except ValueError as e:
                    raise UsageError("<%s>: %s" % (argument.name, e))
            elif argument.optional:
                values[argument.name] = argument.defaultFor(values)
            else:
                raise UsageError("missing <%s>" % (argument.name,))
        if len(words) > len(self.arguments):
            raise UsageError("too many arguments")
        return values


def namespaced(prefix):
    """
    A factory of L{Command}s whose method is C{prefix} + the subcommand.
    """
    def command(name, arguments=(), help=""):
        return Command(name, prefix + name, arguments, help)
    return command


class Settings:
    """
    Where to connect and as whom.
    """

    def __init__(self, host=DEFAULT_HOST, port=DEFAULT_PORT,
                 user=DEFAULT_USER, password=None, configPath=None):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.configPath = configPath

    @property
    def url(self):
        """
        The daemon's XML-RPC address.
        """
        host = "[%s]" % (self.host,) if ":" in self.host else self.host
        return "http://%s:%d/RPC2" % (host, self.port)


def parsePort(text):
    """
    A TCP port number from text.

    @raise UsageError: not a port number.
    """
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError("invalid port %r" % (text,))
    return int(text)


def readConfig(settings, path):
    """
    Update C{settings} from the C{[vcc]} section of the file at C{path}.

    @raise SetupError: the file is unreadable or malformed.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as e:
        raise SetupError("cannot read configuration %s: %s" % (path, e))
    settings.configPath = path
    if not parser.has_section("vcc"):
        return
    section = parser["vcc"]
    settings.host = section.get("host", settings.host)
    settings.user = section.get("user", settings.user)
    settings.password = section.get("pass", settings.password)
    if "port" in section:
        try:
            settings.port = parsePort(section["port"])
        except UsageError as e:
            raise SetupError("%s: %s" % (path, e))


def findConfig(explicit):
    """
    The configuration file to read: C{explicit} (C{-c}), else the first
    existing one of L{CONFIG_PATHS}, else C{None}.
    """
    if explicit is not None:
        return explicit
    for candidate in CONFIG_PATHS:
        path = os.path.expanduser(candidate)
        if os.path.isfile(path):
            return path
    return None


def askPassword(settings, environ, stdin, stderr):
    """
    The password: C{$VCC_PASSWORD}, else the config's C{pass}, else a
    prompt if stdin is a terminal.

    @raise SetupError: no password can be had.
    """
    if environ.get(PASSWORD_VARIABLE) is not None:
        return environ[PASSWORD_VARIABLE]
    if settings.password is not None:
        return settings.password
    if stdin is not None and stdin.isatty():
        return getpass.getpass(
            "Password for %s@%s: " % (settings.user, settings.host),
            stream=stderr)
    raise SetupError(
        "no password: set $%s, put 'pass' in the [vcc] section of %s, "
        "or run on a terminal" % (
            PASSWORD_VARIABLE, settings.configPath or "~/.vcc.conf"))


def call(settings, method, arguments):
    """
    Call C{method} on the daemon over a fresh connection, sending the
    credentials struct and the C{arguments} struct.

    @raise xmlrpc.client.Fault: the daemon's fault.
    @raise SetupError: the daemon could not be reached or answered
        something that is not XML-RPC.
    """
    proxy = xmlrpc.client.ServerProxy(settings.url, allow_none=True)
    credentials = {"username": settings.user, "password": settings.password}
    try:
        with proxy:
            return getattr(proxy, method)(credentials, arguments)
    except xmlrpc.client.ProtocolError as e:
        raise SetupError("%s answered HTTP %d %s" % (
            settings.url, e.errcode, e.errmsg))
    except (OSError, http.client.HTTPException) as e:
        raise SetupError("cannot connect to %s: %s" % (settings.url, e))
    except (xml.parsers.expat.ExpatError, xmlrpc.client.ResponseError) as e:
        raise SetupError("invalid response from %s: %s" % (settings.url, e))


def formatValue(value):
    """
    One scalar (or nested) value as text for tables and C{key: value}
    lines.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(formatValue(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def formatTable(rows):
    """
    Lines of an aligned table of structs: a header of the upper-cased
    member names (in order of first appearance), then one line per struct.
    """
    columns = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[column.upper() for column in columns]]
    cells.extend([formatValue(row.get(column)) for column in columns]
                 for row in rows)
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths))
            .rstrip() for line in cells]


def render(result, stream, asJSON=False):
    """
    Print a method's result: JSON if C{asJSON}; else nothing for nil, an
    aligned table for an array of structs, one item per line for other
    arrays, C{key: value} lines for a struct, the value itself otherwise.
    """
    if asJSON:
        stream.write(json.dumps(result, indent=2, ensure_ascii=False,
                                default=str) + "\n")
        return
    if result is None:
        return
    if isinstance(result, list):
        if result and all(isinstance(item, dict) for item in result):
            lines = formatTable(result)
        else:
            lines = [formatValue(item) for item in result]
    elif isinstance(result, dict):
        lines = ["%s: %s" % (key, formatValue(value))
                 for key, value in result.items()]
    else:
        text = formatValue(result)
        lines = [text[:-1] if text.endswith("\n") else text] if text else []
    for line in lines:
        stream.write(line + "\n")


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

    def fail(self, io, message, usage):
        """
        Report an error on stderr and return exit code 2.
        """
        io.stderr.write("%s: %s\n" % (self.prog, message))
        if usage:
            io.stderr.write(usage)
        return EXIT_USAGE

    def run(self, argv=None, stdout=None, stderr=None, stdin=None,
            environ=None):
        """
        Run the tool on C{argv} (default C{sys.argv[1:]}) and return the
        exit code.
        """
        io = IO(stdout, stderr, stdin, environ)
        if argv is None:
            argv = sys.argv[1:]
        try:
            options, words = getopt.getopt(
                list(argv), "c:H:p:u:h", ["json", "help"])
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
        except UsageError as e:
            return self.fail(io, str(e), self.commandUsage(command))
        except SetupError as e:
            return self.fail(io, str(e), None)
        except xmlrpc.client.Fault as fault:
            return self.reportFault(io, fault)
        return self.invoke(settings, command, values, "--json" in options, io)

    def settings(self, options):
        """
        The L{Settings} from defaults, config file and options, in
        increasing precedence; the password is resolved at call time.
        """
        settings = Settings()
        path = findConfig(options.get("-c"))
        if path is not None:
            readConfig(settings, path)
        settings.host = options.get("-H", settings.host)
        settings.user = options.get("-u", settings.user)
        if "-p" in options:
            settings.port = parsePort(options["-p"])
        return settings

    def invoke(self, settings, command, values, asJSON, io):
        """
        Call the command's method, print the result or the fault, and
        return the exit code.
        """
        try:
            settings.password = askPassword(
                settings, io.environ, io.stdin, io.stderr)
            result = call(settings, command.method, values)
        except SetupError as e:
            return self.fail(io, str(e), None)
        except xmlrpc.client.Fault as fault:
            return self.reportFault(io, fault)
        render(result, io.stdout, asJSON)
        return EXIT_OK

    def reportFault(self, io, fault):
        """
        Print a fault as C{NAME (code): message} on stderr; return 1.
        """
        io.stderr.write("%s (%d): %s\n" % (
            faultName(fault.faultCode), fault.faultCode, fault.faultString))
        return EXIT_FAULT
