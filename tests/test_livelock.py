"""
Live changes under the VPS's lock (L{vcd.api.livelock}), on the
fake-kernel daemon: a setter called while a start or stop of its VPS is
under way waits for it and then applies to the VPS as it is; one whose
VPS stays busy longer than L{LOCK_WAIT} says the change applies at the
next start because the VPS was busy; a live change's own failure still
frees the lock.
"""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.api.call import Services
from vcd.api.livelock import LOCK_WAIT, applyLive
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.faults import MEBUSY, VCDFault
from vcd.vxdb.registry import VPS


class PausedStarts:
    """
    Makes the fake kernel's starts wait for the test: each start (called
    by C{vx.start} once it holds the lock and has read VXDB and written the
    configuration) waits for a Deferred in L{gates} before the fake starts
    the VPS.
    """

    def __init__(self, kernel):
        self.gates = []
        self._start = kernel.start
        kernel.start = self.start

    def start(self, *args, **kwargs):
        gate = defer.Deferred()
        self.gates.append(gate)
        return gate.addCallback(lambda _: self._start(*args, **kwargs))


class SetterDuringStartTests(FakeDaemonMixin, unittest.TestCase):
    """
    A setter racing a start of its VPS.
    """

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")
        self.starts = PausedStarts(self.kernel)
        self.started = self.fake.call("vx.start", name="web1")
        # The start holds the lock, has read VXDB and waits in the kernel.
        self.assertNoResult(self.started)
        self.assertEqual(len(self.starts.gates), 1)
        self.assertEqual(self.fake.services.locks.held(), ["web1"])

    def finishStart(self):
        self.starts.gates.pop(0).callback(None)
        self.assertIsNone(self.answer(self.started))
        self.assertRunning("web1")

    def test_limitWaitsForStart(self):
        """
        A per-process limit set while the VPS starts waits for the start
        (which read VXDB before the change), then reaches the running
        VPS's processes, and the reply says applied now.
        """
        d = self.fake.call("vxdb.vx.limit.set", name="web1", limit="NOFILE",
                           soft="200", max="300")
        self.assertNoResult(d)
        self.finishStart()
        vps = self.kernel.vps("web1")
        # The start wrote the configuration VXDB held before the change.
        self.assertNotIn("lxc.prlimit.nofile", vps.config)
        self.assertEqual(self.answer(d), APPLIED_NOW)
        self.assertEqual(vps.rlimits, {"NOFILE": (200, 300)})
        self.assertEqual(self.fake.services.locks.held(), [])

    def test_flagWaitsForStart(self):
        """
        SCHED_PAUSE added while the VPS starts freezes it once it runs.
        """
        d = self.fake.call("vxdb.vx.flags.add", name="web1",
                           flag="SCHED_PAUSE")
        self.assertNoResult(d)
        self.finishStart()
        self.assertEqual(self.answer(d), APPLIED_NOW)
        self.assertTrue(self.kernel.vps("web1").frozen)

    def test_busyTooLong(self):
        """
        A start that holds the lock longer than LOCK_WAIT: the setter's
        reply says the change applies at the next start, because the VPS
        was busy; the start then finishes without it, and the lock is free.
        """
        d = self.fake.call("vxdb.vx.limit.set", name="web1", limit="NOFILE",
                           soft="200")
        self.clock.advance(LOCK_WAIT - 1)
        self.assertNoResult(d)
        self.clock.advance(1)
        reply = self.answer(d)
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("busy", reply)
        self.finishStart()
        self.assertEqual(self.kernel.vps("web1").rlimits, {})
        self.assertEqual(self.fake.services.locks.held(), [])
        # VXDB has it: the next change applies to the running VPS.
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.vx.limit.set", name="web1", limit="MEMLOCK", soft="64")),
            APPLIED_NOW)

    def test_otherVpsUnaffected(self):
        """
        Only the VPS being started makes setters wait.
        """
        self.fake.addVps("web2")
        self.assertTrue(self.answer(self.fake.call(
            "vxdb.vx.limit.set", name="web2", limit="NOFILE",
            soft="200")).startswith(NEXT_START))
        self.finishStart()


class SetterDuringStopTests(FakeDaemonMixin, unittest.TestCase):
    """
    A setter racing a stop of its VPS.
    """

    def test_waitsForStop(self):
        """
        A limit set while the VPS halts waits for the stop and then says
        it applies at the next start (the VPS is not running any more).
        """
        self.fake.addVps("web1")
        self.answer(self.fake.call("vx.start", name="web1"))
        stopped = self.fake.call("vx.stop", name="web1")
        self.assertNoResult(stopped)
        d = self.fake.call("vxdb.vx.limit.set", name="web1", limit="NOFILE",
                           soft="200")
        self.assertNoResult(d)
        self.assertEqual(self.kernel.vps("web1").rlimits, {})
        self.clock.advance(self.kernel.vps("web1").haltDelay)
        self.answer(stopped)
        reply = self.answer(d)
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("not running", reply)


