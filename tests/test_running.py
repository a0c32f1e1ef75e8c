"""
Running VPSes end to end (manual chapter 12): vx.start, vx.stop,
vx.restart, vx.reboot, vx.status, vx.load, vx.kill and vx.exec against a
real daemon, its real kernel worker and real busybox containers; the
per-VPS lock, owner checks, the host reaching a VPS over TCP, and VPSes
outliving a daemon killed with SIGKILL.

Needs root, liblxc with the compiled binding (Debian lxc, lxc-dev) and
busybox-static; a missing component fails the test saying what to install.
"""

import os
import signal
import socket
import subprocess
import sys
import time

from twisted.internet import defer, threads

from tests.harness import DaemonTestCase, Fault
from tests.running import RunningHelpers, monitorPids, pause, testAddress
from vcd.faults import (MEEXEC, MEINVAL, MENOVPS, MERUNNING, MESTOPPED,
                        MESYS)

USER_PASSWORD = "user-secret-1"
STATUS_KEYS = {"running", "nproc", "uptime", "thr_total", "thr_running",
               "thr_unintr", "thr_onhold", "load1m", "load5m", "load15m"}



def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % (pid,), "rb") as f:
            return f.read()
    except OSError:
        return b""

class StartStopTests(RunningHelpers, DaemonTestCase):
    """
    vx.start, vx.stop, vx.restart, vx.reboot and vx.status.
    """

    @defer.inlineCallbacks
    def test_startStatusStop(self):
        """
        vx.start returns once the init runs; vx.status reports it; vx.stop
        runs the halt command and returns once the VPS is gone, without
        stopping it hard when the halt command works.
        """
        log = self.captureLog()
        name = yield self.newVps()
        yield self.assertRunning(name, False)
        init = yield self.admin.call("vxdb.init.get", name=name)
        self.assertEqual(init["timeout"], 15)
        self.assertIsNone((yield self.admin.call("vx.start", name=name)))
        status = yield self.status(name)
        self.assertLessEqual(STATUS_KEYS, set(status))
        self.assertIs(status["running"], True)
        self.assertGreaterEqual(status["nproc"], 1)
        self.assertGreaterEqual(status["thr_total"], status["nproc"])
        self.assertTrue(0 <= status["uptime"] <= 5, status)
        self.assertEqual((status["load1m"], status["load5m"],
                          status["load15m"]), ("0.00", "0.00", "0.00"))
        self.assertEqual((yield self.admin.call("vx.load", name=name)),
                         {"1m": "0.00", "5m": "0.00", "15m": "0.00"})
        # The init is busybox init, pid 1 inside.
        self.assertEqual((yield self.execIn(name, "cat /proc/1/comm")),
                         "init\n")
        self.assertEqual((yield self.execIn(name, "hostname")), name + "\n")
        begun = time.monotonic()
        output = yield self.admin.call("vx.stop", name=name)
        self.assertEqual(output, "")
        self.assertLess(time.monotonic() - begun, 14)
        yield self.assertRunning(name, False)
        self.assertFalse((yield self.daemon.parts.kernel.isRunning(name)))
        self.assertFalse([t for t in log if "hard" in t], log)

    @defer.inlineCallbacks
    def test_hardStop(self):
        """
        A halt command that does not stop the VPS: vx.stop waits the init
        timeout of vxdb.init, stops it hard, logs that, and returns the
        halt command's output.
        """
        log = self.captureLog()
        name = yield self.newVps(start=True, halt="/bin/echo not halting",
                                 timeout=1)
        begun = time.monotonic()
        output = yield self.admin.call("vx.stop", name=name)
        elapsed = time.monotonic() - begun
        self.assertEqual(output, "not halting\n")
        self.assertTrue(1 <= elapsed < 6, elapsed)
        yield self.assertRunning(name, False)
        self.assertTrue([t for t in log if name in t and "stopping it hard"
                         in t], log)

    @defer.inlineCallbacks
    def test_initDiesAtOnce(self):
        """
        An init that exits at once, or does not exist, is a fault quoting
        the VPS's LXC log; the VPS stays stopped and can start afterwards.
        """
        # A generous watch, so that a loaded test host cannot make the
        # exit of /bin/false come too late (the default is 1 ms).
        self.daemon.parts.config.startCheck = 0.1
        name = yield self.newVps(init="/bin/false")
        f = yield self.assertFault(MESYS, self.admin.call("vx.start",
                                                          name=name))
        self.assertIn("exited at once", f.message)
        self.assertIn("/bin/false", f.message)
        yield self.admin.call("vxdb.init.set", name=name, init="/sbin/nosuch")
        f = yield self.assertFault(MESYS, self.admin.call("vx.start",
                                                          name=name))
        self.assertIn('Failed to exec "/sbin/nosuch"', f.message)
        yield self.assertRunning(name, False)
        yield self.admin.call("vxdb.init.set", name=name, init="")
        yield self.admin.call("vx.start", name=name)
        yield self.assertRunning(name)

    @defer.inlineCallbacks
    def test_initExitsOnItsOwn(self):
        """
        A VPS whose init exits by itself later is reported stopped.
        """
        name = yield self.newVps(init="/bin/sleep 1", start=True)
        yield self.assertRunning(name)
        yield self.waitStopped(name, timeout=10)
        yield self.assertFault(MESTOPPED, self.execIn(name, "true"))

    @defer.inlineCallbacks
    def test_restart(self):
        """
        vx.restart stops, then starts, and returns once both are done.
        """
        name = yield self.newVps(start=True, halt="/bin/true", timeout=1)
        before = yield self.status(name)
        self.assertIsNone((yield self.admin.call("vx.restart", name=name)))
        after = yield self.status(name)
        self.assertTrue(after["running"])
        self.assertNotEqual(after["initpid"], before["initpid"])
        self.assertEqual((yield self.execIn(name, "cat /proc/1/comm")),
                         "init\n")

    @defer.inlineCallbacks
    def test_rebootRunsTheRebootCommand(self):
        """
        vx.reboot runs the configured reboot command and returns its output
        (the real reboot goes through vshelper: see L{tests.test_helper}).
        """
        name = yield self.newVps(start=True, reboot="/bin/echo reboot asked")
        before = yield self.status(name)
        self.assertEqual((yield self.admin.call("vx.reboot", name=name)),
                         "reboot asked\n")
        after = yield self.status(name)
        self.assertEqual(after["initpid"], before["initpid"])

    @defer.inlineCallbacks
    def test_stopAfterReboot(self):
        """
        vx.reboot, then at once vx.stop: the VPS stops and stays stopped.
        The reboot's post-stop hook (run by the LXC monitor after the VPS
        is seen stopped, so often after vx.stop answered) calls
        helper.restart and helper.shutdown, which must not start it again.

        Watched until the monitor is gone (its hook has reported, so any
        start it asked for is scheduled), and at least 15 seconds after
        the stop answered: the start the bug made came a few seconds after
        the hook (helper.shutdown's start waits for the VPS to be seen
        stopped and for the lock).
        """
        log = self.captureLog()
        name = yield self.newVps(start=True)
        before = yield self.status(name)
        yield self.admin.call("vx.reboot", name=name)
        yield self.admin.call("vx.stop", name=name)
        stoppedAt = time.monotonic()
        lxcpath = self.config.lxcpath
        while True:
            yield self.assertRunning(name, False)
            done = not monitorPids(lxcpath, name)
            if done and time.monotonic() - stoppedAt >= 15:
                break
            if time.monotonic() - stoppedAt > 60:
                self.fail("the LXC monitor of %s still runs 60s after"
                          " vx.stop" % (name,))
            yield pause(0.2)
        self.assertEqual(self.daemon.parts.locks.held(), [])
        self.assertFalse([t for t in log if "rebooted " + name in t], log)
        # A reboot from inside still comes back.
        yield self.admin.call("vx.start", name=name)
        started = yield self.status(name)
        self.assertNotEqual(started["initpid"], before["initpid"])
        yield self.execIn(name, "reboot")
        yield self.waitRestarted(name, started["initpid"])

    @defer.inlineCallbacks
    def test_stoppedAndRunning(self):
        """
        MESTOPPED for exec, kill, stop, reboot and restart of a stopped
        VPS; MERUNNING for starting a running one.
        """
        name = yield self.newVps()
        yield self.assertFaults(MESTOPPED, [
            ("vx.exec", {"name": name, "command": "true"}),
            ("vx.kill", {"name": name, "pid": 0, "sig": 15}),
            ("vx.kill", {"name": name, "pid": 1, "sig": 15}),
            ("vx.stop", {"name": name}),
            ("vx.reboot", {"name": name}),
            ("vx.restart", {"name": name})])
        yield self.admin.call("vx.start", name=name)
        yield self.assertFault(MERUNNING, self.admin.call("vx.start",
                                                          name=name))
        yield self.assertRunning(name)

    @defer.inlineCallbacks
    def test_missingRoot(self):
        """
        A VPS whose files were deleted by hand fails to start with a fault
        saying so, and the daemon keeps serving.
        """
        name = yield self.newVps()
        self.removeRoot(name)
        f = yield self.assertFault(MESYS, self.admin.call("vx.start",
                                                          name=name))
        self.assertIn("missing", f.message)
        self.assertIn(name, f.message)
        yield self.assertRunning(name, False)
        self.assertIn(name, (yield self.admin.call("vxdb.list")))
        other = yield self.newVps(start=True)
        yield self.assertRunning(other)

    @defer.inlineCallbacks
    def test_stoppedOnly(self):
        """
        vx.remove, vx.rename and vx.create with force refuse a VPS that
        vx.start started.
        """
        name = yield self.newVps(start=True)
        yield self.assertFaults(MERUNNING, [
            ("vx.remove", {"name": name}),
            ("vx.rename", {"name": name, "newname": name + "x"}),
            ("vx.create", {"name": name, "template": "busybox",
                           "force": True})])
        self.assertEqual((yield self.admin.call("vxdb.list")), [name])
        yield self.assertRunning(name)


