"""
Tests for L{vcd.kernel.worker.responder}: the kernel worker's answers to the
operations of L{vcd.kernel.worker.protocol}, asked by Twisted's AMP client
(the daemon's), in a L{Loop} on a fake clock, with doubles of the liblxc
operations. Starts run one at a time, each answer written before the next
start begins; after-work waits for idleness; commands run concurrently;
unexpected exceptions arrive as KernelError; closing the input ends the
worker once everything asked is answered.
"""

from twisted.internet.testing import StringTransport
from twisted.protocols import amp
from twisted.trial import unittest

from tests.test_workerloop import FakeClock
from vcd.kernel.errors import KernelError, RootMissing
from vcd.kernel.worker import responder as workerresponder
from vcd.kernel.worker.ampcommands import (Barrier, Exec, SetDomainName,
                                          Start)
from vcd.kernel.worker.boxes import MAX_ERROR_TEXT
from vcd.kernel.worker.fork import setDomainName
from vcd.kernel.worker.loop import Loop
from vcd.kernel.worker.responder import IDLE_DELAY, WorkerResponder

EXEC = dict(lxcpath="/l", name="n", argv=["sleep", "9"], timeout=5.0,
            cap=100, env=[])
DONE = {"status": 0, "output": b"", "truncated": False, "timedOut": False,
        "notFound": False}


