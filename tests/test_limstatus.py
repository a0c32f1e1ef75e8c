"""
vx.limstatus: the kernel's counters of a VPS's limits, on real VPSes
(hits of NPROC and RSS provoked from inside, the host's cgroup files as
the oracle), and its reading of cgroup texts on each layout.
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.trial import unittest

from tests.cgroupfiles import cgroupV2, readCgroup, statOf
from tests.clientrunners import DaemonClientMixin
from tests.harness import DaemonTestCase, Fault
from tests.running import RunningHelpers
from vcd.faults import MEEXEC, MESTOPPED
from vcd.scripts import vcc
from vcd.vps.limstatus import statusEntries, statusKeys

log = Logger()
BOTH = frozenset(["memory", "pids"])


class EntryTests(unittest.TestCase):
    """
    L{statusEntries} from cgroup texts.
    """

    def test_v1(self):
        values = {"memory.usage_in_bytes": "2097152\n",
                  "memory.max_usage_in_bytes": "4194304\n",
                  "memory.failcnt": "3\n", "memory.memsw.failcnt": "2\n",
                  "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n"
                                        "oom_kill 1\n",
                  "pids.current": "4\n", "pids.peak": "9\n",
                  "pids.events": "max 5\n"}
        self.assertEqual(sorted(statusKeys("hybrid", BOTH)), sorted(values))
        self.assertEqual(statusEntries("hybrid", values, BOTH), [
            {"type": "RSS", "min": 0, "cur": 2048, "max": 4096, "hits": 3},
            {"type": "NPROC", "min": 0, "cur": 4, "max": 9, "hits": 5}])

    def test_v2(self):
        values = {"memory.current": "1048576\n", "memory.peak": None,
                  "memory.events": "low 0\nhigh 7\nmax 2\noom 1\n"
                                   "oom_kill 1\n",
                  "pids.current": "2\n", "pids.peak": "2\n",
                  "pids.events": "max 0\n"}
        self.assertEqual(sorted(statusKeys("v2", BOTH)), sorted(values))
        # A kernel without memory.peak: the peak is at least the current.
        self.assertEqual(statusEntries("v2", values, BOTH), [
            {"type": "RSS", "min": 0, "cur": 1024, "max": 1024, "hits": 2},
            {"type": "NPROC", "min": 0, "cur": 2, "max": 2, "hits": 0}])

    def test_missingController(self):
        self.assertEqual(statusKeys("v1", frozenset(["pids"])),
                         ["pids.current", "pids.peak", "pids.events"])
        self.assertEqual([e["type"] for e in statusEntries(
            "v1", {}, frozenset(["pids"]))], ["NPROC"])

    def test_clipped(self):
        """
        XML-RPC ints hold 31 bits: larger counts are clipped.
        """
        entries = statusEntries("v2", {"memory.current": str(2 ** 60)},
                                frozenset(["memory"]))
        self.assertEqual(entries[0]["cur"], 2 ** 31 - 1)


class LimitHitTests(DaemonClientMixin, RunningHelpers, DaemonTestCase):
    """
    Limits hit inside a running VPS are counted.
    """

    def limstatus(self, name):
        return self.admin.call("vx.limstatus", name=name)

    @defer.inlineCallbacks
    def test_nprocAndRssHits(self):
        name = yield self.newVps()
        yield self.admin.call("vxdb.vx.limit.set", name=name, limit="NPROC",
                              soft="5", max="5")
        yield self.admin.call("vxdb.vx.limit.set", name=name, limit="RSS",
                              soft="32768", max="32768")
        yield self.assertFault(MESTOPPED, self.limstatus(name))
        yield self.admin.call("vx.start", name=name)
        status = yield self.waitBooted(name)
        pid = status["initpid"]
        before = {e["type"]: e for e in (yield self.limstatus(name))}
        self.assertEqual(before["NPROC"]["hits"], 0)
        self.assertEqual(before["NPROC"]["cur"],
                         int(readCgroup(pid, "pids", "pids.current")))
        # Eight sleeps at once where five tasks are allowed: the shell
        # inside cannot fork them all.
        fault = yield self.assertFault(MEEXEC + 2, self.execIn(
            name, "sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done'"))
        self.assertIn("can't fork", fault.message)
        nproc = {e["type"]: e for e in (yield self.limstatus(name))}["NPROC"]
        events = statOf(pid, "pids", "pids.events")["max"]
        self.assertGreaterEqual(events, 1)
        self.assertEqual(nproc["hits"], events)
        self.assertEqual(nproc["max"],
                         int(readCgroup(pid, "pids", "pids.peak")))
        self.assertEqual(nproc["max"], 5)
        # Lifted at once, so that vx.exec can attach again.
        yield self.admin.call("vxdb.vx.limit.remove", name=name,
                              limit="NPROC")
        # A 50 MB string in a VPS allowed 32 MiB (and no swap): awk dies.
        try:
            output = yield self.execIn(name, "awk 'BEGIN { s = sprintf("
                                       "\"%50000000s\", 1);"
                                       " print length(s) }'")
        except Fault as f:
            output = f.message
        self.assertNotEqual(output.strip(), "50000000")
        after = {e["type"]: e for e in (yield self.limstatus(name))}
        if cgroupV2():
            hits = statOf(pid, "memory", "memory.events")["max"]
        else:
            hits = max([int(readCgroup(pid, "memory", f)) for f in (
                "memory.failcnt", "memory.memsw.failcnt")]
                + [statOf(pid, "memory", "memory.oom_control")["oom_kill"]])
        self.assertGreaterEqual(hits, 1)
        self.assertEqual(after["RSS"]["hits"], hits)
        self.assertLessEqual(after["RSS"]["max"], 32768)
        self.assertGreater(after["RSS"]["max"], 0)

    @defer.inlineCallbacks
    def test_vccTable(self):
        """
        vcc limstatus prints the limits of a running VPS, one per line.
        """
        name = yield self.newVps(start=True)
        code, out, err = yield self.runClientThread(vcc, "limstatus", name)
        self.assertEqual(code, 0, err)
        log.info("vcc limstatus:\n{out}", out=out)
        rows = {line.split()[0]: line.split() for line in out.splitlines()
                if line.split()}
        self.assertIn("NPROC", rows, out)
        self.assertIn("RSS", rows, out)
