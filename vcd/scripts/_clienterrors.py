# -*- test-case-name: tests.test_clients -*-
"""
How the command-line clients fail: the kinds of error they report and
their exit codes.

Exit codes: L{EXIT_OK} success, L{EXIT_FAULT} the daemon answered with a
fault, L{EXIT_USAGE} usage, configuration or connection errors,
L{EXIT_PIPE} standard output was closed before all was written.
C{vcc exec} exits with the status of the command it ran, and with
L{EXIT_EXEC_FAILED} when it could not run it.
"""

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_USAGE = 2
#: 128 + SIGPIPE, what a shell reports for a process SIGPIPE ended.
EXIT_PIPE = 141
#: C{vcc exec}: the daemon refused or failed to run the command (as
#: ssh's 255, out of the range commands use).
EXIT_EXEC_FAILED = 255


class UsageError(Exception):
    """
    The command line is wrong; the message says how.  Exit code 2.
    """


class SetupError(Exception):
    """
    The configuration, the password or the connection failed.  Exit code 2.
    """