class ResponderTests(unittest.TestCase):

    def setUp(self):
        self.clock = FakeClock()
        self.loop = Loop(self.clock)
        self.removed = []
        self.starts = []  # (name, bytes the worker had written before)
        self.startError = None
        self.execs = []  # (arguments, done)
        self.forked = []
        self.ended = []
        self.written = []
        self.patch(workerresponder, "startContainer", self.fakeStart)
        self.patch(workerresponder, "runCommand", self.fakeRun)
        self.patch(workerresponder, "runForked", self.fakeFork)
        self.responder = WorkerResponder(
            self.loop, self.written.append, self.removed.append,
            lambda: self.ended.append(True))
        self.client = amp.AMP()
        self.clientTransport = StringTransport()
        self.client.makeConnection(self.clientTransport)

    def pump(self):
        """
        Carry the bytes each side wrote to the other.
        """
        while self.clientTransport.value() or self.written:
            toWorker = self.clientTransport.value()
            self.clientTransport.clear()
            if toWorker:
                self.responder.dataReceived(toWorker)
            toClient = b"".join(self.written)
            del self.written[:]
            if toClient:
                self.client.dataReceived(toClient)

    def advance(self, seconds):
        self.clock.now += seconds
        self.loop.iterate(0)

    def fakeStart(self, lxcpath, name, config, root, settle,
                  removeCgroups):
        self.assertIs(removeCgroups.__self__, self.removed)
        self.starts.append((name, len(b"".join(self.written))))
        if self.startError is not None:
            raise self.startError
        return 100 + len(self.starts)

    def fakeRun(self, loop, done, lxcpath, name, argv, timeout, cap, env):
        self.assertIs(loop, self.loop)
        self.execs.append(((lxcpath, name, argv, timeout, cap, env), done))

    def fakeFork(self, loop, done, function, *args):
        self.assertIs(loop, self.loop)
        self.forked.append((function, args))
        done(None)

    def call(self, command, **arguments):
        results = []
        self.client.callRemote(command, **arguments).addBoth(
            results.append)
        self.pump()
        return results

    def ask(self, command, **arguments):
        """
        Send a command without delivering it yet.
        """
        results = []
        self.client.callRemote(command, **arguments).addBoth(
            results.append)
        return results

    def start(self, name):
        return self.call(Start, lxcpath="/l", name=name, config="c",
                         rootKind="", rootPaths=[], idBase=0,
            idCount=0, mountPoints=[], settle=0.001)

    def test_startsOneAtATime(self):
        """
        Starts arriving together run one after the other: the first answer
        is written before the second start begins.
        """
        first = self.ask(Start, lxcpath="/l", name="a", config="c",
                         rootKind="", rootPaths=[], idBase=0,
            idCount=0, mountPoints=[], settle=0.001)
        second = self.ask(Start, lxcpath="/l", name="b", config="c",
                          rootKind="", rootPaths=[], idBase=0,
            idCount=0, mountPoints=[], settle=0.001)
        self.pump()
        self.assertEqual([name for name, _ in self.starts], ["a", "b"])
        self.assertEqual(self.starts[0][1], 0)
        self.assertGreater(self.starts[1][1], 0, "first answer not written")
        self.assertEqual((first, second), ([{"initPid": 101}],
                                           [{"initPid": 102}]))

    def test_startErrors(self):
        """
        A declared error arrives typed; anything else as a KernelError
        naming it, and the worker goes on answering.
        """
        self.startError = RootMissing("/v/upper")
        results = self.start("a")
        self.assertIs(type(results[0].value), RootMissing)
        self.assertEqual(str(results[0].value), "/v/upper")
        self.startError = ValueError("boom")
        results = self.start("b")
        self.assertIs(type(results[0].value), KernelError)
        self.assertEqual(str(results[0].value), "ValueError: boom")
        self.startError = None
        self.assertEqual(self.start("c"), [{"initPid": 103}])

    def test_hugeErrorsArriveCut(self):
        """
        An error message longer than one AMP value can carry (a start's log
        quoting 70,000 characters a VPS's init wrote, say) arrives cut at
        MAX_ERROR_TEXT characters, typed, and the connection stays up: AMP
        would otherwise drop it, failing every command in flight.
        """
        self.assertIs(workerresponder.MAX_ERROR_TEXT, MAX_ERROR_TEXT)
        pending = self.call(Exec, **EXEC)
        self.startError = RootMissing("\u20ac" * 70000)
        results = self.start("a")
        self.assertIs(type(results[0].value), RootMissing)
        self.assertEqual(str(results[0].value), "\u20ac" * MAX_ERROR_TEXT)
        self.assertLess(MAX_ERROR_TEXT * 4, 65536)
        self.startError = MemoryError("x" * 70000)
        results = self.start("b")
        self.assertIs(type(results[0].value), KernelError)
        self.assertTrue(str(results[0].value).startswith("MemoryError: xxx"))
        self.execs[0][1](dict(DONE, output=b"ok"))
        self.pump()
        self.assertEqual(pending[0]["output"], b"ok")

    def test_execsRunConcurrently(self):
        """
        A second command is attached while the first still runs, and each
        answer goes out when its command is done.
        """
        first = self.call(Exec, **EXEC)
        second = self.call(Exec, **dict(EXEC, name="m"))
        self.assertEqual([a[1] for a, _ in self.execs], ["n", "m"])
        self.assertEqual(self.execs[0][0],
                         ("/l", "n", ["sleep", "9"], 5.0, 100, []))
        answer = dict(DONE, output=b"x" * 70000)
        self.execs[1][1](answer)
        self.pump()
        self.assertEqual((first, second), ([], [answer]))
        self.execs[0][1](OSError(9, "bad"))
        self.pump()
        self.assertIs(type(first[0].value), KernelError)
        self.assertEqual(str(first[0].value), "OSError: [Errno 9] bad")

    def test_execNotStarted(self):
        """
        A command that cannot be attached fails at once, and does not keep
        the worker busy.
        """
        def refuse(loop, done, lxcpath, name, *rest):
            raise KernelError("%s is not running" % (name,))
        self.patch(workerresponder, "runCommand", refuse)
        results = self.call(Exec, **EXEC)
        self.assertEqual(str(results[0].value), "n is not running")
        self.responder.inputClosed()
        self.assertEqual(self.ended, [True])

    def test_setDomainName(self):
        """
        The domain name is set by L{setDomainName} in a forked child.
        """
        self.assertEqual(self.call(SetDomainName, initPid=42,
                                   domainname="ex.org"), [{}])
        self.assertEqual(self.forked, [(setDomainName, (42, "ex.org"))])

    def test_unknownCommand(self):
        """
        A command the worker does not know fails as Twisted's AMP fails it.
        """
        class Other(amp.Command):
            arguments = []
            response = []
        results = self.call(Other)
        self.assertIsInstance(results[0].value, amp.UnhandledCommand)
        self.assertEqual(self.call(SetDomainName, initPid=1,
                                   domainname="x"), [{}])

    def test_afterWorkWaitsForIdle(self):
        """
        The cgroups of a start are removed once no request came for
        IDLE_DELAY seconds and no command runs.
        """
        self.start("a")
        self.advance(IDLE_DELAY / 2)
        self.call(Exec, **EXEC)
        self.advance(IDLE_DELAY * 0.75)
        self.assertEqual(self.removed, [])
        self.advance(IDLE_DELAY * 5)
        self.assertEqual(self.removed, [], "removed while a command ran")
        self.execs[0][1](DONE)
        self.advance(IDLE_DELAY)
        self.assertEqual(self.removed, ["a"])

    def test_inputClosedWhenIdle(self):
        """
        With nothing asked, closing the input ends the worker.
        """
        self.responder.inputClosed()
        self.assertEqual(self.ended, [True])

    def test_inputClosedAnswersFirst(self):
        """
        A command running when the input closes is still answered; the
        worker ends after that.
        """
        results = self.call(Exec, **EXEC)
        self.responder.inputClosed()
        self.advance(10)
        self.assertEqual(self.ended, [])
        self.execs[0][1](dict(DONE, status=3, output=b"late"))
        self.assertEqual(self.ended, [True])
        self.pump()
        self.assertEqual(results[0]["output"], b"late")

    def test_startsQueuedBeforeCloseAnswered(self):
        """
        Starts that arrived with the end of the input are answered before
        the worker ends, and no after-work is left scheduled.
        """
        results = self.ask(Start, lxcpath="/l", name="a", config="c",
                           rootKind="", rootPaths=[], idBase=0,
            idCount=0, mountPoints=[], settle=0.001)
        self.pump()
        self.responder.inputClosed()
        self.assertEqual(results, [{"initPid": 101}])
        self.assertEqual(self.ended, [True])
        self.advance(IDLE_DELAY * 2)
        self.assertEqual(self.removed, [])

    def test_barrierAfterExec(self):
        """
        A Barrier sent after an Exec is answered once the Exec's command
        was started (and before it ends), or after the Exec's own answer
        if it could not start.
        """
        answers = []
        self.client.callRemote(Exec, **EXEC).addBoth(
            lambda r: answers.append(("exec", r)))
        self.client.callRemote(Barrier).addBoth(
            lambda r: answers.append(("barrier", r)))
        self.pump()
        self.assertEqual(len(self.execs), 1)
        self.assertEqual(answers, [("barrier", {})])
        self.execs[0][1](DONE)
        self.pump()
        self.assertEqual(answers[1:], [("exec", DONE)])

        def refused(*args):
            raise KernelError("n is not running")
        self.patch(workerresponder, "runCommand", refused)
        del answers[:]
        self.client.callRemote(Exec, **EXEC).addBoth(
            lambda r: answers.append(("exec", r)))
        self.client.callRemote(Barrier).addBoth(
            lambda r: answers.append(("barrier", r)))
        self.pump()
        self.assertEqual([what for what, _ in answers], ["exec", "barrier"])
        self.assertIs(type(answers[0][1].value), KernelError)