class UnameTests(RunningHelpers, DaemonTestCase):
    """
    uname NODENAME and DOMAINNAME from VXDB reach the VPS's UTS namespace.
    """

    @defer.inlineCallbacks
    def test_nodenameAndDomainname(self):
        name = yield self.newVps()
        yield self.admin.call("vxdb.vx.uname.set", name=name,
                              uname="NODENAME", value="node1")
        yield self.admin.call("vxdb.vx.uname.set", name=name,
                              uname="DOMAINNAME", value="example.test")
        yield self.admin.call("vx.start", name=name)
        output = yield self.execIn(
            name, "cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname")
        self.assertEqual(output.split(), ["node1", "example.test"])


class LimitTests(RunningHelpers, DaemonTestCase):
    """
    Resource limits from VXDB are applied at start.
    """

    @defer.inlineCallbacks
    def test_prlimitAndPids(self):
        name = yield self.newVps()
        yield self.admin.call("vxdb.vx.limit.set", name=name, limit="NOFILE",
                              soft="321", max="654")
        yield self.admin.call("vxdb.vx.limit.set", name=name, limit="NPROC",
                              soft="77", max="77")
        yield self.admin.call("vx.start", name=name)
        output = yield self.execIn(name, "sh -c 'ulimit -Sn; ulimit -Hn'")
        self.assertEqual(output.split(), ["321", "654"])
        features = self.daemon.parts.features
        base = ("/sys/fs/cgroup" if features.cgroupLayout == "v2"
                else "/sys/fs/cgroup/pids")
        with open(os.path.join(base, "lxc.payload." + name,
                               "pids.max")) as f:
            self.assertEqual(f.read().strip(), "77")


