"""
Tests for L{vcd.kernel.worker.responder}: the kernel worker's answers to the
commands of L{vcd.kernel.worker.protocol}, driven with a L{task.Clock} and
doubles of the liblxc operations. Starts run one at a time, each answer
written before the next start begins; after-work waits for idleness;
commands run concurrently; unexpected exceptions arrive as KernelError;
closing the input ends the worker once everything asked is answered.
"""

from twisted.internet import defer, error, task
from twisted.python.failure import Failure
from twisted.trial import unittest

from tests.test_workerprotocol import Loopback
from vcd.kernel.worker import responder as workerresponder
from vcd.kernel.errors import KernelError, RootMissing
from vcd.kernel.worker.fork import setDomainName
from vcd.kernel.worker.protocol import Exec, SetDomainName, Start
from vcd.kernel.worker.responder import IDLE_DELAY, WorkerResponder

EXEC = dict(lxcpath="/l", name="n", argv=["sleep", "9"], timeout=5.0,
            cap=100, env=[])


class ResponderTests(unittest.TestCase):

    def setUp(self):
        self.clock = task.Clock()
        self.removed = []
        self.starts = []  # (name, bytes the worker had written before)
        self.startError = None
        self.execs = []  # (arguments, Deferred)
        self.forked = []
        self.patch(workerresponder, "startContainer", self.fakeStart)
        self.patch(workerresponder, "runCommand", self.fakeRun)
        self.patch(workerresponder, "runForked", self.fakeFork)
        self.responder = WorkerResponder(self.clock, self.removed.append)
        self.loop = Loopback(self.responder)
        self.results = []

    def fakeStart(self, lxcpath, name, config, paths, settle,
                  removeCgroups):
        self.assertIs(removeCgroups.__self__, self.removed)
        self.starts.append((name, len(self.loop.serverTransport.value())))
        if self.startError is not None:
            raise self.startError
        return 100 + len(self.starts)

    def fakeRun(self, reactor, lxcpath, name, argv, timeout, cap, env):
        self.assertIs(reactor, self.clock)
        d = defer.Deferred()
        self.execs.append(((lxcpath, name, argv, timeout, cap, env), d))
        return d

    def fakeFork(self, reactor, function, *args):
        self.assertIs(reactor, self.clock)
        self.forked.append((function, args))
        return defer.succeed(None)

    def call(self, command, **arguments):
        results = []
        self.loop.client.callRemote(command, **arguments).addBoth(
            results.append)
        self.loop.pump()
        return results

    def start(self, name):
        return self.call(Start, lxcpath="/l", name=name, config="c",
                         paths=[], settle=0.001)

    def test_startsOneAtATime(self):
        """
        Queued starts run one per reactor iteration: the first answer is
        written before the second start begins.
        """
        first, second = self.start("a"), self.start("b")
        self.assertEqual(self.starts, [])
        self.clock.advance(0)
        self.assertEqual([name for name, _ in self.starts], ["a", "b"])
        self.assertEqual(self.starts[0][1], 0)
        self.assertGreater(self.starts[1][1], 0, "first answer not written")
        self.loop.pump()
        self.assertEqual((first, second), ([{"initPid": 101}],
                                           [{"initPid": 102}]))

    def test_startErrors(self):
        """
        A declared error arrives typed; anything else as a KernelError
        naming it, and the worker goes on answering.
        """
        self.startError = RootMissing("/v/upper")
        results = self.start("a")
        self.clock.advance(0)
        self.loop.pump()
        self.assertIs(type(results[0].value), RootMissing)
        self.assertEqual(str(results[0].value), "/v/upper")
        self.startError = ValueError("boom")
        results = self.start("b")
        self.clock.advance(0)
        self.loop.pump()
        self.assertIs(type(results[0].value), KernelError)
        self.assertEqual(str(results[0].value), "ValueError: boom")
        self.startError = None
        results = self.start("c")
        self.clock.advance(0)
        self.loop.pump()
        self.assertEqual(results, [{"initPid": 103}])

    def test_hugeErrorsArriveCut(self):
        """
        An error message longer than one AMP value can carry (a start's log
        quoting 70,000 bytes a VPS's init wrote, say) arrives cut at
        MAX_ERROR_TEXT characters, typed, and the connection stays up: AMP
        would otherwise drop it, failing every command in flight.
        """
        pending = self.call(Exec, **EXEC)
        self.startError = RootMissing("\u20ac" * 70000)
        results = self.start("a")
        self.clock.advance(0)
        self.loop.pump()
        self.assertIs(type(results[0].value), RootMissing)
        self.assertEqual(str(results[0].value),
                         "\u20ac" * workerresponder.MAX_ERROR_TEXT)
        self.assertLess(workerresponder.MAX_ERROR_TEXT * 4, 65536)
        self.startError = MemoryError("x" * 70000)
        results = self.start("b")
        self.clock.advance(0)
        self.loop.pump()
        self.assertIs(type(results[0].value), KernelError)
        self.assertTrue(str(results[0].value).startswith("MemoryError: xxx"))
        self.execs[0][1].callback({"status": 0, "output": b"ok",
                                   "truncated": False, "timedOut": False,
                                   "notFound": False})
        self.loop.pump()
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
        answer = {"status": 0, "output": b"x" * 70000, "truncated": False,
                  "timedOut": False, "notFound": False}
        self.execs[1][1].callback(answer)
        self.loop.pump()
        self.assertEqual((first, second), ([], [answer]))
        self.execs[0][1].errback(OSError(9, "bad"))
        self.loop.pump()
        self.assertIs(type(first[0].value), KernelError)
        self.assertEqual(str(first[0].value), "OSError: [Errno 9] bad")

    def test_setDomainName(self):
        """
        The domain name is set by L{setDomainName} in a forked child.
        """
        self.assertEqual(self.call(SetDomainName, initPid=42,
                                   domainname="ex.org"), [{}])
        self.assertEqual(self.forked, [(setDomainName, (42, "ex.org"))])

    def test_afterWorkWaitsForIdle(self):
        """
        The cgroups of a start are removed once no request came for
        IDLE_DELAY seconds and no command runs.
        """
        self.start("a")
        self.clock.advance(0)
        self.clock.advance(IDLE_DELAY / 2)
        self.call(Exec, **EXEC)
        self.clock.advance(IDLE_DELAY * 0.75)
        self.assertEqual(self.removed, [])
        self.clock.advance(IDLE_DELAY * 5)
        self.assertEqual(self.removed, [], "removed while a command ran")
        self.execs[0][1].callback({
            "status": 0, "output": b"", "truncated": False,
            "timedOut": False, "notFound": False})
        self.clock.advance(IDLE_DELAY)
        self.assertEqual(self.removed, ["a"])

    def test_inputClosedWhenIdle(self):
        """
        With nothing asked, closing the input closes the connection.
        """
        self.responder.readConnectionLost()
        self.assertTrue(self.loop.serverTransport.disconnecting)
        self.assertFalse(self.responder.finished.called)
        self.responder.connectionLost(Failure(error.ConnectionDone()))
        self.assertTrue(self.responder.finished.called)

    def test_inputClosedAnswersFirst(self):
        """
        A command running when the input closes is still answered; the
        connection closes after that.
        """
        results = self.call(Exec, **EXEC)
        self.responder.readConnectionLost()
        self.clock.advance(10)
        self.assertFalse(self.loop.serverTransport.disconnecting)
        self.execs[0][1].callback({
            "status": 3, "output": b"late", "truncated": False,
            "timedOut": False, "notFound": False})
        self.clock.advance(0)
        self.assertTrue(self.loop.serverTransport.disconnecting)
        self.loop.pump()
        self.assertEqual(results[0]["output"], b"late")

    def test_queuedStartsFinishBeforeEnd(self):
        results = self.start("a")
        self.responder.readConnectionLost()
        self.assertFalse(self.loop.serverTransport.disconnecting)
        self.clock.advance(0)
        self.clock.advance(0)
        self.assertTrue(self.loop.serverTransport.disconnecting)
        self.loop.pump()
        self.assertEqual(results, [{"initPid": 101}])

    def test_bothHalvesClosed(self):
        """
        Without anyone reading its answers, the worker ends once its input
        closed and its work is done.
        """
        self.call(Exec, **EXEC)
        self.responder.writeConnectionLost()
        self.responder.readConnectionLost()
        self.assertFalse(self.responder.finished.called)
        self.execs[0][1].errback(KernelError("x"))
        self.clock.advance(0)
        self.assertTrue(self.responder.finished.called)
