# -*- test-case-name: tests.test_config,tests.test_crash_consistency -*-
"""
Opening the VXDB file: safe mode, WAL, foreign keys, migrations.
"""

import os
import sqlite3

from vcd.vxdb.schema import migrate


def openVXDB(path):
    """
    Open (creating it mode 0600 if needed) and migrate the VXDB at C{path}.

    The connection is in autocommit mode: callers open their own
    transactions (see L{vcd.vxdb.database.VXDB.transact}).

    @return: a C{sqlite3.Connection}.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    connection = sqlite3.connect(path, isolation_level=None,
                                 check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 5000")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    migrate(connection)
    return connection


def runTransaction(connection, function, *args, **kwargs):
    """
    Run C{function(cursor, *args, **kwargs)} in one write transaction on
    C{connection}: committed if it returns, rolled back if it raises.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = function(connection.cursor(), *args, **kwargs)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result