class ExecTests(RunningHelpers, DaemonTestCase):
    """
    vx.exec: a simple command line, no shell, combined output.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        self.name = yield self.newVps(start=True)

    @defer.inlineCallbacks
    def test_noShell(self):
        """
        The command line is split (quotes honoured) and run with execvp:
        no expansion, no redirection, no pipes.
        """
        self.assertEqual((yield self.execIn(self.name, "echo 'a  b' c")),
                         "a  b c\n")
        self.assertEqual((yield self.execIn(
            self.name, "echo $HOME '>' /tmp/x | cat ; true")),
            "$HOME > /tmp/x | cat ; true\n")
        self.assertFalse(os.path.exists(os.path.join(
            self.config.vbasedir, self.name, "upper", "tmp", "x")))

    @defer.inlineCallbacks
    def test_combinedOutput(self):
        """
        Standard output and error come back together, in order.
        """
        output = yield self.execIn(
            self.name, "sh -c 'echo out1; echo err1 >&2; echo out2'")
        self.assertEqual(output, "out1\nerr1\nout2\n")

    @defer.inlineCallbacks
    def test_descriptors(self):
        """
        Standard input is /dev/null, and no descriptor of the daemon (or its
        worker) leaks into the VPS: only 0, 1, 2 and ls's own.
        """
        self.assertEqual((yield self.execIn(self.name, "cat")), "")
        self.assertEqual((yield self.execIn(
            self.name, "readlink /proc/self/fd/0")), "/dev/null\n")
        listing = yield self.execIn(self.name, "ls /proc/self/fd")
        self.assertEqual(listing.split(), ["0", "1", "2", "3"])
        environment = yield self.execIn(self.name, "env")
        self.assertIn("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                      "/sbin:/bin\n", environment)
        self.assertNotIn("PYTHONPATH", environment)

    @defer.inlineCallbacks
    def test_failures(self):
        """
        A non-zero exit is MEEXEC 1000+status with the output in the
        message; death by a signal 1000+128+signal; a command missing inside
        the VPS is MEEXEC saying so; an empty or unsplittable command is
        MEINVAL.
        """
        f = yield self.assertFault(MEEXEC + 3, self.execIn(
            self.name, "sh -c 'echo oops; exit 3'"))
        self.assertIn("oops", f.message)
        f = yield self.assertFault(MEEXEC + 128 + 9, self.execIn(
            self.name, "sh -c 'echo dying; kill -9 $$'"))
        self.assertIn("dying", f.message)
        for missing in ("nosuchcommand", "/usr/bin/nosuch"):
            try:
                yield self.execIn(self.name, missing)
            except Fault as f:
                self.assertGreater(f.code, MEEXEC)
                self.assertIn("not found", f.message)
                self.assertIn(missing, f.message)
            else:
                self.fail("%s ran" % (missing,))
        for empty in ("", "   "):
            yield self.assertFault(MEINVAL, self.execIn(self.name, empty),
                                   "empty")
        yield self.assertFault(MEINVAL, self.execIn(self.name, "echo 'a"))
        # Still usable afterwards.
        self.assertEqual((yield self.execIn(self.name, "echo ok")), "ok\n")

    @defer.inlineCallbacks
    def test_outputCap(self):
        """
        Output beyond config.execOutputCap is dropped, and the result says
        so.
        """
        self.config.execOutputCap = 100
        output = yield self.execIn(self.name, "seq 1 1000")
        expected = "".join("%d\n" % i for i in range(1, 1001))[:100]
        self.assertTrue(output.startswith(expected), output)
        self.assertIn("truncated at 100 bytes", output[100:])
        self.assertEqual((yield self.execIn(self.name, "seq 1 3")),
                         "1\n2\n3\n")

    @defer.inlineCallbacks
    def test_timeout(self):
        """
        A command running longer than config.execTimeout is killed, and the
        fault says so with what it wrote.
        """
        self.config.execTimeout = 1
        begun = time.monotonic()
        f = yield self.assertFault(MEEXEC + 128 + 9, self.execIn(
            self.name, "sh -c 'echo started; sleep 30'"))
        self.assertLess(time.monotonic() - begun, 10)
        self.assertIn("exec timeout", f.message)
        self.assertIn("started", f.message)
        self.assertNotIn("sleep", (yield self.execIn(self.name, "ps")))

    @defer.inlineCallbacks
    def test_daemonLeftBehind(self):
        """
        A command that leaves a daemon holding its output open still
        returns once it exits.
        """
        begun = time.monotonic()
        output = yield self.execIn(
            self.name, "start-stop-daemon -S -b -x /bin/sleep -- 60")
        self.assertEqual(output, "")
        self.assertLess(time.monotonic() - begun, 10)
        self.assertIn("sleep 60", (yield self.execIn(self.name, "ps")))


class KillTests(RunningHelpers, DaemonTestCase):
    """
    vx.kill: pid 0 is every process, 1 the init, otherwise a pid as seen
    inside the VPS.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        self.name = yield self.newVps(start=True)
        yield self.execIn(self.name,
                          "start-stop-daemon -S -b -x /bin/sleep -- 300")
        pid = yield self.execIn(self.name, "pidof sleep")
        self.sleepPid = int(pid)

    @defer.inlineCallbacks
    def waitGone(self, program):
        """
        Wait until no process runs C{program} in the VPS (its init reaps
        it a moment after it dies).
        """
        deadline = time.monotonic() + 5
        while True:
            try:
                yield self.execIn(self.name, "pidof " + program)
            except Fault as f:
                self.assertEqual(f.code, MEEXEC + 1)
                return
            if time.monotonic() > deadline:
                table = yield self.execIn(self.name,
                                          "ps -o pid,ppid,stat,args")
                self.fail("%s still runs:\n%s" % (program, table))
            yield pause(0.1)

    @defer.inlineCallbacks
    def test_onePid(self):
        """
        A pid inside the VPS gets the signal; the others do not.
        """
        self.assertGreater(self.sleepPid, 1)
        yield self.admin.call("vx.kill", name=self.name, pid=self.sleepPid,
                              sig=int(signal.SIGKILL))
        yield self.waitGone("sleep")
        yield self.assertRunning(self.name)

    @defer.inlineCallbacks
    def test_badArguments(self):
        """
        A signal out of range, or a pid not in the VPS (a host pid, say), is
        MEINVAL and signals nothing (signal 0 is accepted since issue 10:
        tests.test_original_forms).
        """
        for sig in (65, -1):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vx.kill", name=self.name, pid=self.sleepPid, sig=sig))
        # The daemon's own pid, and a pid nothing has inside the VPS.
        for pid in (os.getpid(), 4000000):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vx.kill", name=self.name, pid=pid, sig=int(signal.SIGKILL)),
                "no process")
        self.assertEqual(int((yield self.execIn(self.name, "pidof sleep"))),
                         self.sleepPid)

    @defer.inlineCallbacks
    def test_everyProcess(self):
        """
        Pid 0 signals every process of the VPS: SIGSTOP holds them all,
        SIGCONT releases them.
        """
        yield self.admin.call("vx.kill", name=self.name, pid=0,
                              sig=int(signal.SIGSTOP))
        status = yield self.waitStatus(
            self.name, lambda s: s["thr_onhold"] == s["thr_total"],
            "every thread stopped", timeout=5)
        self.assertGreaterEqual(status["thr_onhold"], 2)
        yield self.admin.call("vx.kill", name=self.name, pid=0,
                              sig=int(signal.SIGCONT))
        yield self.waitStatus(self.name, lambda s: s["thr_onhold"] == 0,
                              "every thread running again", timeout=5)

    @defer.inlineCallbacks
    def test_init(self):
        """
        Pid 1 is the VPS's init: SIGKILL stops the VPS, and it is reported
        stopped.
        """
        yield self.admin.call("vx.kill", name=self.name, pid=1,
                              sig=int(signal.SIGKILL))
        status = yield self.waitStopped(self.name)
        self.assertEqual(status["nproc"], 0)


