# -*- test-case-name: tests.test_workerchildio -*-
"""
Watching a child of the kernel worker from its reactor without blocking it:
its exit (through a pidfd, which becomes readable the moment the child
exits) and its output (a pipe, read as it comes, up to a cap).

The worker reaps only the children it watches, each by its pid: liblxc
waits for its own.
"""

import os

from twisted.internet import defer
from twisted.internet.interfaces import IReadDescriptor
from zope.interface import implementer

READ_CHUNK = 65536


@implementer(IReadDescriptor)
class _Exit:
    """
    A child's pidfd in the reactor: readable once the child has exited.
    """

    def __init__(self, reactor, pid):
        self.reactor = reactor
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.exited = defer.Deferred()
        reactor.addReader(self)

    def fileno(self):
        return self.pidfd

    def logPrefix(self):
        return "pidfd of %d" % (self.pid,)

    def doRead(self):
        self.reactor.removeReader(self)
        os.close(self.pidfd)
        self.pidfd = -1
        try:
            _, status = os.waitpid(self.pid, 0)
        except OSError:
            self.exited.errback()
        else:
            self.exited.callback(os.waitstatus_to_exitcode(status))

    def connectionLost(self, reason):
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


def whenExited(reactor, pid):
    """
    Reap the child C{pid} of this process once it exits.

    @return: a Deferred firing with its exit code, or minus the signal that
        killed it.
    """
    return _Exit(reactor, pid).exited


@implementer(IReadDescriptor)
class OutputPipe:
    """
    The read end of a child's output pipe in the reactor: keeps at most
    C{cap} bytes of what comes, notes whether more came, stops reading at
    its end.

    @ivar truncated: whether output beyond the cap was dropped.
    @ivar eof: whether the pipe's end was seen.
    """

    def __init__(self, reactor, fd, cap):
        """
        @param fd: the read end, which this object now owns.
        """
        self.reactor = reactor
        self.fd = fd
        self.cap = cap
        self.chunks = []
        self.kept = 0
        self.truncated = False
        self.eof = False
        os.set_blocking(fd, False)
        reactor.addReader(self)

    def fileno(self):
        return self.fd

    def logPrefix(self):
        return "output pipe"

    def doRead(self):
        """
        Read what the pipe has; note its end.
        """
        self._readOnce()

    def _readOnce(self):
        """
        @return: whether something was read.
        """
        try:
            data = os.read(self.fd, READ_CHUNK)
        except BlockingIOError:
            return False
        if not data:
            self.eof = True
            self.reactor.removeReader(self)
            return False
        take = data[:max(self.cap - self.kept, 0)]
        if take:
            self.chunks.append(take)
            self.kept += len(take)
        if len(take) < len(data):
            self.truncated = True
        return True

    def drain(self):
        """
        Read what is already in the pipe, without waiting for its end (a
        daemon the child left behind may hold it open).
        """
        while not self.eof and self._readOnce():
            pass

    def close(self):
        """
        Stop reading and close the pipe.

        @return: the output kept.
        """
        if not self.eof:
            self.reactor.removeReader(self)
            self.eof = True
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        return b"".join(self.chunks)

    def connectionLost(self, reason):
        pass
