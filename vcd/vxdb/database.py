# -*- test-case-name: tests.test_dispatch_fake -*-
"""
The VXDB service: one connection used only from one dedicated thread for
every write, and a read-only connection for short reads on the reactor
thread.
"""

import sqlite3

from twisted.application import service
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from vcd.vxdb import users
from vcd.vxdb.access import QueryAccess, SnapshotCache
from vcd.vxdb.connection import openVXDB, runTransaction
from vcd.vxdb.credentials import keyPath, loadKey


class ReaderBusy(Exception):
    """
    The read-only connection could not read now; use the database thread.
    """


class VXDB(service.Service):
    """
    The configuration database.

    All work runs on a single dedicated thread (never the reactor's default
    pool), so writes are serialised and each L{transact} call is one
    transaction. Hand only plain data back.

    @ivar path: the database file.
    @ivar key: the L{vcd.vxdb.credentials.CredentialKey} password
        verifiers are made and checked with (None until opened).
    """

    log = Logger()

    #: How long a read on the reactor thread may wait for a lock before it
    #: is handed to the database thread instead (WAL readers rarely wait).
    READ_BUSY_TIMEOUT_MS = 20

    def __init__(self, path, reactor):
        self.path = path
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="vxdb")
        self._connection = None
        self._reader = None
        self._snapshots = None
        self.key = None
        #: Counts the daemon's own write transactions.
        self.generation = 0

    def open(self):
        """
        Open and migrate the database (blocking; at start-up only), read
        (or create) the credential key and turn the bare password digests
        VXDB may still hold into verifiers.
        """
        if self._connection is None:
            self._connection = openVXDB(self.path)
        if self.key is None:
            self.key = loadKey(self.path)
            self._snapshots = SnapshotCache(self.key)
            converted, foreign = runTransaction(
                self._connection, users.upgradeDigests, self.key)
            if converted:
                self.log.warn(
                    "VXDB: the stored password digests of {count} users"
                    " ({names}) are now salted verifiers keyed with"
                    " {keyFile}", count=len(converted),
                    names=", ".join(converted), keyFile=keyPath(self.path))
            if foreign:
                self.log.error(
                    "VXDB: the passwords of {names} were made with another"
                    " key than {keyFile} (was it replaced?): they cannot log"
                    " in until their password is set again (vxpasswd)",
                    names=", ".join(foreign), keyFile=keyPath(self.path))
        if self._reader is None:
            reader = sqlite3.connect(self.path, isolation_level=None,
                                     check_same_thread=False)
            reader.execute("PRAGMA busy_timeout = %d"
                           % (self.READ_BUSY_TIMEOUT_MS,))
            reader.execute("PRAGMA foreign_keys = ON")
            reader.execute("PRAGMA query_only = ON")
            self._reader = reader

    def startService(self):
        self.open()
        self._pool.start()
        service.Service.startService(self)

    def stopService(self):
        service.Service.stopService(self)
        self._pool.stop()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def transact(self, function, *args, **kwargs):
        """
        Run C{function(cursor, *args, **kwargs)} in one transaction on the
        database thread.

        @return: a Deferred firing with its result.
        """
        return deferToThreadPool(self._reactor, self._pool, self._written,
                                 function, *args, **kwargs)

    def _written(self, function, *args, **kwargs):
        try:
            return runTransaction(self._connection, function, *args,
                                  **kwargs)
        finally:
            # Whatever was committed, the checks' snapshot is copied anew.
            self.generation += 1

    def access(self, cursor):
        """
        The view the checks of a call read through: an in-memory snapshot
        on the read-only connection, SQL on the writer's.
        """
        if self._reader is not None and cursor.connection is self._reader:
            return self._snapshots.current(cursor, self.generation,
                                           self._reactor.seconds())
        return QueryAccess(cursor, self.key)

    def readNow(self, function, *args, **kwargs):
        """
        Run C{function(cursor, *args, **kwargs)} on the read-only
        connection, on the calling (reactor) thread, and return its result:
        for the short indexed reads every call starts with (authentication,
        owner checks) and for read-only methods. Each statement reads a
        consistent state of its own (no transaction spans them: reads need
        none, and the checks' snapshot is copied in one).

        @raise ReaderBusy: if the database was locked (rare in WAL mode);
            the caller then uses L{transact}.
        """
        if self._reader is None:
            raise ReaderBusy("the read-only connection is not open")
        try:
            return function(self._reader.cursor(), *args, **kwargs)
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise ReaderBusy(str(e))
            raise

    def read(self, function, *args, **kwargs):
        """
        L{readNow}, or L{transact} when the reader is busy.

        @return: a Deferred firing with the result (already fired, usually).
        """
        try:
            return defer.succeed(self.readNow(function, *args, **kwargs))
        except ReaderBusy:
            return self.transact(function, *args, **kwargs)
        except BaseException:
            return defer.fail()

    def transactNow(self, function, *args, **kwargs):
        """
        Run a transaction synchronously; for start-up and shutdown work
        only, before or after the pool runs.
        """
        self.open()
        return self._written(function, *args, **kwargs)