class LoadTests(RunningHelpers, DaemonTestCase):
    """
    vx.load and the load fields of vx.status for a VPS with one busy task.
    """

    @defer.inlineCallbacks
    def test_busyTask(self):
        name = yield self.newVps(start=True)
        # A busy loop left running in the background by a shell that exits
        # (the VPS's boot is over: the init sleeps, nothing else runs).
        yield self.execIn(name, "sh -c 'exec </dev/null >/dev/null 2>&1;"
                                " while :; do :; done &'")
        # What the daemon's 5-second timer samples: the busy loop.
        counts = yield self.daemon._sampleLoads()
        self.assertEqual(counts, {name: 1})
        # One sample of one runnable task for 5 s is 0.08, 0.02 and 0.01,
        # as the kernel's own load average.
        loads = self.daemon.parts.loads
        loads._record(counts)
        self.assertEqual((yield self.admin.call("vx.load", name=name)),
                         {"1m": "0.08", "5m": "0.02", "15m": "0.01"})
        status = yield self.status(name)
        self.assertEqual((status["load1m"], status["load5m"],
                          status["load15m"]), ("0.08", "0.02", "0.01"))
        self.assertGreaterEqual(status["thr_running"], 1)
        # A stopped VPS has no load; sampling forgets it.
        yield self.admin.call("vx.kill", name=name, pid=1,
                              sig=int(signal.SIGKILL))
        yield self.waitStopped(name)
        yield loads._sample()
        self.assertEqual((yield self.admin.call("vx.load", name=name)),
                         {"1m": "0.00", "5m": "0.00", "15m": "0.00"})


