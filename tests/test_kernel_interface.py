"""
Tests for L{vcd.interfaces.IVPSKernel}: one set of tests, run against the
in-memory L{vcd.kernel.fake.FakeKernel} and against the real
L{vcd.kernel.lxc.LXCKernel} with busybox containers, so that the fake
behaves as the kernel layer does.

The real-kernel tests need root, liblxc with the compiled binding (Debian
lxc, lxc-dev), lxc-stop (lxc) and busybox-static; a missing one fails the
tests, saying what to install.
"""

import contextlib
import io
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time

from twisted.internet import defer, reactor, task
from twisted.internet.defer import inlineCallbacks
from twisted.python.threadpool import ThreadPool
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from vcd.kernel.interfaces import IVPSKernel
from vcd.kernel.fake import FakeKernel
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.idmap import RootSpec
from vcd.kernel.netdev import RECEIVE, TRANSMIT
from vcd.kernel.liveaddress import NoNetworkDevice

#: The host id of the root of the VPSes these tests start themselves: high
#: in root's subordinate ids (./vcd-setup gives root 1000000 + 10 ** 9).
TEST_ID_BASE = 1000000 + 65536 * 10000

#: The environment commands run with (the daemon's PATH).
ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOME=/root", "FOO=bar baz"]
#: How the VPSes of L{KernelInterfaceTestsMixin.prepareVps} behave.
NORMAL, IGNORES_HALT, INIT_EXITS = "normal", "ignoresHalt", "initExits"
STATUS_KEYS = {"running", "nproc", "uptime", "initpid", "thr_total",
               "thr_running", "thr_unintr", "thr_onhold"}
STOPPED_STATUS = dict.fromkeys(STATUS_KEYS, 0)
STOPPED_STATUS["running"] = False


