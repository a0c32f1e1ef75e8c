# -*- test-case-name: tests.test_clientcommands,tests.test_clients -*-
"""
One run of a client command: the settings and password it connects
with, its calls to the daemon, and what it prints.
"""

import os
import sys
import xmlrpc.client

from vcd.scripts import _connection
from vcd.scripts._clienterrors import EXIT_FAULT, EXIT_OK
from vcd.scripts._clientsettings import askPassword, loadSettings
from vcd.scripts._output import formatFault, render


class IO:
    """
    The streams and environment a run uses (injectable for tests).
    """

    def __init__(self, stdout=None, stderr=None, stdin=None, environ=None):
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdin = stdin if stdin is not None else sys.stdin
        self.environ = environ if environ is not None else os.environ


def doneLine(command, values):
    """
    What a command that answers nothing prints: C{"start web1: done"}.
    """
    words = [command.name]
    if command.arguments and command.arguments[0].name in values:
        words.append(str(values[command.arguments[0].name]))
    return "%s: done" % (" ".join(words),)


class Session:
    """
    One command's run.

    @ivar tool: the L{vcd.scripts._commandline.Tool}.
    @ivar options: the options given (C{config}, C{host}, C{port},
        C{user}, C{json}), absent when not given.
    @ivar io: the L{IO}.
    @ivar asJSON: whether results are printed as JSON.
    """

    def __init__(self, tool, options, io, transport=None):
        """
        @param transport: C{transport(settings, method, arguments)} making
            one call (default L{vcd.scripts._connection.call}, over HTTP).
        """
        self.tool = tool
        self.options = options
        self.io = io
        self.asJSON = bool(options.get("json"))
        self._transport = transport or _connection.call
        self._settings = None

    @property
    def settings(self):
        """
        The L{vcd.scripts._clientsettings.Settings} from the defaults, the
        configuration file and the options, read once.

        @raise SetupError: the configuration is unreadable.
        @raise UsageError: the port is no port.
        """
        if self._settings is None:
            options = self.options
            self._settings = loadSettings(
                configPath=options.get("config"), host=options.get("host"),
                port=options.get("port"), user=options.get("user"),
                tls=options.get("tls", False), cafile=options.get("cafile"),
                pin=options.get("pin"))
        return self._settings

    def call(self, method, arguments):
        """
        Call C{method} with the C{arguments} struct, asking for the
        password at most once per run.

        @raise SetupError: no password, or the daemon cannot be reached.
        @raise xmlrpc.client.Fault: the daemon's fault.
        """
        settings = self.settings
        settings.password = askPassword(settings, self.io.environ,
                                        self.io.stdin, self.io.stderr)
        return self._transport(settings, method, arguments)

    def callOrNone(self, method, arguments):
        """
        L{call}, answering C{None} for a fault (one cell of a table).
        """
        try:
            return self.call(method, arguments)
        except xmlrpc.client.Fault:
            return None

    def run(self, command, values):
        """
        Run C{command} with the bound C{values}: its action, or its call
        with the result printed.

        @return: the exit code.
        """
        try:
            if command.action is not None:
                return command.action(self, command, values)
            result = self.call(command.method, values)
        except xmlrpc.client.Fault as fault:
            self.io.stderr.write(formatFault(fault))
            return EXIT_FAULT
        done = None
        if result is None or (result == "" and
                              not command.method.endswith(".get")):
            done = doneLine(command, values)
        self.show(result, command.render, done)
        return EXIT_OK

    def show(self, result, renderer=None, done=None):
        """
        Print a result: as JSON if asked, else with C{renderer(result,
        session)} if given, else as L{vcd.scripts._output.render} does;
        C{done}, if given, is printed instead (the result was empty).
        """
        if done is not None and not self.asJSON:
            self.io.stdout.write(done + "\n")
        elif renderer is not None and not self.asJSON:
            renderer(result, self)
        else:
            render(result, self.io.stdout, self.asJSON)
