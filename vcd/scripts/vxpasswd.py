# -*- test-case-name: tests.test_config -*-
"""
vxpasswd <vxdb file> <username> [<password>]

Create the VXDB with its seed data (and the key its password verifiers
are made with, beside it) if it does not exist, then set the password of a
user (from the argument, else a prompt on a terminal, else
one line of standard input). Run locally, as root.
"""

import getpass
import sys

from vcd.vxdb.connection import openVXDB, runTransaction
from vcd.vxdb.credentials import KeyFileError, loadKey
from vcd.vxdb.users import setPassword
from vcd.vxdb.whirlpool import passwordDigest

USAGE = "usage: vxpasswd <vxdb file> <username> [<password>]\n"


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


def main(argv=None, stdin=None, stderr=None):
    """
    Run vxpasswd; return the exit status.
    """
    argv = sys.argv[1:] if argv is None else argv
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    if len(argv) not in (2, 3) or argv[0].startswith("-"):
        stderr.write(USAGE)
        return 2
    path, username = argv[0], argv[1]
    try:
        password = argv[2] if len(argv) == 3 else readPassword(stdin)
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
