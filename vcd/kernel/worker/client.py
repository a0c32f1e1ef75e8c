# -*- test-case-name: tests.test_workerprocess -*-
"""
The daemon's side of the kernel worker (L{vcd.kernel.worker}): spawned once
with C{reactor.spawnProcess}, answering the commands of
L{vcd.kernel.worker.protocol} (as L{vcd.kernel.worker.ampcommands}) in AMP
over its standard input and output;
respawned on the next command if it dies.
"""

import os
import sys

from twisted.application import service
from twisted.internet import defer, error, protocol
from twisted.internet.interfaces import ITransport
from twisted.internet.stdio import PipeAddress
from twisted.logger import Logger
from twisted.protocols import amp
from twisted.python.failure import Failure
from zope.interface import implementer

from vcd.kernel.errors import KernelError


class WorkerFailed(KernelError):
    """
    The worker died, or could not be spawned, before answering (a kernel
    error like any other to the daemon, so a caller turns it into a fault).
    """


@implementer(ITransport)
class _WorkerPipes:
    """
    The worker process as AMP's transport: what AMP writes goes to its
    standard input (the process transport has no addresses to give).
    """

    def __init__(self, process):
        self.process = process

    def write(self, data):
        self.process.write(data)

    def writeSequence(self, data):
        self.process.writeSequence(data)

    def loseConnection(self):
        self.process.loseConnection()

    def getPeer(self):
        return PipeAddress()

    def getHost(self):
        return PipeAddress()


class _WorkerProcess(protocol.ProcessProtocol):
    """
    The worker process, with an AMP connection over its standard input
    (the daemon's commands) and output (the answers).
    """

    log = Logger()

    def __init__(self, client):
        self.client = client
        self.amp = amp.AMP()
        self.ended = defer.Deferred()

    def connectionMade(self):
        self.amp.makeConnection(_WorkerPipes(self.transport))

    def outReceived(self, data):
        self.amp.dataReceived(data)

    def errReceived(self, data):
        for line in data.decode("utf-8", "replace").splitlines():
            self.log.warn("kernel worker: {line}", line=line)

    def processEnded(self, reason):
        # Forgotten first: a command sent from the errbacks below goes to a
        # new worker.
        self.client._ended(self, reason)
        # Every command not answered fails with WorkerFailed.
        self.amp.connectionLost(Failure(WorkerFailed(
            "the kernel worker died: %s" % (reason.getErrorMessage(),))))
        self.ended.callback(None)


class KernelWorker(service.Service):
    """
    A client of the kernel worker process, and the service that spawns it
    when the daemon starts and ends it when the daemon stops.

    @ivar executable: the Python interpreter to run it with.
    """

    log = Logger()

    def __init__(self, reactor, executable=None, environment=None):
        self.reactor = reactor
        self.executable = executable or sys.executable
        self.environment = dict(environment if environment is not None
                                else os.environ)
        # Whatever the working directory, the worker imports this vcd.
        # (this file is vcd/kernel/worker/client.py under it).
        root = os.path.abspath(__file__)
        for _ in range(4):
            root = os.path.dirname(root)
        paths = [root] + [p for p in self.environment.get(
            "PYTHONPATH", "").split(os.pathsep) if p and p != root]
        self.environment["PYTHONPATH"] = os.pathsep.join(paths)
        self._protocol = None
        self._stopping = False

    def _spawn(self):
        proto = _WorkerProcess(self)
        self.reactor.spawnProcess(
            proto, self.executable,
            # -P: never import from the working directory.
            [self.executable, "-P", "-m", "vcd.kernel.worker"],
            env=self.environment, childFDs={0: "w", 1: "r", 2: "r"})
        self._protocol = proto
        return proto

    def start(self):
        """
        Spawn the worker now rather than at the first request (its
        interpreter takes a while to start).
        """
        if self._protocol is None and not self._stopping:
            self._spawn()

    def callRemote(self, command, **arguments):
        """
        Send one command of L{vcd.kernel.worker.ampcommands}.

        @return: a Deferred firing with the response dict, or failing with
            one of the command's errors, or with L{WorkerFailed}.
        """
        if self._stopping:
            return defer.fail(WorkerFailed("the kernel worker is stopping"))
        proto = self._protocol or self._spawn()
        d = defer.maybeDeferred(proto.amp.callRemote, command, **arguments)

        def tooLong(failure):
            failure.trap(amp.TooLong)
            raise KernelError("an argument of %s is too long for the kernel"
                              " worker" % (command.__name__,))
        return d.addErrback(tooLong)

    def _ended(self, proto, reason):
        if proto is self._protocol:
            self._protocol = None
        if not self._stopping and not reason.check(error.ProcessDone):
            self.log.error("kernel worker ended: {reason}",
                           reason=reason.getErrorMessage())

    def startService(self):
        service.Service.startService(self)
        self.start()

    def stopService(self):
        service.Service.stopService(self)
        return self.stop()

    def stop(self, grace=5.0):
        """
        Close the worker's input so it exits once its children are done;
        kill it if that takes longer than C{grace} seconds (a long vx.exec).

        @return: a Deferred firing when it has ended.
        """
        self._stopping = True
        proto = self._protocol
        if proto is None:
            return defer.succeed(None)
        proto.transport.closeStdin()

        def kill():
            try:
                proto.transport.signalProcess("KILL")
            except error.ProcessExitedAlready:
                pass
        killer = self.reactor.callLater(grace, kill)

        def ended(passthrough):
            if killer.active():
                killer.cancel()
            return passthrough
        return proto.ended.addBoth(ended)
