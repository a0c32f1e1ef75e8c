"""
Live changes of the scheduler, the CPU set and the limits
(L{vcd.vps.liveknobs}) on the fake-kernel daemon (a cgroup v2 host): the
replies, and what reaches the running VPS's cgroup files and processes.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.kernel.errors import KernelError
from vcd.kernel.hostfeatures import LxcfsState
from vcd.vps.liveknobs import NOT_RUNNING, PRLIMIT_REMOVED
from vcd.vxdb import running

INF = 2 ** 64 - 1


class LiveKnobTests(FakeDaemonMixin, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")
        self.answer(self.fake.call("vx.start", name="web1"))

    def stop(self):
        d = self.fake.call("vx.stop", name="web1")
        self.clock.advance(30)
        self.answer(d)

    def change(self, method, **args):
        return self.answer(self.fake.call(method, name="web1", **args))

    @property
    def cgroup(self):
        return self.kernel.vps("web1").cgroup

    def test_limits(self):
        self.assertEqual(self.change("vxdb.vx.limit.set", limit="NPROC",
                                     soft="7"), APPLIED_NOW)
        self.assertEqual(self.cgroup["pids.max"], "7")
        self.assertEqual(self.change("vxdb.vx.limit.set", limit="RSS",
                                     soft="1024", max="2048"), APPLIED_NOW)
        self.assertEqual((self.cgroup["memory.max"],
                          self.cgroup["memory.high"],
                          self.cgroup["memory.swap.max"]),
                         ("2097152", "1048576", "0"))
        self.assertEqual(self.change("vxdb.vx.limit.set", limit="NOFILE",
                                     soft="200", max="300"), APPLIED_NOW)
        self.assertEqual(self.change("vxdb.vx.limit.set", limit="MEMLOCK",
                                     soft="64"), APPLIED_NOW)
        self.assertEqual(self.kernel.vps("web1").rlimits,
                         {"NOFILE": (200, 300), "MEMLOCK": (65536, 65536)})

    def test_removals(self):
        """
        A removed cgroup limit is lifted at once; a removed per-process
        limit stays on the processes until the next start, which says so.
        """
        self.change("vxdb.vx.limit.set", limit="RSS", soft="1024")
        self.assertEqual(self.change("vxdb.vx.limit.remove", limit="RSS"),
                         APPLIED_NOW)
        self.assertEqual((self.cgroup["memory.max"],
                          self.cgroup["memory.high"],
                          self.cgroup["memory.swap.max"]),
                         ("max", "max", "max"))
        self.change("vxdb.vx.limit.set", limit="NOFILE", soft="200")
        self.assertEqual(self.change("vxdb.vx.limit.remove",
                                     limit="NOFILE"), PRLIMIT_REMOVED)
        self.change("vxdb.vx.limit.set", limit="NPROC", soft="7")
        self.assertEqual(self.change("vxdb.vx.limit.remove", limit=""),
                         PRLIMIT_REMOVED)
        self.assertEqual(self.cgroup["pids.max"], "max")

    def test_scheduler(self):
        """
        The bucket reaches the cgroup only with SCHED_HARD; the weight
        always; adding and removing the flag changes the VPS at once.
        """
        self.assertEqual(self.change(
            "vxdb.vx.sched.set", interval=4, fillrate=1, tokensmax=100,
            interval2=10, fillrate2=1), APPLIED_NOW)
        self.assertEqual((self.cgroup["cpu.max"], self.cgroup["cpu.weight"]),
                         ("max 100000", "1000"))
        self.assertEqual(self.change("vxdb.vx.flags.add", flag="SCHED_HARD"),
                         APPLIED_NOW)
        self.assertEqual((self.cgroup["cpu.max"],
                          self.cgroup["cpu.max.burst"]),
                         ("50000 200000", "50000"))
        # Removing every flag: the rest of them (lxcfs views, the time
        # namespace) wait for the next start, SCHED_HARD's goes now.
        self.assertTrue(self.change("vxdb.vx.flags.remove", flag="")
                        .startswith(NEXT_START))
        self.assertEqual(self.cgroup["cpu.max"], "max 100000")
        self.assertEqual(self.change("vxdb.vx.flags.add",
                                     flag="SCHED_HARD"), APPLIED_NOW)
        self.assertEqual(self.change("vxdb.vx.sched.remove"), APPLIED_NOW)
        self.assertEqual((self.cgroup["cpu.max"], self.cgroup["cpu.weight"],
                          self.cgroup["cpu.max.burst"]),
                         ("max 100000", "100", "0"))
        reply = self.change("vxdb.vx.flags.add", flag="HIDE_MOUNT")
        self.assertTrue(reply.startswith(APPLIED_NOW), reply)
        self.assertIn("always in force", reply)
        # Removing it cannot lift it: the reply says so.
        reply = self.change("vxdb.vx.flags.remove", flag="HIDE_MOUNT")
        self.assertTrue(reply.startswith(APPLIED_NOW), reply)
        self.assertIn("HIDE_MOUNT stays in force", reply)

    def test_removeAllFlagsRefused(self):
        """
        Removing every flag while the kernel refuses the scheduler's change
        says so first, and what the other flags did after it.
        """
        self.change("vxdb.vx.flags.add", flag="SCHED_HARD")
        self.patch(self.kernel, "setCgroupItems",
                   lambda name, items: defer.fail(KernelError("no cpu.max")))
        reply = self.change("vxdb.vx.flags.remove", flag="")
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("no cpu.max", reply)
        self.assertIn("the other flags: " + NEXT_START, reply)

    def test_cpuset(self):
        self.assertEqual(self.change("vxdb.vx.cpuset.set", cpus="1"),
                         APPLIED_NOW)
        self.assertEqual((self.cgroup["cpuset.cpus"],
                          self.cgroup["cpuset.mems"]), ("1", "0"))
        self.assertEqual(self.change("vxdb.vx.cpuset.remove"), APPLIED_NOW)
        self.assertEqual(self.cgroup["cpuset.cpus"], "0,1")

    def test_stopped(self):
        self.stop()
        for method, args in [
                ("vxdb.vx.limit.set", {"limit": "NPROC", "soft": "7"}),
                ("vxdb.vx.limit.set", {"limit": "NOFILE", "soft": "7"}),
                ("vxdb.vx.sched.set", {"interval": 4, "fillrate": 1,
                                       "tokensmax": 1}),
                ("vxdb.vx.cpuset.set", {"cpus": "0"}),
                ("vxdb.vx.flags.add", {"flag": "SCHED_HARD"})]:
            self.assertEqual(self.change(method, **args), NOT_RUNNING,
                             method)

    def test_startConfiguration(self):
        """
        What a start writes: the scheduler, CPU set and limits as cgroup
        keys of the start's configuration.
        """
        self.change("vxdb.vx.sched.set", interval=4, fillrate=1,
                    tokensmax=1)
        self.change("vxdb.vx.flags.add", flag="SCHED_HARD")
        self.change("vxdb.vx.cpuset.set", cpus="1")
        self.change("vxdb.vx.limit.set", limit="RSS", soft="1024")
        self.stop()
        self.answer(self.fake.call("vx.start", name="web1"))
        config = self.kernel.vps("web1").config
        for line in ("lxc.cgroup2.cpu.max = 2500 10000",
                     "lxc.cgroup2.cpuset.cpus = 1",
                     "lxc.cgroup2.cpuset.mems = 0",
                     "lxc.cgroup2.memory.max = 1048576",
                     "lxc.cgroup2.memory.swap.max = 0"):
            self.assertIn(line + "\n", config)

    def test_virtualizeIsVirtCpu(self):
        """
        A CPU set with virtualize gives the VPS VIRT_CPU's views (lxcfs's
        /proc/cpuinfo and /proc/stat, which follow its cpuset) at its next
        start: the start reads VIRT_CPU among its flags.
        """
        self.fake.services.features.lxcfs = LxcfsState()
        reply = self.change("vxdb.vx.cpuset.set", cpus="1", virtualize=True)
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("cpuset.cpus and cpuset.mems applied now", reply)
        xid = self.answer(self.fake.call("vxdb.xid.get", name="web1"))
        record = self.successResultOf(self.fake.services.db.read(
            running.startRecord, xid))
        self.assertIn("VIRT_CPU", record.flags)
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.vx.flags.get", name="web1")), [])