class LockTests(RunningHelpers, DaemonTestCase):
    """
    The per-VPS lock.
    """

    @defer.inlineCallbacks
    def test_lockFreeWhileExecRuns(self):
        """
        A long vx.exec holds the VPS's lock only until its command runs
        (tests.test_execlock: a stop meanwhile): while it runs, another
        vx.exec of that VPS answers, and the other calls keep answering (on
        that VPS and on others): all of them before the exec ends, which it
        does only when the test lets it.
        """
        name = yield self.newVps(start=True)
        other = yield self.newVps(start=True)
        initPid = (yield self.status(name))["initpid"]
        release = "/proc/%d/root/tmp/release" % (initPid,)
        longExec = self.execIn(
            name, "sh -c 'touch /tmp/began; until [ -e /tmp/release ]; do"
                  " sleep 0.05; done; echo released'")
        began = "/proc/%d/root/tmp/began" % (initPid,)
        deadline = time.monotonic() + 15
        # The lock is released once the worker says the command runs.
        while not os.path.exists(began) or self.daemon.parts.locks.held():
            self.assertLess(time.monotonic(), deadline, "the exec never began"
                            " (or kept the lock)")
            yield pause(0.02)
        self.assertEqual((yield self.execIn(name, "echo meanwhile")),
                         "meanwhile\n")
        yield self.admin.call("vxdb.xid.get", name=name)
        yield self.assertRunning(name)
        self.assertEqual((yield self.execIn(other, "echo free")), "free\n")
        self.assertFalse(longExec.called, "the exec ended by itself")
        self.assertEqual(self.daemon.parts.locks.held(), [])
        # Made inside, by the VPS's root, with LXC's own tool (host root
        # has no id in an unprivileged VPS's idmapped root to create it).
        yield threads.deferToThread(
            subprocess.run, ["lxc-attach", "-P", self.config.lxcpath, "-n",
                             name, "--", "touch", "/tmp/release"],
            check=True, timeout=30)
        self.assertTrue(os.path.exists(release))
        self.assertEqual((yield longExec), "released\n")
        self.assertEqual(self.daemon.parts.locks.held(), [])
        self.assertEqual((yield self.execIn(name, "echo again")), "again\n")


