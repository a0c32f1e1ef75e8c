"""
L{vcd.kernel.knobmap}: the token bucket as CFS bandwidth and weight, the
CPU set, NPROC and RSS as cgroup writes, rlimits, and fs.nr_open.
"""

from twisted.trial import unittest

from vcd.kernel.knobmap import (Unmappable, bandwidth, cpusetItems,
                                limitAlternatives, refuseAboveNrOpen,
                                rlimitPair, schedItems)

INF = 2 ** 64 - 1


def bucket(interval, fillrate, tokensmax, tokensmin=0, interval2=0,
           fillrate2=0):
    return dict(interval=interval, fillrate=fillrate, tokensmax=tokensmax,
                tokensmin=tokensmin, interval2=interval2,
                fillrate2=fillrate2)


class BandwidthTests(unittest.TestCase):
    """
    The pool (quota plus burst) is the bucket; the rate is
    fillrate/interval; periods from 10 ms to 1 s.
    """

    def assertRate(self, result, rate):
        period, quota, _ = result
        self.assertAlmostEqual(quota / period, rate, places=3)

    def test_rateAndPool(self):
        for args, rate, pool in [((4, 1, 100), 0.25, 100000),
                                 ((100, 30, 100), 0.3, 100000),
                                 ((4, 1, 500), 0.25, 500000),
                                 ((1, 1, 1000), 1.0, 1000000)]:
            result = bandwidth(*args)
            self.assertRate(result, rate)
            period, quota, burst = result
            self.assertEqual(quota + burst, pool, args)
            self.assertLessEqual(burst, quota)
            self.assertTrue(10000 <= period <= 1000000, result)

    def test_intervalIsThePeriodWhereItFits(self):
        self.assertEqual(bandwidth(100, 25, 50), (100000, 25000, 25000))
        self.assertEqual(bandwidth(200, 50, 50), (200000, 50000, 0))

    def test_smallBucketShortestUsefulPeriod(self):
        """
        A bucket smaller than a 10 ms period's quota gets that quota.
        """
        self.assertEqual(bandwidth(4, 1, 1), (10000, 2500, 0))

    def test_tokensminWithinTheQuota(self):
        period, quota, _ = bandwidth(100, 10, 100, tokensmin=80)
        self.assertGreaterEqual(quota, 80000)
        e = self.assertRaises(Unmappable, bandwidth, 100, 10, 200,
                              tokensmin=150)
        self.assertEqual(e.argument, "tokensmin")
        self.assertIn("at most 100", str(e))

    def test_tooLarge(self):
        e = self.assertRaises(Unmappable, bandwidth, 4, 1, 501)
        self.assertEqual(e.argument, "tokensmax")
        self.assertIn("at most 500", str(e))
        e = self.assertRaises(Unmappable, bandwidth, 4, 1, 251, burst=False)
        self.assertIn("at most 250", str(e))
        self.assertEqual(bandwidth(4, 1, 250, burst=False),
                         (1000000, 250000, 0))


class SchedItemTests(unittest.TestCase):

    def test_v1Hard(self):
        self.assertEqual(schedItems("hybrid", bucket(4, 1, 100, 0, 10, 1),
                                    True), [
            ("cpu.cfs_burst_us", "0"), ("cpu.cfs_period_us", "200000"),
            ("cpu.cfs_quota_us", "50000"), ("cpu.cfs_burst_us", "50000"),
            ("cpu.shares", "10240")])

    def test_v2Hard(self):
        self.assertEqual(schedItems("v2", bucket(4, 1, 100), True,
                                    fresh=True),
                         [("cpu.max", "50000 200000"),
                          ("cpu.max.burst", "50000")])

    def test_notHardWeightOnly(self):
        self.assertEqual(schedItems("v2", bucket(4, 1, 100, 0, 2, 1), False,
                                    fresh=True), [("cpu.weight", "5000")])
        self.assertEqual(schedItems("v1", bucket(4, 1, 100), False,
                                    burst=False), [
            ("cpu.cfs_quota_us", "-1"), ("cpu.cfs_period_us", "100000"),
            ("cpu.shares", "1024")])

    def test_nothingFresh(self):
        self.assertEqual(schedItems("v2", None, True, fresh=True), [])
        self.assertEqual(schedItems("v1", None, False, fresh=True), [])


class CgroupLimitTests(unittest.TestCase):

    def test_nproc(self):
        self.assertEqual(limitAlternatives("v2", "NPROC", 5, 5),
                         [[("pids.max", "5")]])
        self.assertEqual(limitAlternatives("v1", "NPROC", None, None),
                         [[("pids.max", "max")]])

    def test_rssV1BothOrders(self):
        """
        v1 keeps memory below memory+swap at every step: one order lowers,
        the other raises.
        """
        self.assertEqual(limitAlternatives("v1", "RSS", 1024, 1024), [
            [("memory.limit_in_bytes", "1048576"),
             ("memory.memsw.limit_in_bytes", "1048576")],
            [("memory.memsw.limit_in_bytes", "1048576"),
             ("memory.limit_in_bytes", "1048576")]])
        self.assertEqual(limitAlternatives("v1", "RSS", None, None,
                                           swap=False),
                         [[("memory.limit_in_bytes", "-1")]])

    def test_rssV2(self):
        self.assertEqual(limitAlternatives("v2", "RSS", 512, 1024), [[
            ("memory.max", "1048576"), ("memory.high", "524288"),
            ("memory.swap.max", "0")]])

    def test_cpuset(self):
        self.assertEqual(cpusetItems({"cpus": "1", "mems": "0"}, [0, 1], [0]),
                         [("cpuset.mems", "0"), ("cpuset.cpus", "1")])
        self.assertEqual(cpusetItems(None, [0, 1, 2], [0]),
                         [("cpuset.mems", "0"), ("cpuset.cpus", "0,1,2")])


class RlimitTests(unittest.TestCase):

    def test_pairs(self):
        self.assertEqual(rlimitPair("NOFILE", 100, 200), (100, 200))
        self.assertEqual(rlimitPair("MEMLOCK", 64, INF), (65536, INF))
        self.assertEqual(rlimitPair("AS", 2 ** 60, 2 ** 60), (INF, INF))

    def test_nrOpen(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("4096\n")
        refuseAboveNrOpen("NOFILE", 4096, 4096, path)
        refuseAboveNrOpen("CORE", INF, INF, path)
        e = self.assertRaises(Unmappable, refuseAboveNrOpen, "NOFILE", 10,
                              INF, path)
        self.assertEqual(e.argument, "max")
        self.assertIn("unlimited", str(e))
        e = self.assertRaises(Unmappable, refuseAboveNrOpen, "NOFILE", 4097,
                              4097, path)
        self.assertEqual(e.argument, "soft")
