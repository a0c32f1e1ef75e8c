"""
Tests for L{vcd.api.locks.VPSLocks}, the per-VPS locks, on a
L{twisted.internet.task.Clock}.
"""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from vcd.api.locks import VPSLocks
from vcd.faults import VCDFault

#: MEBUSY, "Operation still in progress", from the manual's table (9.3).
MEBUSY = 302


class AcquireReleaseTests(unittest.TestCase):
    """
    L{VPSLocks.acquire} takes a free lock at once or says it is held.
    """

    def setUp(self):
        self.locks = VPSLocks(Clock())

    def test_acquireFree(self):
        self.assertTrue(self.locks.acquire("alpha"))
        self.assertEqual(self.locks.held(), ["alpha"])

    def test_acquireHeld(self):
        self.locks.acquire("alpha")
        self.assertFalse(self.locks.acquire("alpha"))

    def test_locksAreIndependent(self):
        self.assertTrue(self.locks.acquire("beta"))
        self.assertTrue(self.locks.acquire("alpha"))
        self.assertEqual(self.locks.held(), ["alpha", "beta"])

    def test_release(self):
        self.locks.acquire("alpha")
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])
        self.assertTrue(self.locks.acquire("alpha"))

    def test_releaseFreeIsHarmless(self):
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])


class WaitTests(unittest.TestCase):
    """
    L{VPSLocks.wait} hands the lock to waiters in the order they asked, or
    fails with MEBUSY once their time is up.
    """

    def setUp(self):
        self.clock = Clock()
        self.locks = VPSLocks(self.clock)

    def test_freeAtOnce(self):
        d = self.locks.wait("alpha", 5)
        self.assertIsNone(self.successResultOf(d))
        self.assertFalse(self.locks.acquire("alpha"))

    def test_handedOverOnRelease(self):
        self.locks.acquire("alpha")
        d = self.locks.wait("alpha", 5)
        self.assertNoResult(d)
        self.locks.release("alpha")
        self.successResultOf(d)
        # The waiter holds it now: nobody else gets it in between.
        self.assertFalse(self.locks.acquire("alpha"))
        self.locks.release("alpha")
        self.assertTrue(self.locks.acquire("alpha"))

    def test_firstComeFirstServed(self):
        self.locks.acquire("alpha")
        order = []
        for who in ("first", "second", "third"):
            self.locks.wait("alpha", 60).addCallback(
                lambda _, who=who: order.append(who))
        self.locks.release("alpha")
        self.assertEqual(order, ["first"])
        self.locks.release("alpha")
        self.assertEqual(order, ["first", "second"])
        self.locks.release("alpha")
        self.assertEqual(order, ["first", "second", "third"])
        self.assertEqual(self.locks.held(), ["alpha"])
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])

    def test_timeoutIsBusy(self):
        self.locks.acquire("alpha")
        d = self.locks.wait("alpha", 5)
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        fault = self.failureResultOf(d, VCDFault).value
        self.assertEqual(fault.faultCode, MEBUSY)
        self.assertIn("alpha", fault.faultString)

    def test_noWaitingIsBusySoon(self):
        """
        A timeout of 0 (L{vcd.vps.lifecycle.lockedAction}'s default) on a
        held lock is MEBUSY as soon as the reactor turns.
        """
        self.locks.acquire("alpha")
        d = self.locks.wait("alpha", 0)
        self.clock.advance(0)
        self.assertEqual(self.failureResultOf(d, VCDFault).value.faultCode,
                         MEBUSY)

    def test_timedOutWaiterLeavesTheQueue(self):
        """
        A waiter whose time ran out is not handed the lock later; the one
        behind it is.
        """
        self.locks.acquire("alpha")
        early = self.locks.wait("alpha", 1)
        late = self.locks.wait("alpha", 10)
        self.clock.advance(1)
        self.failureResultOf(early, VCDFault)
        self.locks.release("alpha")
        self.successResultOf(late)
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])

    def test_cancelLeavesTheQueue(self):
        self.locks.acquire("alpha")
        cancelled = self.locks.wait("alpha", 10)
        behind = self.locks.wait("alpha", 10)
        cancelled.cancel()
        self.failureResultOf(cancelled, defer.CancelledError)
        self.locks.release("alpha")
        self.successResultOf(behind)
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])
        # Nothing was left on the clock by the waiters.
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noTimerLeftAfterHandover(self):
        self.locks.acquire("alpha")
        d = self.locks.wait("alpha", 10)
        self.locks.release("alpha")
        self.successResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(20)
        self.assertEqual(self.locks.held(), ["alpha"])


