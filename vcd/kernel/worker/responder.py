# -*- test-case-name: tests.test_workerresponder -*-
"""
The kernel worker's side of its protocol (L{vcd.kernel.worker.protocol}):
the operations answered in the worker's reactor.

Starts run one at a time, each in a reactor iteration of its own, so each
answer goes out before the next start begins; after-work (removing the
empty cgroups a container's earlier runs left) waits until the worker is
idle. Commands (exec) and forked operations run concurrently with
everything else. When its input closes, the worker finishes what it was
asked, answers, and ends.
"""

import collections

from twisted.internet import defer
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.protocols import amp
from twisted.python.failure import Failure
from zope.interface import implementer

from vcd.kernel.errors import KernelError
from vcd.kernel.worker.execute import runCommand
from vcd.kernel.worker.fork import runForked, setDomainName
from vcd.kernel.worker.protocol import Exec, SetDomainName, Start
from vcd.kernel.worker.start import startContainer

#: How long the worker must have had no request (and no command running)
#: before it does after-work.
IDLE_DELAY = 0.2


#: The longest error message sent, in characters: even at four UTF-8 bytes
#: each it fits an AMP value (65535 bytes); a longer one would make AMP
#: drop the connection, and with it every command in flight.
MAX_ERROR_TEXT = 16000


def _typed(failure):
    """
    Send anything but a L{KernelError} as one saying what it was (AMP would
    answer an undeclared error with "Unknown Error" and close the
    connection), and no message longer than L{MAX_ERROR_TEXT}.
    """
    if failure.check(KernelError):
        errorClass, text = failure.value.__class__, str(failure.value)
    else:
        errorClass = KernelError
        text = "%s: %s" % (failure.value.__class__.__name__, failure.value)
    if errorClass is failure.value.__class__ and len(text) <= MAX_ERROR_TEXT:
        return failure
    return Failure(errorClass(text[:MAX_ERROR_TEXT]))


@implementer(IHalfCloseableProtocol)
class WorkerResponder(amp.AMP):
    """
    The operations of the kernel worker, for its reactor.

    @ivar finished: a Deferred firing once the input closed and every
        operation asked for was answered.
    """

    def __init__(self, reactor, removeCgroups):
        """
        @param reactor: the worker's reactor.
        @param removeCgroups: the after-work of a start, called with the
            container's name.
        """
        amp.AMP.__init__(self)
        self.reactor = reactor
        self.removeCgroups = removeCgroups
        self.finished = defer.Deferred()
        self._starts = collections.deque()  # (arguments, Deferred)
        self._startCall = None
        self._afterWork = collections.deque()  # names of started containers
        self._idleCall = None
        self._busy = 0  # commands and forked operations running
        self._readClosed = False
        self._writeClosed = False

    @Start.responder
    def start(self, lxcpath, name, config, paths, settle):
        """
        Queue a start (see L{Start}).
        """
        d = defer.Deferred()
        self._starts.append(((lxcpath, name, config, paths, settle), d))
        self._requestArrived()
        if self._startCall is None:
            self._startCall = self.reactor.callLater(0, self._nextStart)
        return d

    def _nextStart(self):
        self._startCall = None
        arguments, d = self._starts.popleft()
        result = defer.maybeDeferred(startContainer, *arguments,
                                     removeCgroups=self.removeCgroups)
        self._afterWork.append(arguments[1])
        self._requestArrived()
        if self._starts:
            # In the next iteration: this answer is written first.
            self._startCall = self.reactor.callLater(0, self._nextStart)
        else:
            self.reactor.callLater(0, self._maybeEnd)
        result.addCallback(lambda pid: {"initPid": pid})
        result.addErrback(_typed)
        result.chainDeferred(d)

    @Exec.responder
    def execute(self, lxcpath, name, argv, timeout, cap, env):
        """
        Run a command in a container (see L{Exec}).
        """
        self._requestArrived()
        return self._track(defer.maybeDeferred(
            runCommand, self.reactor, lxcpath, name, argv, timeout, cap,
            env))

    @SetDomainName.responder
    def setDomainName(self, initPid, domainname):
        """
        Set a container's NIS domain name (see L{SetDomainName}).
        """
        self._requestArrived()
        d = defer.maybeDeferred(runForked, self.reactor, setDomainName,
                                initPid, domainname)
        return self._track(d.addCallback(lambda _: {}))

    def _track(self, d):
        self._busy += 1

        def done(passthrough):
            self._busy -= 1
            # Once the answer is written.
            self.reactor.callLater(0, self._maybeEnd)
            return passthrough
        return d.addBoth(done).addErrback(_typed)

    def _requestArrived(self):
        """
        Put off the after-work until the worker is idle again.
        """
        if not self._afterWork:
            return
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.reset(IDLE_DELAY)
        else:
            self._idleCall = self.reactor.callLater(IDLE_DELAY, self._idle)

    def _idle(self):
        self._idleCall = None
        if self._afterWork and not (self._busy or self._starts):
            name = self._afterWork.popleft()
            try:
                self.removeCgroups(name)
            except Exception:
                pass
        if self._afterWork:
            self._idleCall = self.reactor.callLater(IDLE_DELAY, self._idle)

    def readConnectionLost(self):
        """
        The daemon closed the worker's input: end once everything asked
        is answered.
        """
        self._readClosed = True
        self._maybeEnd()

    def writeConnectionLost(self):
        """
        Nobody reads the answers any more.
        """
        self._writeClosed = True
        self._maybeEnd()

    def _maybeEnd(self):
        if self.finished.called:
            return
        if not self._readClosed or self._busy or self._starts:
            return
        if self._writeClosed:
            self._finish()
        else:
            self.transport.loseConnection()

    def connectionLost(self, reason):
        """
        Both halves are closed: the worker is done.
        """
        amp.AMP.connectionLost(self, reason)
        for call in (self._startCall, self._idleCall):
            if call is not None and call.active():
                call.cancel()
        self._finish()

    def _finish(self):
        if not self.finished.called:
            self.finished.callback(None)
