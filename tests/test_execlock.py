"""
vx.exec and the VPS lock, on real VPSes (busybox containers through a real
daemon): the lock is held only until the command runs, so a stop or a
setter's live change proceeds while a long command runs; the command ends
with its VPS and leaves nothing behind (checked against the host's /proc
and cgroup files, and the kernel worker's children and pipes); a frozen
VPS (SCHED_PAUSE) refuses a command at once.
"""

import os
import time

from twisted.internet import defer, reactor

from tests.harness import DaemonTestCase, Fault
from tests.running import RunningHelpers, containerCgroups, pause
from tests.test_contextflags import _freezerState
from vcd.api.method import APPLIED_NOW

MEEXEC = 1000
MESTOPPED = 300

#: The exec timeout of these tests: a command that waited for it would
#: make them fail at their much shorter deadline.
EXEC_TIMEOUT = 600
#: How long a stop, a live change or a refusal may take here.
DEADLINE = 60

#: The command left running: its argv, as the host's /proc shows it.
SLEEP = "sleep 1000"


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _pidNamespace(pid):
    return os.readlink("/proc/%d/ns/pid" % (pid,))


def _processes():
    """
    The host's processes: C{(pid, argv bytes, pid namespace)}, those that
    vanish while read left out.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            found.append((pid, _read("/proc/%d/cmdline" % (pid,)),
                          _pidNamespace(pid)))
        except OSError:
            continue
    return found


def _inNamespace(namespace):
    """
    The pids and argvs of the host's processes in pid namespace
    C{namespace}.
    """
    return [(pid, argv) for pid, argv, ns in _processes()
            if ns == namespace]


def _workerPid():
    """
    The pid of this test's kernel worker: the child of this process
    running C{vcd.kernel.worker}.
    """
    me = os.getpid()
    pids = []
    for pid, argv, _ in _processes():
        if b"vcd.kernel.worker" not in argv:
            continue
        try:
            stat = _read("/proc/%d/stat" % (pid,)).decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            pids.append(pid)
    if len(pids) != 1:
        raise AssertionError("expected one kernel worker child, found %r"
                             % (pids,))
    return pids[0]


def _workerState(pid):
    """
    What a running command adds to the kernel worker: its children, and
    its descriptors that are pipes.
    """
    children = set()
    for task in os.listdir("/proc/%d/task" % (pid,)):
        children.update(_read("/proc/%d/task/%s/children"
                              % (pid, task)).split())
    fds = "/proc/%d/fd" % (pid,)
    pipes = 0
    for fd in os.listdir(fds):
        try:
            pipes += os.readlink(os.path.join(fds, fd)).startswith("pipe:")
        except OSError:
            pass
    return {"children": sorted(int(c) for c in children), "pipes": pipes}


def _cgroupProcesses(name):
    """
    The pids in the cgroups LXC made for VPS C{name} (the empty cgroups a
    stopped VPS may leave are the kernel worker's to remove later).
    """
    pids = []
    for top in containerCgroups(name):
        for directory, _, files in os.walk(top):
            if "cgroup.procs" in files:
                try:
                    pids.extend(_read(os.path.join(
                        directory, "cgroup.procs")).split())
                except OSError:
                    pass
    return pids


def _within(d, seconds, what):
    """
    C{d}, failing with an AssertionError saying C{what} if it has no result
    within C{seconds}.
    """
    def late(failure):
        failure.trap(defer.TimeoutError)
        raise AssertionError("%s: no answer within %ds" % (what, seconds))
    return d.addTimeout(seconds, reactor).addErrback(late)


class ExecLockTests(RunningHelpers, DaemonTestCase):
    """
    A long vx.exec does not keep the VPS's lock.
    """

    timeout = 180

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        self.config.execTimeout = EXEC_TIMEOUT
        self.name = yield self.newVps(start=True)
        status = yield self.status(self.name)
        self.namespace = _pidNamespace(status["initpid"])

    @defer.inlineCallbacks
    def faultOf(self, d):
        """
        @return: a Deferred firing with the L{Fault} C{d} fails with.
        """
        try:
            result = yield d
        except Fault as f:
            return f
        self.fail("expected a fault, got %r" % (result,))

    @defer.inlineCallbacks
    def startSleep(self):
        """
        vx.exec L{SLEEP} in the VPS; return its Deferred once the command
        runs there (seen in the VPS's pid namespace on the host).
        """
        running = self.execIn(self.name, SLEEP)
        deadline = time.monotonic() + DEADLINE
        while not any(argv.split(b"\0")[:2] == SLEEP.encode().split()
                      for _, argv in _inNamespace(self.namespace)):
            if running.called or time.monotonic() > deadline:
                self.fail("%r not seen running in %s" % (SLEEP, self.name))
            yield pause(0.05)
        return running

    @defer.inlineCallbacks
    def test_stopDuringExec(self):
        """
        vx.stop while a command runs: the VPS stops well before the exec
        timeout, the exec fails at once with MEEXEC 1000 + 128 + the
        signal that ended the command, saying the VPS stopped; no process
        of the VPS is left on the host, and the kernel worker holds no
        child or pipe more than before.
        """
        worker = _workerPid()
        before = _workerState(worker)
        running = yield self.startSleep()
        self.assertNotEqual(_workerState(worker), before)
        begun = time.monotonic()
        yield _within(self.admin.call("vx.stop", name=self.name), DEADLINE,
                      "vx.stop during vx.exec")
        fault = yield _within(self.faultOf(running), DEADLINE,
                              "vx.exec after the stop")
        self.assertLess(time.monotonic() - begun, DEADLINE)
        signals = {MEEXEC + 128 + s: s for s in (9, 15)}
        self.assertIn(fault.code, signals, fault.message)
        self.assertIn("killed by signal %d" % (signals[fault.code],),
                      fault.message)
        self.assertRegex(fault.message, "virtual server '%s' (stopped"
                         " meanwhile|is being stopped)" % (self.name,))
        yield self.assertRunning(self.name, False)
        self.assertEqual(_inNamespace(self.namespace), [])
        self.assertEqual(_cgroupProcesses(self.name), [])
        self.assertEqual(_workerState(worker), before)
        self.assertEqual(self.daemon.parts.locks.held(), [])

    @defer.inlineCallbacks
    def test_setterDuringExec(self):
        """
        A setter's live change while a command runs applies now: SCHED_PAUSE
        freezes the VPS at once (the host's freezer says so), and its
        removal thaws it.
        """
        running = yield self.startSleep()
        reply = yield _within(self.admin.call(
            "vxdb.vx.flags.add", name=self.name, flag="SCHED_PAUSE"),
            DEADLINE, "vxdb.vx.flags.add during vx.exec")
        self.assertEqual(reply, APPLIED_NOW)
        self.assertEqual(_freezerState(self.name), "FROZEN")
        reply = yield _within(self.admin.call(
            "vxdb.vx.flags.remove", name=self.name, flag="SCHED_PAUSE"),
            DEADLINE, "vxdb.vx.flags.remove during vx.exec")
        self.assertEqual(reply, APPLIED_NOW)
        self.assertEqual(_freezerState(self.name), "THAWED")
        self.assertFalse(running.called)
        yield self.admin.call("vx.stop", name=self.name)
        yield _within(self.faultOf(running), DEADLINE,
                      "vx.exec after the stop")

    @defer.inlineCallbacks
    def test_frozen(self):
        """
        vx.exec on a frozen VPS is MESTOPPED at once (not after the exec
        timeout), saying it is frozen and how to thaw it; the command did
        not run; once thawed, commands run.
        """
        yield self.admin.call("vxdb.vx.flags.add", name=self.name,
                              flag="SCHED_PAUSE")
        self.assertEqual(_freezerState(self.name), "FROZEN")
        begun = time.monotonic()
        fault = yield _within(self.assertFault(
            MESTOPPED, self.execIn(self.name, "touch /tmp/ran"),
            "frozen (SCHED_PAUSE)"), DEADLINE, "vx.exec on a frozen VPS")
        self.assertLess(time.monotonic() - begun, DEADLINE)
        self.assertIn("vxdb.vx.flags.remove", fault.message)
        yield self.admin.call("vxdb.vx.flags.remove", name=self.name,
                              flag="SCHED_PAUSE")
        self.assertEqual(_freezerState(self.name), "THAWED")
        status = yield self.status(self.name)
        self.assertFalse(os.path.exists(
            "/proc/%d/root/tmp/ran" % (status["initpid"],)))
        self.assertEqual((yield self.execIn(self.name, "echo thawed")),
                         "thawed\n")