class RunTests(unittest.TestCase):
    """
    L{VPSLocks.run} holds a free lock while a function runs and its result
    is pending, whatever the outcome.
    """

    def setUp(self):
        self.locks = VPSLocks(Clock())

    def test_synchronousResult(self):
        seen = []

        def function(a, b):
            seen.append(self.locks.held())
            return a + b
        self.assertEqual(self.locks.run("alpha", function, 2, 3), 5)
        self.assertEqual(seen, [["alpha"]])
        self.assertEqual(self.locks.held(), [])

    def test_busy(self):
        self.locks.acquire("alpha")
        called = []
        with self.assertRaises(VCDFault) as caught:
            self.locks.run("alpha", called.append, 1)
        self.assertEqual(caught.exception.faultCode, MEBUSY)
        self.assertEqual(called, [])
        # The holder still holds it.
        self.assertEqual(self.locks.held(), ["alpha"])

    def test_synchronousException(self):
        def function():
            raise ValueError("boom")
        self.assertRaises(ValueError, self.locks.run, "alpha", function)
        self.assertEqual(self.locks.held(), [])

    def test_heldUntilDeferredFires(self):
        pending = defer.Deferred()
        d = self.locks.run("alpha", lambda: pending)
        self.assertEqual(self.locks.held(), ["alpha"])
        pending.callback("done")
        self.assertEqual(self.successResultOf(d), "done")
        self.assertEqual(self.locks.held(), [])

    def test_releasedOnDeferredFailure(self):
        pending = defer.Deferred()
        d = self.locks.run("alpha", lambda: pending)
        pending.errback(ValueError("boom"))
        self.failureResultOf(d, ValueError)
        self.assertEqual(self.locks.held(), [])

    def test_releaseHandsToWaiter(self):
        """
        A run's end hands the lock to a waiter, which then holds it.
        """
        pending = defer.Deferred()
        self.locks.run("alpha", lambda: pending)
        waiter = self.locks.wait("alpha", 10)
        self.assertNoResult(waiter)
        pending.callback(None)
        self.successResultOf(waiter)
        self.assertEqual(self.locks.held(), ["alpha"])


class RunHeldTests(unittest.TestCase):
    """
    L{VPSLocks.runHeld} runs a function under a lock the caller already
    holds (taken by L{VPSLocks.wait}) and releases it, handing it on to
    the next waiter, once the result is known.
    """

    def setUp(self):
        self.locks = VPSLocks(Clock())

    def test_afterWait(self):
        holder = defer.Deferred()
        self.locks.run("alpha", lambda: holder)
        pending = defer.Deferred()
        d = self.locks.wait("alpha", 10).addCallback(
            lambda _: self.locks.runHeld("alpha", lambda: pending))
        after = self.locks.wait("alpha", 10)
        holder.callback(None)
        self.assertNoResult(d)
        self.assertNoResult(after)
        pending.callback("done")
        self.assertEqual(self.successResultOf(d), "done")
        self.successResultOf(after)
        self.assertEqual(self.locks.held(), ["alpha"])

    def test_synchronousException(self):
        self.locks.acquire("alpha")

        def function():
            raise ValueError("boom")
        self.assertRaises(ValueError, self.locks.runHeld, "alpha", function)
        self.assertEqual(self.locks.held(), [])


class TakeTests(unittest.TestCase):
    """
    L{VPSLocks.take}, for locked methods: at once when free, MEBUSY when
    another locked operation holds the lock, and after the live changes
    (brief holders) but ahead of their queue otherwise.
    """

    def setUp(self):
        self.clock = Clock()
        self.locks = VPSLocks(self.clock)

    def assertBusy(self, name="alpha"):
        with self.assertRaises(VCDFault) as raised:
            self.locks.take(name, 30)
        self.assertEqual(raised.exception.faultCode, MEBUSY)

    def test_free(self):
        self.assertIsNone(self.locks.take("alpha", 30))
        self.assertEqual(self.locks.held(), ["alpha"])
        self.assertBusy()

    def test_heldByLockedOperation(self):
        self.locks.acquire("alpha")
        self.assertBusy()
        # A daemon action waiting (not brief) makes no difference.
        self.locks.release("alpha")
        self.locks.acquire("alpha", brief=True)
        self.locks.wait("alpha", 30)
        self.assertBusy()

    def test_aheadOfLiveChanges(self):
        """
        With a live change holding the lock and more queued, a locked
        method gets it next; the live changes after it; a second locked
        method meanwhile is MEBUSY (the first has claimed the lock).
        """
        order = []
        self.locks.acquire("alpha", brief=True)
        for n in range(3):
            self.locks.wait("alpha", 30, brief=True).addCallback(
                lambda _, n=n: order.append("live%d" % (n,)))
        taken = self.locks.take("alpha", 30)
        taken.addCallback(lambda _: order.append("stop"))
        self.assertBusy()
        self.locks.release("alpha")
        self.assertEqual(order, ["stop"])
        # The stop holds it: not brief; a new caller is MEBUSY at once.
        self.assertBusy()
        for _ in range(3):
            self.locks.release("alpha")
        self.assertEqual(order, ["stop", "live0", "live1", "live2"])
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])

    def test_neverStarvedBySetters(self):
        """
        However many live changes keep coming, a waiting locked method is
        handed the lock at the holder's release.
        """
        self.locks.acquire("alpha", brief=True)
        taken = self.locks.take("alpha", 30)
        for _ in range(50):
            self.locks.wait("alpha", 30, brief=True)
        self.locks.release("alpha")
        self.successResultOf(taken)

    def test_timeout(self):
        self.locks.acquire("alpha", brief=True)
        taken = self.locks.take("alpha", 30)
        self.clock.advance(30)
        self.assertEqual(self.failureResultOf(taken, VCDFault).value
                         .faultCode, MEBUSY)
        self.locks.release("alpha")
        self.assertEqual(self.locks.held(), [])

    def test_runAfterLiveChange(self):
        self.locks.acquire("alpha", brief=True)
        d = self.locks.run("alpha", lambda x: x * 2, 21)
        self.assertNoResult(d)
        self.locks.release("alpha")
        self.assertEqual(self.successResultOf(d), 42)
        self.assertEqual(self.locks.held(), [])