class OwnerTests(RunningHelpers, DaemonTestCase):
    """
    Owner checks on running VPSes.
    """

    @defer.inlineCallbacks
    def test_nonOwner(self):
        """
        The owner may start, exec and kill; someone else with the same
        capabilities gets MENOVPS for everything, as for a missing VPS.
        """
        caps = ("INIT", "EXEC", "INFO")
        owner = yield self.makeUser("alice", USER_PASSWORD, caps)
        stranger = yield self.makeUser("bob", USER_PASSWORD, caps)
        name = yield self.newVps(owner="alice")
        yield self.assertFault(MENOVPS, stranger.call("vx.start", name=name))
        yield self.assertRunning(name, False)
        yield owner.call("vx.start", name=name)
        self.assertEqual((yield self.execIn(name, "echo mine", owner)),
                         "mine\n")
        for method, args in (("vx.exec", {"command": "true"}),
                             ("vx.kill", {"pid": 1, "sig": 9}),
                             ("vx.stop", {}), ("vx.reboot", {}),
                             ("vx.restart", {}), ("vx.status", {}),
                             ("vx.load", {})):
            yield self.assertFault(MENOVPS, stranger.call(
                method, name=name, **args))
        yield self.assertRunning(name)
        yield owner.call("vx.kill", name=name, pid=1, sig=9)
        yield self.waitStopped(name)


class NetworkTests(RunningHelpers, DaemonTestCase):
    """
    A VPS's own network.
    """

    def fetch(self, address, port, path):
        """
        An HTTP/1.0 GET from the host to C{address}; fire with the body.
        """
        def get():
            with socket.create_connection((address, port), timeout=5) as s:
                s.sendall(b"GET %s HTTP/1.0\r\n\r\n" % (path.encode(),))
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            return data.split(b"\r\n\r\n", 1)[1].decode()
        return threads.deferToThread(get)

    @defer.inlineCallbacks
    def test_hostReachesVps(self):
        """
        The host connects over TCP to a server inside the VPS on its
        address; a second VPS sees only its own interfaces and address.
        """
        first, second = testAddress(), testAddress()
        name = yield self.newVps()
        yield self.admin.call("vxdb.nx.addr.set", name=name, addr=first,
                              netmask="255.255.255.0")
        yield self.admin.call("vx.start", name=name)
        www = os.path.join(self.config.vbasedir, name, "upper", "www")
        os.makedirs(www)
        token = os.urandom(8).hex()
        with open(os.path.join(www, "token"), "w") as f:
            f.write(token)
        # busybox httpd puts itself in the background.
        yield self.execIn(name, "httpd -p %s:8080 -h /www" % (first,))
        self.assertEqual((yield self.fetch(first, 8080, "/token")), token)

        other = yield self.newVps()
        yield self.admin.call("vxdb.nx.addr.set", name=other, addr=second,
                              netmask="255.255.255.0")
        yield self.admin.call("vx.start", name=other)
        links = yield self.execIn(other, "ip -o link")
        self.assertEqual(sorted(line.split(":")[1].strip().split("@")[0]
                                for line in links.splitlines()),
                         ["eth0", "lo"])
        addresses = yield self.execIn(other, "ip -o -4 addr")
        self.assertIn(second + "/24", addresses)
        self.assertNotIn(first, addresses)
        self.assertNotIn(second, (yield self.execIn(name, "ip -o -4 addr")))

    @defer.inlineCallbacks
    def test_noAddressOnlyLoopback(self):
        name = yield self.newVps(start=True)
        links = yield self.execIn(name, "ip -o link")
        self.assertEqual([line.split(":")[1].strip()
                          for line in links.splitlines()], ["lo"])


