"""
Tests for L{vcd.vps.loadavg}: the kernel's load average arithmetic
(kernel/sched/loadavg.c, include/linux/sched/loadavg.h) and the 5-second
sampling of L{LoadTracker}, driven by a fake clock.
"""

import math

from twisted.internet import defer, task
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from vcd.vps.loadavg import (EXP_1, EXP_5, EXP_15, FIXED_1, FSHIFT,
                         SAMPLE_INTERVAL, LoadAverage, LoadTracker, calcLoad,
                         formatLoad)

ZERO = {"1m": "0.00", "5m": "0.00", "15m": "0.00"}


def assertClose(case, actual, expected, delta=0.02):
    case.assertTrue(abs(actual - expected) <= delta,
                    "%r is not within %r of %r" % (actual, delta, expected))


class ArithmeticTests(unittest.TestCase):
    """
    The fixed-point arithmetic, checked against numbers worked out by hand
    from the kernel's formulas.
    """

    def test_constants(self):
        """
        11-bit fixed point; EXP_n is 1/exp(5s/n min) rounded, as in
        include/linux/sched/loadavg.h.
        """
        self.assertEqual((FSHIFT, FIXED_1), (11, 2048))
        self.assertEqual((EXP_1, EXP_5, EXP_15), (1884, 2014, 2037))
        for exp, minutes in ((EXP_1, 1), (EXP_5, 5), (EXP_15, 15)):
            self.assertEqual(exp, round(FIXED_1 * math.exp(
                -SAMPLE_INTERVAL / (60 * minutes))))
        self.assertEqual(SAMPLE_INTERVAL, 5.0)

    def test_calcLoadRisingRoundsUp(self):
        """
        From 0 with one task: (0 * exp + 2048 * (2048 - exp) + 2047) / 2048.
        """
        self.assertEqual(calcLoad(0, EXP_1, FIXED_1), 164)
        self.assertEqual(calcLoad(0, EXP_5, FIXED_1), 34)
        self.assertEqual(calcLoad(0, EXP_15, FIXED_1), 11)
        # 164 * 1884 + 2048 * 164 + 2047 = 647 007; / 2048 = 315.
        self.assertEqual(calcLoad(164, EXP_1, FIXED_1), 315)
        # Equal active and load: still rounded up, so it stays put.
        self.assertEqual(calcLoad(FIXED_1, EXP_1, FIXED_1), FIXED_1)

    def test_calcLoadFallingRoundsDown(self):
        """
        Falling: no rounding term, so the value is truncated.
        """
        # 2048 * 1884 / 2048
        self.assertEqual(calcLoad(FIXED_1, EXP_1, 0), 1884)
        # 1000 * 2037 / 2048 = 994.6
        self.assertEqual(calcLoad(1000, EXP_15, 0), 994)
        # 3 tasks to 1: (6144 * 1884 + 2048 * 164) / 2048 = 5816
        self.assertEqual(calcLoad(3 * FIXED_1, EXP_1, FIXED_1), 5816)
        self.assertEqual(calcLoad(0, EXP_1, 0), 0)

    def test_formatLoad(self):
        """
        As /proc/loadavg: add FIXED_1/200 (half a hundredth), then the
        integer part and two decimals of the fraction.
        """
        self.assertEqual(formatLoad(0), "0.00")
        self.assertEqual(formatLoad(164), "0.08")
        self.assertEqual(formatLoad(34), "0.02")
        self.assertEqual(formatLoad(11), "0.01")
        self.assertEqual(formatLoad(9), "0.00")
        self.assertEqual(formatLoad(1884), "0.92")
        self.assertEqual(formatLoad(FIXED_1), "1.00")
        self.assertEqual(formatLoad(3 * FIXED_1 + FIXED_1 // 2), "3.50")
        # 2037 + 10 = 2047: just below one.
        self.assertEqual(formatLoad(2037), "0.99")
        self.assertEqual(formatLoad(2038), "1.00")
        self.assertEqual(formatLoad(100 * FIXED_1), "100.00")

    def test_loadAverage(self):
        """
        LoadAverage damps the three averages at once.
        """
        load = LoadAverage()
        self.assertEqual(load.asStrings(), ZERO)
        load.sample(1)
        self.assertEqual(load.averages, [164, 34, 11])
        self.assertEqual(load.asStrings(),
                         {"1m": "0.08", "5m": "0.02", "15m": "0.01"})
        load.sample(1)
        self.assertEqual(load.averages[0], 315)

    def test_convergesLikeTheKernel(self):
        """
        Over minutes, the fixed-point averages follow 1 - exp(-t/T) within
        the rounding, and decay as exp(-t/T) after the tasks are gone.
        """
        load = LoadAverage()
        for _ in range(60):  # 5 minutes of 2 busy tasks
            load.sample(2)
        for average, minutes in zip(load.averages, (1, 5, 15)):
            expected = 2 * (1 - math.exp(-300 / (60 * minutes)))
            assertClose(self, average / FIXED_1, expected)
        self.assertEqual(load.asStrings(),
                         {"1m": "1.99", "5m": "1.28", "15m": "0.56"})
        settled = list(load.averages)
        for _ in range(12):  # one idle minute
            load.sample(0)
        for average, start, minutes in zip(load.averages, settled,
                                           (1, 5, 15)):
            expected = start / FIXED_1 * math.exp(-1 / minutes)
            assertClose(self, average / FIXED_1, expected)


class TrackerTests(unittest.TestCase):
    """
    LoadTracker samples every 5 seconds of its clock.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.counts = {}
        self.calls = 0
        self.tracker = LoadTracker(self.sampler, self.clock)

    def sampler(self):
        self.calls += 1
        if isinstance(self.counts, Exception):
            return defer.fail(self.counts)
        return defer.succeed(dict(self.counts))

    def test_everyFiveSeconds(self):
        """
        A sample at start, then one every 5 s, none in between; stopping
        the service stops sampling.
        """
        self.counts = {"web": 1}
        self.tracker.startService()
        self.assertEqual(self.calls, 1)
        self.assertEqual(self.tracker.load("web")["1m"], "0.08")
        self.clock.advance(4.9)
        self.assertEqual(self.calls, 1)
        self.clock.advance(0.1)
        self.assertEqual(self.calls, 2)
        self.assertEqual(self.tracker.loads["web"].averages[0], 315)
        self.tracker.stopService()
        self.clock.advance(60)
        self.assertEqual(self.calls, 2)

    def test_oneMinute(self):
        """
        A minute of one busy task, sampled 12 times after the first: 65 s
        of load, 1 - exp(-65 s/T): 0.66, 0.20 (0.19 rounded up), 0.07.
        """
        self.counts = {"web": 1, "db": 0}
        self.tracker.startService()
        self.addCleanup(self.tracker.stopService)
        self.clock.pump([SAMPLE_INTERVAL] * 12)
        self.assertEqual(self.calls, 13)
        self.assertEqual(self.tracker.load("web"),
                         {"1m": "0.66", "5m": "0.20", "15m": "0.07"})
        for key, minutes in (("1m", 1), ("5m", 5), ("15m", 15)):
            assertClose(self, float(self.tracker.load("web")[key]),
                        1 - math.exp(-65 / (60 * minutes)))
        self.assertEqual(self.tracker.load("db"), ZERO)

    def test_stoppedVpsForgotten(self):
        """
        A VPS missing from a sample (stopped) loses its history; forget()
        drops it at once; an unknown VPS is all zeros.
        """
        self.counts = {"web": 3, "db": 2}
        self.tracker.startService()
        self.addCleanup(self.tracker.stopService)
        self.counts = {"db": 2}
        self.clock.advance(SAMPLE_INTERVAL)
        self.assertEqual(sorted(self.tracker.loads), ["db"])
        self.assertEqual(self.tracker.load("web"), ZERO)
        self.assertNotEqual(self.tracker.load("db"), ZERO)
        self.tracker.forget("db")
        self.assertEqual(self.tracker.load("db"), ZERO)
        self.assertEqual(self.tracker.load("nosuch"), ZERO)

    def test_failedSampleLogged(self):
        """
        A failing sample is logged and sampling goes on.
        """
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.counts = {"web": 1}
        self.tracker.startService()
        self.addCleanup(self.tracker.stopService)
        self.counts = RuntimeError("no /proc")
        self.clock.advance(SAMPLE_INTERVAL)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue([e for e in events if "load sampling failed" in
                         e.get("log_format", "")])
        self.counts = {"web": 1}
        self.clock.advance(SAMPLE_INTERVAL)
        self.assertEqual(self.calls, 3)
        self.assertEqual(self.tracker.loads["web"].averages[0], 315)