class _Method:
    def __init__(self, live):
        self.live = live


class _Call:
    def __init__(self, services, live, vps):
        self.method = _Method(live)
        self.services = services
        self.vps = vps


class ApplyLiveTests(unittest.TestCase):
    """
    L{applyLive} on its own: the lock is held exactly while the live
    change runs, and its failures are its own.
    """

    def setUp(self):
        self.clock = Clock()
        self.services = Services(self.clock, None, None, None, None, None)
        self.locks = self.services.locks

    def call(self, live, vps=VPS(42, "web1")):
        return applyLive(_Call(self.services, live, vps), {"name": "web1"})

    def test_heldWhileRunning(self):
        seen = []
        pending = defer.Deferred()

        def live(call, args):
            seen.append(self.locks.held())
            return pending
        d = self.call(live)
        self.assertEqual(seen, [["web1"]])
        self.assertEqual(self.locks.held(), ["web1"])
        pending.callback(APPLIED_NOW)
        self.assertEqual(self.successResultOf(d), APPLIED_NOW)
        self.assertEqual(self.locks.held(), [])

    def test_ownFaultPassesThrough(self):
        """
        A fault of the live change itself (even MEBUSY) is not taken for
        the lock's timeout, and the lock is released.
        """
        def live(call, args):
            raise VCDFault(MEBUSY, "refused")
        fault = self.failureResultOf(self.call(live), VCDFault).value
        self.assertEqual(fault.faultString, "refused")
        self.assertEqual(self.locks.held(), [])

    def test_noVps(self):
        """
        A method that names no VPS runs its live change without a lock.
        """
        d = self.call(lambda call, args: self.locks.held(), vps=None)
        self.assertEqual(d, [])


class StopDuringLiveChangesTests(FakeDaemonMixin, unittest.TestCase):
    """
    A locked method (vx.stop) arriving while setters' live changes hold
    the lock and more wait: it waits for the holder only, goes ahead of
    the queued setters, and is never answered MEBUSY because of them.
    """

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")
        self.answer(self.fake.call("vx.start", name="web1"))
        self.gates = []
        setItems = self.kernel.setCgroupItems

        def paused(name, items):
            gate = defer.Deferred()
            self.gates.append(gate)
            return gate.addCallback(lambda _: setItems(name, items))
        self.patch(self.kernel, "setCgroupItems", paused)

    def test_stopNotStarvedBySetters(self):
        setters = [self.fake.call("vxdb.vx.limit.set", name="web1",
                                  limit="NPROC", soft=str(100 + n))
                   for n in range(20)]
        # The first setter's live change holds the lock, paused in the
        # kernel; the other 19 wait for it.
        self.assertEqual(len(self.gates), 1)
        stopped = self.fake.call("vx.stop", name="web1")
        self.clock.advance(1)
        self.assertNoResult(stopped)
        self.gates.pop(0).callback(None)
        self.clock.advance(30)
        self.answer(stopped)
        self.assertRunning("web1", False)
        # The setters after it, one at a time, find the VPS stopped.
        while self.gates:
            self.gates.pop(0).callback(None)
        replies = [self.answer(d) for d in setters]
        self.assertEqual(replies[0], APPLIED_NOW)
        self.assertTrue(all(r.startswith(NEXT_START) for r in replies[1:]),
                        replies)
        self.assertEqual(self.fake.services.locks.held(), [])

    def test_execAfterLiveChange(self):
        """
        vx.exec arriving while a live change holds the lock runs once it
        is done, and gives its slot back whatever happens.
        """
        setter = self.fake.call("vxdb.vx.limit.set", name="web1",
                                limit="NPROC", soft="100")
        ran = self.fake.call("vx.exec", name="web1", command="echo hi")
        self.assertNoResult(ran)
        self.gates.pop(0).callback(None)
        self.assertEqual(self.answer(setter), APPLIED_NOW)
        self.assertEqual(self.answer(ran), "hi\n")
        self.assertEqual(self.fake.services.locks.held(), [])
        # Timed out behind a live change that never ends: MEBUSY, and
        # the slot is free again (the settings allow 4 at once).
        self.fake.call("vxdb.vx.limit.set", name="web1", limit="NPROC",
                       soft="101")
        late = [self.fake.call("vx.exec", name="web1", command="true")
                for _ in range(4)]
        self.clock.advance(LOCK_WAIT)
        for d in late:
            self.assertFault(MEBUSY, d)
        self.assertEqual(self.fake.services.execSlots.running(), 0)
