"""
The daemon's side of the kernel worker (L{vcd.kernel.worker}): spawned once
with C{reactor.spawnProcess}, answering JSON-line requests; respawned on the
next request if it dies.
"""

import json
import os
import sys

from twisted.internet import defer, error, protocol
from twisted.logger import Logger


class WorkerFailed(Exception):
    """
    The worker died, or could not be spawned, before answering.
    """


class _WorkerProtocol(protocol.ProcessProtocol):
    log = Logger()

    def __init__(self, client):
        self.client = client
        self.buffer = b""
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip():
                self.client._answer(self, json.loads(line))

    def errReceived(self, data):
        for line in data.decode("utf-8", "replace").splitlines():
            self.log.warn("kernel worker: {line}", line=line)

    def processEnded(self, reason):
        self.client._ended(self, reason)
        self.ended.callback(None)


class KernelWorker:
    """
    A client of the kernel worker process.

    @ivar executable: the Python interpreter to run it with.
    """

    log = Logger()

    def __init__(self, reactor, executable=None, environment=None):
        self.reactor = reactor
        self.executable = executable or sys.executable
        self.environment = dict(environment if environment is not None
                                else os.environ)
        # Whatever the working directory, the worker imports this vcd.
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        paths = [root] + [p for p in self.environment.get(
            "PYTHONPATH", "").split(os.pathsep) if p and p != root]
        self.environment["PYTHONPATH"] = os.pathsep.join(paths)
        self._protocol = None
        self._pending = {}
        self._nextId = 0
        self._stopping = False

    def _spawn(self):
        proto = _WorkerProtocol(self)
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

    def request(self, op, **fields):
        """
        Send one request.

        @return: a Deferred firing with the response dict.
        """
        if self._stopping:
            return defer.fail(WorkerFailed("the kernel worker is stopping"))
        proto = self._protocol or self._spawn()
        self._nextId += 1
        fields.update(op=op, id=self._nextId)
        d = defer.Deferred()
        self._pending[self._nextId] = (proto, d)
        proto.transport.write(json.dumps(fields).encode() + b"\n")
        return d

    def _answer(self, proto, response):
        entry = self._pending.pop(response.get("id"), None)
        if entry is None:
            self.log.warn("kernel worker answered an unknown request {r!r}",
                          r=response)
            return
        entry[1].callback(response)

    def _ended(self, proto, reason):
        if proto is self._protocol:
            self._protocol = None
        if not self._stopping and not reason.check(error.ProcessDone):
            self.log.error("kernel worker ended: {reason}",
                           reason=reason.getErrorMessage())
        for key, (owner, d) in list(self._pending.items()):
            if owner is proto:
                del self._pending[key]
                d.errback(WorkerFailed("the kernel worker died: %s"
                                       % (reason.getErrorMessage(),)))

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
