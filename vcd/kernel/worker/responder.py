# -*- test-case-name: tests.test_workerresponder -*-
"""
The kernel worker's side of its protocol (L{vcd.kernel.worker.protocol}):
the operations, answered in AMP boxes (L{vcd.kernel.worker.boxes}) from the
worker's event loop (L{vcd.kernel.worker.loop}).

Starts run one at a time, as their requests arrive, each answer written
before the next start begins; after-work (removing the empty cgroups a
container's earlier runs left) waits until the worker is idle. Commands
(exec) and forked operations run concurrently with everything else. When
its input closes, the worker finishes what it was asked, answers, and
ends.
"""

from vcd.kernel.worker import protocol
from vcd.kernel.worker.boxes import (
    ASK, COMMAND, MAX_ERROR_TEXT, UNHANDLED_ERROR_CODE, BoxParser,
    MalformedBox, answerBox, errorBox, fromBox, rawErrorBox)
from vcd.kernel.worker.execute import runCommand
from vcd.kernel.worker.fork import runForked, setDomainName, setHostName
from vcd.kernel.idmap import RootSpec
from vcd.kernel.worker.start import startContainer

__all__ = ["IDLE_DELAY", "MAX_ERROR_TEXT", "WorkerResponder"]

#: How long the worker must have had no request (and no command running)
#: before it does after-work.
IDLE_DELAY = 0.2


class WorkerResponder:
    """
    The operations of the kernel worker, answering the AMP boxes it reads.
    """

    def __init__(self, loop, write, removeCgroups, ended):
        """
        @param loop: the worker's L{vcd.kernel.worker.loop.Loop}.
        @param write: called with the bytes of each answer.
        @param removeCgroups: the after-work of a start, called with the
            container's name.
        @param ended: called once the input closed and every operation
            asked for was answered.
        """
        self.loop = loop
        self.write = write
        self.removeCgroups = removeCgroups
        self.ended = ended
        self.finished = False
        self._parser = BoxParser()
        self._handlers = {protocol.Start.name: self._start,
                          protocol.Exec.name: self._exec,
                          protocol.SetDomainName.name: self._setDomainName,
                          protocol.SetHostName.name: self._setHostName,
                          protocol.Barrier.name: self._barrier}
        # Names of started containers, each once, in the order started.
        self._afterWork = {}
        self._idleCall = None
        self._busy = 0  # commands and forked operations running
        self._readClosed = False

    def dataReceived(self, data):
        """
        Answer the requests C{data} completes.

        @raise MalformedBox: if it is not AMP.
        """
        for box in self._parser.feed(data):
            self.boxReceived(box)

    def boxReceived(self, box):
        """
        Answer one request.
        """
        ask = box.get(ASK)
        operation = protocol.OPERATIONS.get(box.get(COMMAND))
        if operation is None:
            self._write(ask, lambda: rawErrorBox(
                ask, UNHANDLED_ERROR_CODE, "Unhandled Command: %r"
                % (box.get(COMMAND),)))
            return
        self._requestArrived()
        try:
            arguments = fromBox(operation.arguments, box)
        except MalformedBox as e:
            self._answer(ask, operation, e)
            return
        self._handlers[operation.name](ask, operation, **arguments)

    def _start(self, ask, operation, lxcpath, name, config, rootKind,
               rootPaths, idBase, idCount, mountPoints, settle):
        try:
            root = (RootSpec(rootKind, rootPaths, idBase, idCount,
                             mountPoints) if rootKind else None)
            outcome = {"initPid": startContainer(
                lxcpath, name, config, root, settle,
                removeCgroups=self.removeCgroups)}
        except Exception as e:
            outcome = e
        self._afterWork.pop(name, None)
        self._afterWork[name] = None
        self._requestArrived()
        self._answer(ask, operation, outcome)

    def _exec(self, ask, operation, lxcpath, name, argv, timeout, cap, env):
        self._run(ask, operation, runCommand, lxcpath, name, argv, timeout,
                  cap, env)

    def _setHostName(self, ask, operation, initPid, hostname):
        self._run(ask, operation, runForked, setHostName, initPid, hostname)

    def _setDomainName(self, ask, operation, initPid, domainname):
        self._run(ask, operation, runForked, setDomainName, initPid,
                  domainname)

    def _barrier(self, ask, operation):
        # Every earlier request was handled as it arrived (an Exec's
        # command attached, or its attach failed): answer at once.
        self._answer(ask, operation, {})

    def _run(self, ask, operation, function, *arguments):
        """
        Start C{function(loop, done, *arguments)} (L{runCommand},
        L{runForked}), and answer when it calls C{done} with its outcome.
        """
        self._busy += 1

        def done(outcome):
            self._busy -= 1
            self._answer(ask, operation, {} if outcome is None else outcome)
            self._maybeEnd()
        try:
            function(self.loop, done, *arguments)
        except Exception as e:
            done(e)

    def _answer(self, ask, operation, outcome):
        """
        Write the answer C{outcome}: a response dict, or an exception.
        """
        if isinstance(outcome, BaseException):
            self._write(ask, lambda: errorBox(ask, operation, outcome))
        else:
            self._write(ask, lambda: answerBox(ask, operation, outcome))

    def _write(self, ask, encode):
        if ask is None:
            return
        try:
            data = encode()
        except Exception as e:
            data = rawErrorBox(ask, b"KERNEL_ERROR", (
                "the kernel worker could not encode its answer: %s: %s"
                % (e.__class__.__name__, e))[:MAX_ERROR_TEXT])
        self.write(data)

    def _requestArrived(self):
        """
        Put off the after-work until the worker is idle again.
        """
        if not self._afterWork:
            return
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.reset(IDLE_DELAY)
        else:
            self._idleCall = self.loop.callLater(IDLE_DELAY, self._idle)

    def _idle(self):
        self._idleCall = None
        if self._afterWork and not self._busy:
            name = next(iter(self._afterWork))
            del self._afterWork[name]
            try:
                self.removeCgroups(name)
            except Exception:
                pass
        if self._afterWork:
            self._idleCall = self.loop.callLater(IDLE_DELAY, self._idle)

    def inputClosed(self):
        """
        The daemon closed the worker's input: end once everything asked is
        answered.
        """
        self._readClosed = True
        self._maybeEnd()

    def _maybeEnd(self):
        if self.finished or not self._readClosed or self._busy:
            return
        self.finished = True
        if self._idleCall is not None:
            self._idleCall.cancel()
        self.ended()
