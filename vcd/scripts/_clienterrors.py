# -*- test-case-name: tests.test_clients -*-
"""
How the command-line clients fail: the two kinds of error they report
and their exit codes.

Exit codes: L{EXIT_OK} success, L{EXIT_FAULT} the daemon answered with a
fault, L{EXIT_USAGE} usage, configuration or connection errors.
"""

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """
    The command line is wrong; the message says how.  Exit code 2.
    """


class SetupError(Exception):
    """
    The configuration, the password or the connection failed.  Exit code 2.
    """