class SurvivalTests(RunningHelpers, DaemonTestCase):
    """
    VPSes outlive the daemon.
    """

    def freePort(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    @defer.inlineCallbacks
    def spawnTwistd(self):
        """
        Run the daemon as C{twistd -n vcd} on this test's directories;
        fire with (process, client) once it answers.
        """
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        if not os.access(twistd, os.X_OK):
            self.fail("%s missing: install Twisted in the venv" % (twistd,))
        port = self.freePort()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        environment = dict(os.environ, PYTHONPATH=root)
        out = open(os.path.join(self.base, "twistd.log"), "wb")
        self.addCleanup(out.close)
        process = subprocess.Popen(
            [twistd, "-n", "--pidfile=", "vcd", "--datadir",
             self.config.datadir, "--vbasedir", self.config.vbasedir,
             "--listen", "tcp:%d:interface=127.0.0.1" % (port,)],
            cwd=self.base, env=environment, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT)
        self.addCleanup(self.reap, process)
        client = self.client("admin", self.admin.password)
        client.url = "http://127.0.0.1:%d/RPC2" % (port,)
        deadline = time.monotonic() + 30
        while True:
            try:
                yield client.callBare("vcd.login")
                return process, client
            except (OSError, Fault):
                if process.poll() is not None or time.monotonic() > deadline:
                    with open(out.name) as f:
                        self.fail("twistd vcd did not come up: %s"
                                  % (f.read()[-2000:],))
                yield pause(0.1)

    def reap(self, process):
        if process.poll() is None:
            process.kill()
        process.wait()

    @defer.inlineCallbacks
    def test_kill9(self):
        """
        A daemon killed with SIGKILL leaves its VPSes running; a new daemon
        sees them running with their uptime, and can exec in and stop
        them.
        """
        yield self.stopDaemon()
        process, client = yield self.spawnTwistd()
        names = [self.vpsName(), self.vpsName()]
        for name in names:
            yield client.call("vx.create", name=name, template="busybox")
            yield client.call("vxdb.init.set", name=name, halt="/bin/true",
                              timeout=1)
            yield client.call("vx.start", name=name)
        started = time.monotonic()
        before = {}
        for name in names:
            before[name] = yield client.call("vx.status", name=name)
        with open("/proc/%d/task/%d/children" % (process.pid,
                                                 process.pid)) as f:
            workers = [int(pid) for pid in f.read().split()]
        # (Its lxcfs, if it started one, is no worker.)
        workers = [pid for pid in workers
                   if b"vcd.kernel.worker" in _cmdline(pid)]
        self.assertEqual(len(workers), 1, "the kernel worker")
        process.send_signal(signal.SIGKILL)
        yield threads.deferToThread(process.wait)
        # Its kernel worker sees its input close and exits.
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % (workers[0],)):
            self.assertLess(time.monotonic(), deadline, "worker left")
            yield pause(0.1)
        yield pause(1.2)
        yield self.startDaemon()
        for name in names:
            status = yield self.status(name)
            self.assertTrue(status["running"], status)
            self.assertEqual(status["initpid"], before[name]["initpid"])
            self.assertTrue(
                1 <= status["uptime"] <= time.monotonic() - started + 2,
                status)
        self.assertEqual((yield self.execIn(names[0], "echo alive")),
                         "alive\n")
        yield self.admin.call("vx.stop", name=names[0])
        yield self.assertRunning(names[0], False)
        yield self.assertRunning(names[1])
