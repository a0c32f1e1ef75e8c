# -*- test-case-name: tests.test_config,tests.test_clientcli -*-
"""
vxpasswd <vxdb file> <username> [<password>]: see L{SUMMARY}.
"""

import argparse
import getpass
import sys

from vcd.scripts._clienterrors import UsageError
from vcd.scripts._manpage import parserPage
from vcd.scripts._parser import Finished, Parser, helpOption, manOption
from vcd.vxdb.connection import openVXDB, runTransaction
from vcd.vxdb.credentials import KeyFileError, loadKey
from vcd.vxdb.users import setPassword
from vcd.vxdb.whirlpool import passwordDigest

SUMMARY = """\
vxpasswd: set the password of a VServer Control Daemon user.

Creates the VXDB with its seed data (the users admin and vshelper, the
group onboot, and the key its password verifiers are made with, beside
it) if it does not exist, then sets the password of a user:
the argument, else a prompt on a terminal, else one line of standard
input. Passwords have at least 8 characters. Run locally, as root.
Exit status: 0 done, 1 no such user or a bad password, 2 usage.
"""


def parser():
    """
    The command line of vxpasswd.
    """
    parser = Parser(prog="vxpasswd", add_help=False, description=SUMMARY,
                    usage="%(prog)s <vxdb file> <username> [<password>]",
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    helpOption(parser)
    manOption(parser, lambda p: parserPage(p, "vxpasswd", 8, SUMMARY))
    parser.add_argument("path", metavar="<vxdb file>",
                        help="the VXDB (the daemon's <datadir>/vxdb)")
    parser.add_argument("username", metavar="<username>",
                        help="the user (admin on a fresh VXDB)")
    parser.add_argument("password", nargs="?", metavar="<password>",
                        help="the new password (else asked for)")
    return parser


def readPassword(stdin):
    """
    Prompt on a terminal, else read one line of C{stdin}.
    """
    if stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def main(argv=None, stdin=None, stderr=None, stdout=None):
    """
    Run vxpasswd; return the exit status.
    """
    argv = sys.argv[1:] if argv is None else argv
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    stdout = stdout or sys.stdout
    try:
        args = parser().parse_args(argv)
    except Finished as f:
        stdout.write(f.text)
        return 0
    except UsageError as e:
        stderr.write("usage: vxpasswd <vxdb file> <username> [<password>]\n"
                     "vxpasswd: %s\n" % (e,))
        return 2
    path, username = args.path, args.username
    try:
        password = (args.password if args.password is not None
                    else readPassword(stdin))
    except (ValueError, EOFError) as e:
        stderr.write("vxpasswd: %s\n" % (e,))
        return 1
    if len(password) < 8:
        stderr.write("vxpasswd: passwords need at least 8 characters\n")
        return 1
    if "\n" in password or "\0" in password:
        stderr.write("vxpasswd: the password contains NUL or newline\n")
        return 1
    connection = openVXDB(path)
    try:
        key = loadKey(path)
        changed = runTransaction(connection, setPassword, username,
                                 key.verifier(passwordDigest(password)))
    except KeyFileError as e:
        stderr.write("vxpasswd: %s\n" % (e,))
        return 1
    finally:
        connection.close()
    if not changed:
        stderr.write("vxpasswd: no user %r in %s\n" % (username, path))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
