# -*- test-case-name: tests.test_config -*-
"""
A thread pool that starts and stops with the daemon.
"""

from twisted.application import service
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


class ThreadPoolService(service.Service):
    """
    A dedicated L{ThreadPool} (the reactor's own also serves DNS), started
    and stopped as a child service.

    @ivar pool: the L{ThreadPool}.
    """

    def __init__(self, reactor, name, maxthreads):
        self.reactor = reactor
        self.pool = ThreadPool(minthreads=1, maxthreads=maxthreads, name=name)

    def run(self, function, *args, **kwargs):
        """
        Run the blocking C{function(*args, **kwargs)} in the pool.

        @return: a Deferred firing with its result.
        """
        return deferToThreadPool(self.reactor, self.pool, function, *args,
                                 **kwargs)

    def startService(self):
        service.Service.startService(self)
        self.pool.start()

    def stopService(self):
        service.Service.stopService(self)
        self.pool.stop()
