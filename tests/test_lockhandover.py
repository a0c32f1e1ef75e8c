"""
Tests for the hand-over of a per-VPS lock (L{vcd.api.locks.VPSLocks.release})
to a long queue of waiters whose work ends at once, on a
L{twisted.internet.task.Clock} and on the fake-kernel daemon.

Each waiter done at once releases the lock from within the release that
handed it over: handed over recursively, a queue of a couple of hundred
waiters (setters an API user can send while a start of his VPS runs)
ended in a RecursionError that left the lock held for good (every later
start, stop or exec of the VPS MEBUSY until the daemon restarted).
"""

from twisted.internet.task import Clock
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from tests.test_livelock import PausedStarts
from vcd.api.locks import VPSLocks
from vcd.api.method import APPLIED_NOW

#: Well beyond the depth the recursive hand-over reached (about 160).
WAITERS = 1000


class LongQueueTests(unittest.TestCase):
    """
    L{VPSLocks.release} hands the lock down a long queue of waiters that
    release it at once, in order, and leaves it free.
    """

    def test_everyWaiterServedInOrder(self):
        locks = VPSLocks(Clock())
        self.assertTrue(locks.acquire("web1"))
        served = []
        results = []
        for i in range(WAITERS):
            d = locks.wait("web1", 30)
            d.addCallback(lambda _, i=i: locks.runHeld(
                "web1", lambda: served.append((i, locks.held())) or i))
            d.addBoth(results.append)
        locks.release("web1")
        self.assertEqual(results, list(range(WAITERS)))
        self.assertEqual(served, [(i, ["web1"]) for i in range(WAITERS)])
        self.assertEqual(locks.held(), [])

    def test_otherLockReleasedMeanwhile(self):
        """
        A lock released by a waiter of another is handed over too.
        """
        locks = VPSLocks(Clock())
        locks.acquire("web1")
        locks.acquire("web2")
        order = []
        first = locks.wait("web1", 30)
        second = locks.wait("web2", 30)
        second.addCallback(lambda _: order.append("web2"))

        def holdingWeb1(_):
            order.append("web1")
            locks.release("web2")
            locks.release("web1")
        first.addCallback(holdingWeb1)
        locks.release("web1")
        self.assertEqual(order, ["web1", "web2"])
        self.assertEqual(locks.held(), ["web2"])


class ManySettersDuringStartTests(FakeDaemonMixin, unittest.TestCase):
    """
    Many setters of a VPS waiting for its start: each is answered, and the
    lock is free afterwards.
    """

    def test_manySetters(self):
        self.fake.addVps("web1")
        starts = PausedStarts(self.kernel)
        started = self.fake.call("vx.start", name="web1")
        self.assertEqual(len(starts.gates), 1)
        setters = [self.fake.call("vxdb.vx.limit.set", name="web1",
                                  limit="NOFILE", soft=str(100 + i))
                   for i in range(300)]
        starts.gates.pop(0).callback(None)
        self.assertIsNone(self.answer(started))
        self.assertEqual([self.answer(d) for d in setters],
                         [APPLIED_NOW] * len(setters))
        self.assertEqual(self.kernel.vps("web1").rlimits["NOFILE"][0], 399)
        self.assertEqual(self.fake.services.locks.held(), [])
        stopped = self.fake.call("vx.stop", name="web1")
        self.clock.advance(self.kernel.vps("web1").haltDelay)
        self.answer(stopped)
        self.assertFalse(self.kernel.vps("web1").running)