class KernelInterfaceTestsMixin:
    """
    The behaviour the interface's docstrings promise. A TestCase mixing it
    in provides:

      - C{makeKernel()}: the kernel under test (called in setUp, kept as
        C{self.kernel});
      - C{prepareVps(behaviour)}: a new stopped VPS whose init is
        L{NORMAL} (busybox init), L{IGNORES_HALT} (an init without signal
        handlers) or L{INIT_EXITS} (exits at once), as C{(name,
        configText, root)} (C{root} a L{RootSpec}), stopped hard in
        cleanup;
      - C{missingPath()}: a directory that does not exist;
      - C{writtenConfig(name)}: the configuration text the kernel holds
        for VPS C{name}, or None;
      - C{processLimit(name, pid, limit)}: the C{(soft, hard)} rlimit
        C{limit} of the init C{pid} of running VPS C{name};
      - C{wait(d)}: let time pass until C{d} fires; return C{d};
      - C{stopTargets(name, count)}: a Deferred firing with the targets
        (C{"stop"}, C{"reboot"}) of the first C{count} stops of VPS
        C{name}, as its post-stop hook saw them.
    """

    def setUp(self):
        self.kernel = self.makeKernel()

    def call(self, method, *args):
        """
        Call a kernel method and let time pass until it answers.
        """
        return self.wait(getattr(self.kernel, method)(*args))

    @inlineCallbacks
    def startedVps(self, behaviour=NORMAL):
        """
        Prepare and start a VPS.

        @return: a Deferred firing with its name and init pid.
        """
        name, text, paths = self.prepareVps(behaviour)
        pid = yield self.call("start", name, text, paths)
        return name, pid

    def runIn(self, name, *argv, timeout=30, cap=4096, env=ENV):
        return self.call("execute", name, list(argv), timeout, cap, env)

    def assertResult(self, result, status, output, truncated=False,
                     timedOut=False, notFound=False):
        self.assertEqual(
            ({k: result[k] for k in ("status", "output", "truncated",
                                     "timedOut", "notFound")}),
            {"status": status, "output": output, "truncated": truncated,
             "timedOut": timedOut, "notFound": notFound})

    @inlineCallbacks
    def assertStopped(self, name):
        self.assertIs((yield self.call("isRunning", name)), False)
        self.assertEqual((yield self.call("state", name)), "STOPPED")
        self.assertEqual((yield self.call("status", name)), STOPPED_STATUS)

    def test_provides(self):
        self.assertTrue(verifyObject(IVPSKernel, self.kernel))

    @inlineCallbacks
    def test_unknown(self):
        """
        A VPS the kernel never saw is stopped; stopping it succeeds.
        """
        name = "vcdnone-" + secrets.token_hex(4)
        yield self.assertStopped(name)
        self.assertEqual((yield self.call("activeTasks", [name])), {})
        self.assertIs((yield self.call("waitStopped", name, 5)), True)
        self.assertIs((yield self.call("hardStop", name)), True)
        yield self.assertFailure(self.call("kill", name, 0, 0), KernelError)

    @inlineCallbacks
    def test_start(self):
        """
        A start writes the configuration and fires with the init's pid once
        the VPS runs.
        """
        name, text, paths = self.prepareVps(NORMAL)
        yield self.assertStopped(name)
        pid = yield self.call("start", name, text, paths)
        self.assertIsInstance(pid, int)
        self.assertGreater(pid, 1)
        self.assertEqual(self.writtenConfig(name), text)
        self.assertIs((yield self.call("isRunning", name)), True)
        self.assertEqual((yield self.call("state", name)), "RUNNING")
        status = yield self.call("status", name)
        self.assertEqual(status["initpid"], pid)
        self.assertIs(status["running"], True)

    @inlineCallbacks
    def test_startRunning(self):
        """
        Starting a running VPS fails with AlreadyRunning; it keeps running
        with its init, and the new configuration is written for its next
        start.
        """
        name, text, paths = self.prepareVps(NORMAL)
        pid = yield self.call("start", name, text, paths)
        newText = text + "# changed\n"
        error = yield self.assertFailure(
            self.call("start", name, newText, paths), AlreadyRunning)
        self.assertIsInstance(error, KernelError)
        self.assertEqual((yield self.call("status", name))["initpid"], pid)
        self.assertEqual(self.writtenConfig(name), newText)

    @inlineCallbacks
    def test_rootMissing(self):
        """
        A start whose root lacks a directory fails with RootMissing naming
        it, before it writes anything.
        """
        name, text, root = self.prepareVps(NORMAL)
        missing = self.missingPath()
        root = RootSpec(root.kind, [missing] + root.paths[1:], root.idBase,
                        root.idCount)
        error = yield self.assertFailure(
            self.call("start", name, text, root), RootMissing)
        self.assertEqual(str(error), missing)
        self.assertIsNone(self.writtenConfig(name))
        yield self.assertStopped(name)

    @inlineCallbacks
    def test_initExits(self):
        """
        A start whose init exits at once fails with a KernelError and
        leaves the VPS stopped.
        """
        name, text, paths = self.prepareVps(INIT_EXITS)
        # However busy the host, the init has had the time to exit.
        error = yield self.assertFailure(
            self.call("start", name, text, paths, 5.0), KernelError)
        self.assertNotIsInstance(error, (AlreadyRunning, RootMissing))
        self.assertTrue(str(error))
        yield self.assertStopped(name)

    @inlineCallbacks
    def test_restart(self):
        """
        A VPS stopped hard starts again, from the configuration given then.
        """
        name, text, paths = self.prepareVps(NORMAL)
        yield self.call("start", name, text, paths)
        self.assertIs((yield self.call("hardStop", name)), True)
        newText = text + "# changed\n"
        pid = yield self.call("start", name, newText, paths)
        self.assertEqual(self.writtenConfig(name), newText)
        self.assertEqual((yield self.call("status", name))["initpid"], pid)

    @inlineCallbacks
    def test_execute(self):
        """
        A command's exit status and its output.
        """
        name, _ = yield self.startedVps()
        self.assertResult((yield self.runIn(name, "echo", "hello", "world")),
                          0, "hello world\n")
        self.assertResult((yield self.runIn(name, "true")), 0, "")
        self.assertResult((yield self.runIn(name, "false")), 1, "")
        self.assertResult((yield self.runIn(name, "/bin/sh", "-c", "exit 3")),
                          3, "")

    @inlineCallbacks
    def test_executeSignalled(self):
        """
        A command ended by a signal has minus the signal as its status.
        """
        name, _ = yield self.startedVps()
        self.assertResult(
            (yield self.runIn(name, "sh", "-c", "echo a; kill -TERM $$")),
            -signal.SIGTERM, "a\n")

    @inlineCallbacks
    def test_executeCombinedOutput(self):
        """
        Standard output and error are combined, standard input is empty.
        """
        name, _ = yield self.startedVps()
        self.assertResult(
            (yield self.runIn(name, "sh", "-c", "echo out; echo err >&2")),
            0, "out\nerr\n")
        self.assertResult((yield self.runIn(name, "cat")), 0, "")

    @inlineCallbacks
    def test_executeEnvironment(self):
        """
        The command gets the environment given.
        """
        name, _ = yield self.startedVps()
        result = yield self.runIn(name, "env")
        self.assertEqual(result["status"], 0)
        self.assertIn("FOO=bar baz", result["output"].splitlines())

    @inlineCallbacks
    def test_executeTruncated(self):
        """
        At most C{cap} bytes of output are kept.
        """
        name, _ = yield self.startedVps()
        self.assertResult((yield self.runIn(name, "echo", "x" * 100, cap=10)),
                          0, "x" * 10, truncated=True)
        self.assertResult((yield self.runIn(name, "echo", "x" * 9, cap=10)),
                          0, "x" * 9 + "\n")

    @inlineCallbacks
    def test_executeNotFound(self):
        """
        A program that does not exist inside the VPS is not found, with
        status 127.
        """
        name, _ = yield self.startedVps()
        self.assertResult((yield self.runIn(name, "vcd-no-such-command")),
                          127, "", notFound=True)
        self.assertResult((yield self.runIn(name, "/bin/vcd-no-such-command")),
                          127, "", notFound=True)

    @inlineCallbacks
    def test_executeTimeout(self):
        """
        A command still running after C{timeout} seconds is killed.
        """
        name, _ = yield self.startedVps()
        self.assertResult((yield self.runIn(name, "sleep", "60", timeout=0.5)),
                          -signal.SIGKILL, "", timedOut=True)
        self.assertIs((yield self.call("isRunning", name)), True)

    @inlineCallbacks
    def test_executeNotRunning(self):
        """
        Running a command in a stopped VPS fails with a KernelError.
        """
        name, _, _ = self.prepareVps(NORMAL)
        yield self.assertFailure(self.runIn(name, "true"), KernelError)

    @inlineCallbacks
    def test_setDomainName(self):
        """
        The NIS domain name of a running VPS; a fresh start has none.
        """
        name, _ = yield self.startedVps()
        path = "/proc/sys/kernel/domainname"
        self.assertResult((yield self.runIn(name, "cat", path)), 0, "(none)\n")
        yield self.call("setDomainName", name, "example.org")
        self.assertResult((yield self.runIn(name, "cat", path)), 0,
                          "example.org\n")
        yield self.call("hardStop", name)
        yield self.assertFailure(
            self.call("setDomainName", name, "example.org"), KernelError)

    @inlineCallbacks
    def test_setHostName(self):
        """
        The host name of a running VPS changes at once; a fresh start has
        its name.
        """
        name, _ = yield self.startedVps()
        path = "/proc/sys/kernel/hostname"
        self.assertResult((yield self.runIn(name, "cat", path)), 0,
                          name + "\n")
        yield self.call("setHostName", name, "renamed-1")
        self.assertResult((yield self.runIn(name, "cat", path)), 0,
                          "renamed-1\n")
        yield self.call("hardStop", name)
        yield self.assertFailure(
            self.call("setHostName", name, "renamed-2"), KernelError)

    @inlineCallbacks
    def test_status(self):
        """
        The status of a running VPS: its init, processes and threads. (A
        VPS whose init is its only process, so that nothing changes while
        it is counted.)
        """
        name, pid = yield self.startedVps(IGNORES_HALT)
        status = yield self.call("status", name)
        self.assertEqual(set(status), STATUS_KEYS)
        self.assertIs(status["running"], True)
        self.assertEqual(status["initpid"], pid)
        for key in STATUS_KEYS - {"running"}:
            self.assertIsInstance(status[key], int, key)
        self.assertEqual((status["nproc"], status["thr_total"]), (1, 1))
        self.assertLessEqual(status["thr_running"] + status["thr_unintr"]
                             + status["thr_onhold"], 1)
        self.assertTrue(0 <= status["uptime"] < 60, status)

    @inlineCallbacks
    def test_activeTasks(self):
        """
        Active task counts only for the running VPSes among the names.
        """
        running, _ = yield self.startedVps()
        stopped, _, _ = self.prepareVps(NORMAL)
        counts = yield self.call("activeTasks",
                                 [running, stopped, "vcdnone-x"])
        self.assertEqual(list(counts), [running])
        self.assertIsInstance(counts[running], int)
        self.assertGreaterEqual(counts[running], 0)

    @inlineCallbacks
    def test_cgroupItems(self):
        """
        A cgroup file of a running VPS can be written and read back; a
        stopped VPS has none (KernelError).
        """
        name, _ = yield self.startedVps()
        yield self.call("setCgroupItem", name, "pids.max", "123")
        self.assertEqual((yield self.call("cgroupItem", name,
                                          "pids.max")).strip(), "123")
        yield self.call("hardStop", name)
        yield self.assertFailure(self.call("setCgroupItem", name, "pids.max",
                                           "7"), KernelError)
        yield self.assertFailure(self.call("cgroupItem", name, "pids.max"),
                                 KernelError)

    @inlineCallbacks
    def test_interfaceCounters(self):
        """
        A running VPS's network namespace has its loopback, each counter
        a non-negative int; a stopped VPS has none (KernelError).
        """
        name, _ = yield self.startedVps()
        counters = yield self.call("interfaceCounters", name)
        self.assertIn("lo", [c.name for c in counters])
        for c in counters:
            self.assertEqual(set(c.received), set(RECEIVE))
            self.assertEqual(set(c.sent), set(TRANSMIT))
            for value in list(c.received.values()) + list(c.sent.values()):
                self.assertIsInstance(value, int)
                self.assertGreaterEqual(value, 0)
        yield self.call("hardStop", name)
        yield self.assertFailure(self.call("interfaceCounters", name),
                                 KernelError)

    @inlineCallbacks
    def test_addressesWithoutDevice(self):
        """
        A VPS started without addresses has no eth0 to change
        (NoNetworkDevice); a stopped VPS none at all (KernelError).
        """
        name, _ = yield self.startedVps()
        yield self.assertFailure(
            self.call("setAddress", name, "198.18.0.9", 24, ""),
            NoNetworkDevice)
        yield self.assertFailure(self.call("removeAddress", name, None),
                                 NoNetworkDevice)
        yield self.call("hardStop", name)
        yield self.assertFailure(
            self.call("setAddress", name, "198.18.0.9", 24, ""), KernelError)

    @inlineCallbacks
    def test_severalCgroupItems(self):
        """
        Several cgroup files written in order in one call (the last write
        of a key wins) and read back in one call; a file this kernel lacks
        reads as None; a stopped VPS has none (KernelError).
        """
        name, _ = yield self.startedVps()
        yield self.call("setCgroupItems", name, [("pids.max", "50"),
                                                 ("pids.max", "60")])
        values = yield self.call("cgroupItems", name,
                                 ["pids.max", "nosuch.file"])
        self.assertEqual((values["pids.max"].strip(), values["nosuch.file"]),
                         ("60", None))
        yield self.call("hardStop", name)
        yield self.assertFailure(self.call(
            "setCgroupItems", name, [("pids.max", "7")]), KernelError)
        yield self.assertFailure(self.call("cgroupItems", name,
                                           ["pids.max"]), KernelError)

    @inlineCallbacks
    def test_setProcessLimit(self):
        """
        A per-process limit set on every process of a running VPS (at
        least its init); a stopped VPS has none (KernelError).
        """
        name, pid = yield self.startedVps()
        count = yield self.call("setProcessLimit", name, "NOFILE", 100, 200)
        self.assertGreaterEqual(count, 1)
        self.assertEqual(self.processLimit(name, pid, "NOFILE"), (100, 200))
        yield self.call("hardStop", name)
        yield self.assertFailure(self.call(
            "setProcessLimit", name, "NOFILE", 100, 200), KernelError)

    @inlineCallbacks
    def test_freeze(self):
        """
        A running VPS can be frozen (its state is C{"FROZEN"}, and still
        running) and thawed; a frozen VPS stops hard; a stopped one is not
        frozen and cannot be frozen or thawed (KernelError).
        """
        name, _ = yield self.startedVps()
        self.assertIs((yield self.call("isFrozen", name)), False)
        yield self.call("freeze", name)
        self.assertIs((yield self.call("isFrozen", name)), True)
        self.assertEqual((yield self.call("state", name)), "FROZEN")
        self.assertIs((yield self.call("isRunning", name)), True)
        yield self.call("freeze", name)
        yield self.call("unfreeze", name)
        self.assertIs((yield self.call("isFrozen", name)), False)
        self.assertEqual((yield self.call("state", name)), "RUNNING")
        yield self.call("freeze", name)
        self.assertIs((yield self.call("hardStop", name)), True)
        self.assertIs((yield self.call("waitStopped", name, 30)), True)
        self.assertIs((yield self.call("isFrozen", name)), False)
        yield self.assertFailure(self.call("freeze", name), KernelError)
        yield self.assertFailure(self.call("unfreeze", name), KernelError)

    @inlineCallbacks
    def test_setPingGroups(self):
        """
        Inside a running VPS, ping_group_range is the kernel's default
        ("1 0": no group; shown as the overflow id 65534 twice inside an
        unprivileged VPS, which does not map host group 1); allowed, it
        holds every group of the VPS (its ids 0-65535, as it sees them);
        taken back, none again. A stopped VPS fails.
        """
        name, _ = yield self.startedVps()

        @inlineCallbacks
        def inside():
            result = yield self.runIn(name, "cat",
                                      "/proc/sys/net/ipv4/ping_group_range")
            return result["output"].split()
        default = yield inside()
        self.assertIn(default, (["1", "0"], ["65534", "65534"]))
        yield self.call("setPingGroups", name, True)
        self.assertEqual((yield inside()), ["0", "65535"])
        yield self.call("setPingGroups", name, False)
        self.assertEqual((yield inside()), default)
        yield self.call("hardStop", name)
        yield self.assertFailure(self.call("setPingGroups", name, True),
                                 KernelError)

    @inlineCallbacks
    def test_kill(self):
        """
        Signal 0 reaches every process (vpid 0) or init (vpid 1); another
        vpid must exist. (A VPS whose only process is its init.)
        """
        name, _ = yield self.startedVps(IGNORES_HALT)
        self.assertEqual((yield self.call("kill", name, 0, 0)), 1)
        self.assertEqual((yield self.call("kill", name, 1, 0)), 1)
        yield self.assertFailure(self.call("kill", name, 4000, 0),
                                 KernelError)
        # An init without handlers does not get SIGTERM (but it counts).
        self.assertEqual((yield self.call("kill", name, 1, signal.SIGTERM)),
                         1)
        self.assertIs((yield self.call("waitStopped", name, 0.5)), False)

    @inlineCallbacks
    def waitProcesses(self, name, count, timeout=15):
        """
        Poll the status of VPS C{name} until it has C{count} processes.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = yield self.call("status", name)
            if status["nproc"] == count:
                return
            if time.monotonic() > deadline:
                self.fail("%s: %d processes, not %d" % (
                    name, status["nproc"], count))
            yield task.deferLater(reactor, 0.05, lambda: None)

    @inlineCallbacks
    def test_executeStopped(self):
        """
        A command running when its VPS stops is killed.
        """
        name, _ = yield self.startedVps(IGNORES_HALT)
        d = self.kernel.execute(name, ["sleep", "60"], 30, 100, ENV)
        yield self.waitProcesses(name, 2)
        yield self.call("hardStop", name)
        self.assertResult((yield self.wait(d)), -signal.SIGKILL, "")

    @inlineCallbacks
    def test_killInit(self):
        """
        SIGKILL to init stops the VPS.
        """
        name, _ = yield self.startedVps()
        self.assertEqual((yield self.call("kill", name, 1, signal.SIGKILL)),
                         1)
        self.assertIs((yield self.call("waitStopped", name, 30)), True)
        yield self.assertStopped(name)
        self.assertEqual((yield self.stopTargets(name, 1)), ["stop"])
        yield self.assertFailure(self.call("kill", name, 1, 0), KernelError)

    @inlineCallbacks
    def test_hardStop(self):
        """
        A hard stop stops a running VPS at once.
        """
        name, _ = yield self.startedVps()
        self.assertIs((yield self.call("hardStop", name)), True)
        yield self.assertStopped(name)
        self.assertIs((yield self.call("hardStop", name)), True)
        self.assertEqual((yield self.stopTargets(name, 1)), ["stop"])

    @inlineCallbacks
    def test_waitStopped(self):
        """
        waitStopped says False while the VPS runs past the timeout, True
        once it is stopped.
        """
        name, _ = yield self.startedVps()
        self.assertIs((yield self.call("waitStopped", name, 0.2)), False)
        self.assertIs((yield self.call("isRunning", name)), True)
        yield self.call("hardStop", name)
        self.assertIs((yield self.call("waitStopped", name, 0.2)), True)

    @inlineCallbacks
    def test_halt(self):
        """
        The halt command stops the VPS (its init halts it).
        """
        name, _ = yield self.startedVps()
        self.assertResult((yield self.runIn(name, "/sbin/halt")), 0, "")
        self.assertIs((yield self.call("waitStopped", name, 30)), True)
        yield self.assertStopped(name)
        self.assertEqual((yield self.stopTargets(name, 1)), ["stop"])

    @inlineCallbacks
    def test_reboot(self):
        """
        The reboot command stops the VPS as a reboot (the post-stop hook,
        like the daemon's, refuses liblxc's own reboot).
        """
        name, _ = yield self.startedVps()
        self.assertResult((yield self.runIn(name, "reboot")), 0, "")
        self.assertIs((yield self.call("waitStopped", name, 30)), True)
        self.assertEqual((yield self.stopTargets(name, 1)), ["reboot"])

    @inlineCallbacks
    def test_ignoresHalt(self):
        """
        A VPS whose init ignores the halt command needs a hard stop.
        """
        name, _ = yield self.startedVps(IGNORES_HALT)
        self.assertResult((yield self.runIn(name, "halt")), 0, "")
        self.assertIs((yield self.call("waitStopped", name, 0.5)), False)
        self.assertIs((yield self.call("hardStop", name)), True)
        yield self.assertStopped(name)
        self.assertEqual((yield self.stopTargets(name, 1)), ["stop"])


class FakeKernelInterfaceTests(KernelInterfaceTestsMixin, unittest.TestCase):
    """
    The interface tests on L{FakeKernel}, with a L{task.Clock}.
    """

    def makeKernel(self):
        self.clock = task.Clock()
        self.roots = set()
        self.targets = {}
        return FakeKernel(self.clock, rootExists=self.roots.__contains__,
                          onStop=lambda name, target: self.targets.setdefault(
                              name, []).append(target))

    def prepareVps(self, behaviour):
        name = "fake-" + secrets.token_hex(4)
        paths = ["/fake/%s/lower" % (name,), "/fake/%s/upper" % (name,),
                 "/fake/%s/work" % (name,)]
        self.roots.update(paths)
        vps = self.kernel.vps(name)
        vps.ignoresHalt = behaviour == IGNORES_HALT
        if behaviour == INIT_EXITS:
            vps.startFailures.append("the init of %s exited at once"
                                     % (name,))
        return (name, "lxc.uts.name = %s\n" % (name,),
                RootSpec("overlay", paths, 1000000, 65536))

    def missingPath(self):
        return "/fake/missing"

    def writtenConfig(self, name):
        return self.kernel.vps(name).config

    def processLimit(self, name, pid, limit):
        return self.kernel.vps(name).rlimits[limit]

    def wait(self, d, limit=3600):
        """
        Advance the clock a tenth of a second at a time until C{d} fires.
        """
        elapsed = 0
        while not d.called and elapsed < limit:
            self.clock.advance(0.1)
            elapsed += 0.1
        self.assertTrue(d.called, "nothing fired in %s s" % (limit,))
        return d

    def stopTargets(self, name, count):
        targets = self.targets.get(name, [])
        self.assertEqual(len(targets), count, targets)
        return defer.succeed(targets)


def _procLimit(pid, limit):
    """
    The (soft, hard) rlimit of process C{pid}, from /proc/<pid>/limits.
    """
    labels = {"NOFILE": "Max open files"}
    with open("/proc/%d/limits" % (pid,)) as f:
        for line in f:
            if line.startswith(labels[limit]):
                soft, hard = line[len(labels[limit]):].split()[:2]
                return int(soft), int(hard)
    raise AssertionError("no %s in /proc/%d/limits" % (limit, pid))


class FakeKernelTests(unittest.TestCase):
    """
    What L{FakeKernel} models beyond the interface tests, and the knobs
    that script it.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.stops = []
        self.kernel = FakeKernel(self.clock, rootExists=lambda path: True,
                                 onStop=lambda *stop: self.stops.append(stop))

    def started(self, name="vps"):
        self.successResultOf(self.kernel.start(
            name, "config", RootSpec("copy", ["/root"])))
        return self.kernel.vps(name)

    def execute(self, name, *argv, timeout=30, cap=100):
        return self.kernel.execute(name, list(argv), timeout, cap, ENV)

    def test_rootExistsDefault(self):
        """
        By default a root directory exists if the filesystem has it.
        """
        kernel = FakeKernel(self.clock)
        here = os.path.abspath(self.mktemp())
        os.mkdir(here)
        root = RootSpec("copy", [here])
        self.successResultOf(kernel.start("vps", "config", root))
        self.successResultOf(kernel.hardStop("vps"))
        os.rmdir(here)
        self.failureResultOf(kernel.start("vps", "config", root),
                             RootMissing)

    def test_pids(self):
        """
        Each start has a new init pid; exec'd commands are processes of
        the VPS while they run.
        """
        first = self.started().init.pid
        self.successResultOf(self.kernel.hardStop("vps"))
        vps = self.started()
        self.assertNotEqual(vps.init.pid, first)
        d = self.execute("vps", "sleep", "5")
        self.assertEqual(sorted(vps.processes), [1, 2])
        self.assertEqual(self.successResultOf(self.kernel.kill("vps", 0, 0)),
                         2)
        self.clock.advance(5)
        self.assertEqual(self.successResultOf(d)["status"], 0)
        self.assertEqual(sorted(vps.processes), [1])

    def test_uptime(self):
        """
        The uptime counts whole seconds of the reactor's time.
        """
        self.started()
        self.clock.advance(42.7)
        status = self.successResultOf(self.kernel.status("vps"))
        self.assertEqual(status["uptime"], 42)

    def test_spawn(self):
        """
        Spawned processes count in status and activeTasks by state.
        """
        self.started()
        for state in "RRDTS":
            self.kernel.spawn("vps", state)
        status = self.successResultOf(self.kernel.status("vps"))
        self.assertEqual(
            {k: status[k] for k in ("nproc", "thr_total", "thr_running",
                                    "thr_unintr", "thr_onhold")},
            {"nproc": 6, "thr_total": 6, "thr_running": 2, "thr_unintr": 1,
             "thr_onhold": 1})
        self.assertEqual(
            self.successResultOf(self.kernel.activeTasks(["vps"])),
            {"vps": 3})
        self.assertRaises(KernelError, self.kernel.spawn, "other")

    def test_killCommand(self):
        """
        A signal that ends a command's process ends the command with minus
        the signal; SIGSTOP only stops it.
        """
        vps = self.started()
        d = self.execute("vps", "sleep", "5")
        self.successResultOf(self.kernel.kill("vps", 2, signal.SIGSTOP))
        self.assertEqual(vps.processes[2].state, "T")
        self.assertNoResult(d)
        self.successResultOf(self.kernel.kill("vps", 2, signal.SIGTERM))
        self.assertEqual(self.successResultOf(d)["status"], -signal.SIGTERM)
        self.assertNotIn(2, vps.processes)

    def test_stopKillsCommands(self):
        """
        Commands running when the VPS stops are killed (SIGKILL), and
        waiters learn at once that it stopped.
        """
        self.started()
        d = self.execute("vps", "sh", "-c", "echo a; sleep 10")
        waiting = self.kernel.waitStopped("vps", 30)
        self.assertNoResult(waiting)
        self.assertIs(self.successResultOf(self.kernel.hardStop("vps")), True)
        self.assertIs(self.successResultOf(waiting), True)
        result = self.successResultOf(d)
        self.assertEqual((result["status"], result["timedOut"]),
                         (-signal.SIGKILL, False))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_haltDelay(self):
        """
        A halt stops the VPS haltDelay seconds later; a second halt
        meanwhile changes nothing.
        """
        vps = self.started()
        vps.haltDelay = 5
        self.successResultOf(self.execute("vps", "halt"))
        self.clock.advance(4)
        self.successResultOf(self.execute("vps", "poweroff"))
        self.assertTrue(vps.running)
        self.clock.advance(1)
        self.assertFalse(vps.running)
        self.assertEqual(self.stops, [("vps", "stop")])

    def test_initSignals(self):
        """
        Init reboots on SIGTERM, as busybox init does.
        """
        self.started()
        self.successResultOf(self.kernel.kill("vps", 1, signal.SIGTERM))
        self.clock.advance(1)
        self.assertEqual(self.stops, [("vps", "reboot")])

    def test_startFailures(self):
        """
        Each start takes the next scripted failure.
        """
        vps = self.kernel.vps("vps")
        vps.startFailures.extend(["first", "second"])
        for message in ("first", "second"):
            failure = self.failureResultOf(
                self.kernel.start("vps", "config"), KernelError)
            self.assertEqual(str(failure.value), message)
            self.assertFalse(vps.running)
        self.started()
        self.assertTrue(vps.running)

    def test_refusesHardStop(self):
        """
        A VPS scripted to survive a hard stop stays running.
        """
        vps = self.started()
        vps.refusesHardStop = True
        self.assertIs(self.successResultOf(self.kernel.hardStop("vps")),
                      False)
        self.assertTrue(vps.running)
        self.assertEqual(self.stops, [])

    def test_scriptedCommand(self):
        """
        Tests add commands; a script finds them, and reports others as
        not found by the shell.
        """
        self.kernel.commands["hostname"] = (
            lambda kernel, vps, argv, env: (0, vps.name + "\n"))
        self.started()
        result = self.successResultOf(self.execute(
            "vps", "sh", "-c", "/bin/hostname; nothing; exit 4"))
        self.assertEqual((result["status"], result["output"]),
                         (4, "vps\nsh: nothing: not found\n"))
        self.assertEqual(self.successResultOf(self.execute(
            "vps", "sh", "-c", "nothing"))["status"], 127)

    def test_cat(self):
        """
        cat shows the VPS's scripted files.
        """
        vps = self.started()
        vps.files["/etc/hostname"] = "vps\n"
        result = self.successResultOf(self.execute(
            "vps", "cat", "/etc/hostname", "/etc/nothing"))
        self.assertEqual((result["status"], result["output"]), (
            1, "vps\ncat: can't open '/etc/nothing': No such file or"
            " directory\n"))


