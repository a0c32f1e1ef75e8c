"""
The VXDB service: one connection used only from one dedicated thread.
"""

from twisted.application import service
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from vcd.vxdb.connection import openVXDB, runTransaction


class VXDB(service.Service):
    """
    The configuration database.

    All work runs on a single dedicated thread (never the reactor's default
    pool), so writes are serialised and each L{transact} call is one
    transaction. Hand only plain data back.

    @ivar path: the database file.
    """

    def __init__(self, path, reactor):
        self.path = path
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="vxdb")
        self._connection = None

    def open(self):
        """
        Open and migrate the database (blocking; at start-up only).
        """
        if self._connection is None:
            self._connection = openVXDB(self.path)

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

    def transact(self, function, *args, **kwargs):
        """
        Run C{function(cursor, *args, **kwargs)} in one transaction on the
        database thread.

        @return: a Deferred firing with its result.
        """
        return deferToThreadPool(self._reactor, self._pool, runTransaction,
                                 self._connection, function, *args, **kwargs)

    def transactNow(self, function, *args, **kwargs):
        """
        Run a transaction synchronously; for start-up and shutdown work
        only, before or after the pool runs.
        """
        self.open()
        return runTransaction(self._connection, function, *args, **kwargs)