#: The post-stop hook of the real-kernel VPSes: it notes LXC_TARGET and,
#: like vshelper, fails so that liblxc never reboots a VPS itself.
HOOK = """\
#!/bin/sh
echo "$LXC_TARGET" >> %s/"$LXC_NAME"
exit 1
"""


class LXCKernelInterfaceTests(KernelInterfaceTestsMixin, unittest.TestCase):
    """
    The interface tests on L{vcd.kernel.lxc.LXCKernel}, with busybox
    containers configured as the daemon configures them
    (L{vcd.kernel.lxcconfig.renderConfig}).
    """

    timeout = 60

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the LXC kernel tests need root")
        if shutil.which("lxc-stop") is None:
            self.fail("lxc-stop missing: install the Debian package lxc")
        try:
            from vcd.kernel.lxc import LXCKernel
        except ImportError as e:
            self.fail("the liblxc binding is missing (%s): install the"
                      " Debian packages lxc and lxc-dev, then build it with"
                      " python setup.py build_ext --inplace" % (e,))
        from tests.harness import busyboxTemplate
        from vcd.kernel.hostfeatures import HostFeatures
        from vcd.kernel.lxcconfig import HostPaths
        from vcd.kernel.worker.client import KernelWorker
        from vcd.vps.templates import TemplateStore
        from tests.harness import searchableTemp
        self.work = searchableTemp(self)
        self.lxcpath = os.path.join(self.work, "lxc")
        self.targetsDir = os.path.join(self.work, "targets")
        for directory in (self.lxcpath, self.targetsDir):
            os.makedirs(directory)
        with contextlib.redirect_stdout(io.StringIO()):
            busyboxTemplate(os.path.join(self.work, "templates"))
        self.template = TemplateStore(os.path.join(self.work,
                                                   "templates")).get("busybox")
        hook = os.path.join(self.work, "post-stop")
        with open(hook, "w") as f:
            f.write(HOOK % (self.targetsDir,))
        os.chmod(hook, stat.S_IRWXU)
        self.hostPaths = HostPaths(self.lxcpath, hook,
                                   HostFeatures.detect().cgroupLayout)
        self.pool = ThreadPool(minthreads=1, maxthreads=2,
                               name="vcd-test-kernel")
        self.pool.start()
        self.addCleanup(self.pool.stop)
        self.worker = KernelWorker(reactor)
        self.worker.start()
        self.addCleanup(self.worker.stop)
        self.LXCKernel = LXCKernel
        super().setUp()

    def makeKernel(self):
        return self.LXCKernel(self.lxcpath, self.pool, reactor, self.worker)

    def prepareVps(self, behaviour):
        from vcd.kernel.idmap import lxcRootfs
        from vcd.kernel.lxcconfig import StartConfig, renderConfig
        from vcd.vps.lifecycle import rootSpec
        from vcd.vps.rootfs import createRoot
        from vcd.vxdb.userns import UserNamespace
        init = {NORMAL: self.template.init,
                IGNORES_HALT: "/bin/sleep 100000",
                INIT_EXITS: "/bin/false"}[behaviour]
        name = "vcdtest-" + secrets.token_hex(4)
        layout = createRoot(self.template,
                            os.path.join(self.work, "vservers", name), False,
                            os.path.join(self.work, "data"))
        self.addCleanup(self.discard, name)
        # As the daemon would start a VPS of the template (SYS_BOOT lets
        # its init reboot).
        # Unprivileged, in a range of root's subordinate ids that no
        # daemon of the tests hands out (they count from the bottom).
        root = rootSpec(layout, UserNamespace(False, TEST_ID_BASE, 65536, 0),
                        [])
        text = renderConfig(StartConfig(
            name, 42, lxcRootfs(root, self.lxcpath, name), init,
            bcaps=self.template.bcaps, idBase=root.idBase,
            idCount=root.idCount), self.hostPaths)
        return name, text, root

    def discard(self, name):
        """
        Stop container C{name} hard and remove the cgroups LXC left for it.
        """
        from vcd.kernel.cgroups import removeEmptyCgroups
        subprocess.run(["lxc-stop", "-P", self.lxcpath, "-n", name, "-k"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        removeEmptyCgroups(name)

    def missingPath(self):
        return os.path.join(self.work, "no-such-directory")

    def processLimit(self, name, pid, limit):
        return _procLimit(pid, limit)

    def writtenConfig(self, name):
        try:
            with open(os.path.join(self.lxcpath, name, "config")) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def wait(self, d):
        return d

    @inlineCallbacks
    def stopTargets(self, name, count, timeout=15):
        """
        Poll the hook's notes until C{count} stops are noted (the hook runs
        after the container is seen stopped).
        """
        path = os.path.join(self.targetsDir, name)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(path) as f:
                    targets = f.read().split()
            except FileNotFoundError:
                targets = []
            if len(targets) >= count or time.monotonic() > deadline:
                return targets
            yield task.deferLater(reactor, 0.05, lambda: None)
