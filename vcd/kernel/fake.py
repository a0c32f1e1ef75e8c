# -*- test-case-name: tests.test_kernel_interface -*-
"""
L{IVPSKernel} in memory, for tests of the daemon that need no root and no
LXC: L{FakeKernel}. Deterministic; time passes only on the reactor it is
given (a L{twisted.internet.task.Clock} in tests).

Each VPS is a L{FakeVPS} (in L{vcd.kernel.fakevps}): its configuration
(written by a start), whether it runs, its processes (init is vpid 1, one
thread each with a state letter) and the knobs tests script it with. Its
live changes to a running VPS (cgroup files, rlimits, freezer, addresses)
are in L{vcd.kernel.fakelivechanges}. Commands run by
L{FakeKernel.execute} come from L{FakeKernel.commands}, a dict from program
name to a function, by default L{vcd.kernel.fakecommands.COMMANDS} (a small
busybox). A program is found by the last part of C{argv[0]}
(C{/sbin/halt} is C{halt}); C{PATH} is not consulted. Anything else is not
found (status 127, C{notFound}).

Init is busybox's: on SIGUSR1 or SIGUSR2 (halt, poweroff) it stops the VPS
L{FakeVPS.haltDelay} seconds later, on SIGTERM or SIGINT (reboot) too but
as a reboot, unless L{FakeVPS.ignoresHalt}. After a reboot the VPS stays
stopped, as with the daemon's post-stop hook (vshelper), which refuses
liblxc's own reboot so that the daemon starts the VPS again itself. Every
stop, whatever its cause, calls C{onStop(name, target)} with target
C{"stop"} or C{"reboot"}, as liblxc runs a VPS's post-stop hook with
C{LXC_TARGET}.

The fake answers with Deferreds that have already fired, except for what
takes time (a command that sleeps, L{FakeKernel.waitStopped}).
"""

import os
import signal

from twisted.internet import defer
from zope.interface import implementer

from vcd.kernel.interfaces import IVPSKernel
from vcd.kernel.fakecommands import COMMANDS
from vcd.kernel.fakelivechanges import FakeLiveChanges
from vcd.kernel.fakevps import FakeProcess, FakeVPS
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing

__all__ = ["FakeKernel", "FakeVPS", "FakeProcess"]

#: Signals whose default action does not end a process.
_HARMLESS = frozenset([0, signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH,
                       signal.SIGCONT])
_STOPPING = frozenset([signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN,
                       signal.SIGTTOU])
#: What busybox init does on a signal: stop the VPS with this target.
_INIT_HANDLERS = {signal.SIGUSR1: "stop", signal.SIGUSR2: "stop",
                  signal.SIGTERM: "reboot", signal.SIGINT: "reboot"}


@implementer(IVPSKernel)
class FakeKernel(FakeLiveChanges):
    """
    L{IVPSKernel} in memory (see the module's docstring for the model);
    its live changes to a running VPS are L{FakeLiveChanges}.

    @ivar commands: a dict from program name to C{f(kernel, vps, argv,
        env)} returning C{(status, output)} or a Deferred firing with it;
        add to it to script more commands.
    """

    def __init__(self, reactor, rootExists=os.path.isdir, onStop=None):
        """
        @param reactor: the clock for timeouts, delays and uptimes
            (C{seconds}, C{callLater}).
        @param rootExists: whether a directory a start needs exists. The
            default looks at the real filesystem (only a stat: the fake
            never writes files); pass C{set(paths).__contains__} to stay
            off the disk.
        @param onStop: called as C{onStop(name, target)} whenever a VPS
            stops, C{target} being C{"stop"} or C{"reboot"}.
        """
        self.reactor = reactor
        self.rootExists = rootExists
        self.onStop = onStop
        self.commands = dict(COMMANDS)
        self._vpses = {}
        self._nextPid = 1000

    def vps(self, name):
        """
        @return: the L{FakeVPS} called C{name}, made on first use (it exists
            as a container once a start wrote its configuration).
        """
        if name not in self._vpses:
            self._vpses[name] = FakeVPS(name)
        return self._vpses[name]

    def spawn(self, name, state="S"):
        """
        Add a process to running VPS C{name}, as if its init had started
        one.

        @param state: its thread's state (C{"R"} and C{"D"} count in
            L{activeTasks}).
        @return: the L{FakeProcess}.
        """
        vps = self._runningVps(name)
        vps._nextVpid += 1
        self._nextPid += 1
        process = FakeProcess(vps._nextVpid, self._nextPid, state)
        vps.processes[process.vpid] = process
        return process

    def command(self, program):
        """
        @return: the function of C{program} (a name or a path) in
            L{commands}, or None if it is not found.
        """
        return self.commands.get(program.rsplit("/", 1)[-1])

    def _runningVps(self, name):
        vps = self._vpses.get(name)
        if vps is None or not vps.running:
            raise KernelError("%s is not running" % (name,))
        return vps

    def _isRunning(self, name):
        vps = self._vpses.get(name)
        return vps is not None and vps.running

    def isRunning(self, name):
        """
        See L{IVPSKernel.isRunning}.
        """
        return defer.succeed(self._isRunning(name))

    def state(self, name):
        """
        See L{IVPSKernel.state}: C{"RUNNING"}, C{"FROZEN"} or C{"STOPPED"}.
        """
        if not self._isRunning(name):
            return defer.succeed("STOPPED")
        return defer.succeed("FROZEN" if self._vpses[name].frozen
                             else "RUNNING")

    def start(self, name, configText, root=None, check=0.001):
        """
        See L{IVPSKernel.start}.
        """
        for path in (root.paths if root else ()):
            if not self.rootExists(path):
                return defer.fail(RootMissing(path))
        vps = self.vps(name)
        vps.config = configText
        vps.root = root
        if vps.running:
            return defer.fail(AlreadyRunning("%s is already running"
                                             % (name,)))
        if vps.startFailures:
            return defer.fail(KernelError(vps.startFailures.pop(0)))
        self._nextPid += 1
        vps.running = True
        vps.processes = {1: FakeProcess(1, self._nextPid)}
        vps._nextVpid = 1
        vps.domainname = "(none)"
        vps.hostname = name
        vps.frozen = False
        vps.files["/proc/sys/net/ipv4/ping_group_range"] = "1\t0\n"
        vps.cgroup = {}
        vps.addresses = {}
        vps.rlimits = {}
        vps.startedAt = self.reactor.seconds()
        return defer.succeed(self._nextPid)

    def _stop(self, vps, target):
        """
        Stop C{vps}: every process of it is killed.
        """
        if not vps.running:
            return
        if vps._halting is not None and vps._halting.active():
            vps._halting.cancel()
        vps._halting = None
        vps.running = False
        vps.frozen = False
        processes, vps.processes = vps.processes, {}
        for process in processes.values():
            self._end(process, signal.SIGKILL)
        waiters, vps._waiters = vps._waiters, []
        for waiter in waiters:
            waiter.callback(True)
        if self.onStop is not None:
            self.onStop(vps.name, target)

    def setDomainName(self, name, domainname):
        """
        See L{IVPSKernel.setDomainName}.
        """
        try:
            self._runningVps(name).domainname = domainname
        except KernelError:
            return defer.fail()
        return defer.succeed(None)

    def setHostName(self, name, hostname):
        """
        See L{IVPSKernel.setHostName}.
        """
        try:
            self._runningVps(name).hostname = hostname
        except KernelError:
            return defer.fail()
        return defer.succeed(None)

    def execute(self, name, argv, timeout, cap, env, attached=None):
        """
        See L{IVPSKernel.execute}; C{attached} is called at once.
        """
        if attached is not None:
            attached()
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        command = self.command(argv[0])
        if command is None:
            return defer.succeed(_result(127, "", cap, notFound=True))
        process = self.spawn(name)
        process._running = defer.maybeDeferred(command, self, vps,
                                               list(argv), list(env))
        timedOut = []
        timer = None
        if not process._running.called:
            def expire():
                timedOut.append(True)
                self._end(process, signal.SIGKILL)
            timer = self.reactor.callLater(timeout, expire)

        def done(outcome):
            if timer is not None and timer.active():
                timer.cancel()
            vps.processes.pop(process.vpid, None)
            if process.endedBy is not None:
                outcome = (-process.endedBy, "")
            return _result(outcome[0], outcome[1], cap,
                           timedOut=bool(timedOut))

        def ended(failure):
            failure.trap(defer.CancelledError)
            return (-process.endedBy, "")
        return process._running.addErrback(ended).addCallback(done)

    def _end(self, process, signum):
        """
        End C{process} with signal C{signum}.
        """
        if process.endedBy is None:
            process.endedBy = signum
        if process._running is not None and not process._running.called:
            process._running.cancel()

    def deliver(self, vps, process, signum):
        """
        Deliver signal C{signum} to C{process} of running C{vps}, as
        L{kill} does.
        """
        if process.vpid == 1:
            if signum == signal.SIGKILL:
                self._stop(vps, "stop")
            elif signum in _STOPPING or signum == signal.SIGCONT:
                process.state = "T" if signum != signal.SIGCONT else "S"
            elif (signum in _INIT_HANDLERS and not vps.ignoresHalt
                  and vps._halting is None):
                vps._halting = self.reactor.callLater(
                    vps.haltDelay, self._stop, vps, _INIT_HANDLERS[signum])
            return
        if signum in _STOPPING:
            process.state = "T"
        elif signum == signal.SIGCONT:
            process.state = "S"
        elif signum not in _HARMLESS:
            vps.processes.pop(process.vpid, None)
            self._end(process, signum)

    def hardStop(self, name):
        """
        See L{IVPSKernel.hardStop}.
        """
        vps = self._vpses.get(name)
        if vps is None or not vps.running:
            return defer.succeed(True)
        if vps.refusesHardStop:
            return defer.succeed(False)
        self._stop(vps, "stop")
        return defer.succeed(True)

    def waitStopped(self, name, timeout):
        """
        See L{IVPSKernel.waitStopped}: fires as soon as the VPS stops, or
        after C{timeout} seconds of the reactor's time.
        """
        vps = self._vpses.get(name)
        if vps is None or not vps.running:
            return defer.succeed(True)
        d = defer.Deferred()
        vps._waiters.append(d)

        def expire():
            vps._waiters.remove(d)
            d.callback(False)
        timer = self.reactor.callLater(timeout, expire)

        def stopped(result):
            if timer.active():
                timer.cancel()
            return result
        return d.addCallback(stopped)

    def status(self, name):
        """
        See L{IVPSKernel.status}.
        """
        vps = self._vpses.get(name)
        states = []
        status = {"running": False, "nproc": 0, "uptime": 0, "initpid": 0}
        if vps is not None and vps.running:
            states = [p.state for p in vps.processes.values()]
            status = {"running": True, "nproc": len(states),
                      "uptime": max(0, int(self.reactor.seconds()
                                           - vps.startedAt)),
                      "initpid": vps.init.pid}
        status.update(thr_total=len(states), thr_running=states.count("R"),
                      thr_unintr=states.count("D"),
                      thr_onhold=states.count("T"))
        return defer.succeed(status)

    def activeTasks(self, names):
        """
        See L{IVPSKernel.activeTasks}.
        """
        return defer.succeed({
            name: sum(1 for p in self._vpses[name].processes.values()
                      if p.state in "RD")
            for name in names if self._isRunning(name)})

    def kill(self, name, vpid, signum):
        """
        See L{IVPSKernel.kill}. Init (vpid 1) ends, stopping the VPS, on
        SIGKILL only; it halts or reboots on busybox init's signals
        (unless L{FakeVPS.ignoresHalt}); other processes end on any
        signal whose default action is to end them.
        """
        try:
            vps = self._runningVps(name)
            if vpid == 0:
                # Init last: its end kills the others anyway.
                targets = sorted(vps.processes.values(),
                                 key=lambda p: -p.vpid)
            elif vpid in vps.processes:
                targets = [vps.processes[vpid]]
            else:
                raise KernelError("no process %d in %s" % (vpid, name))
        except KernelError:
            return defer.fail()
        for process in targets:
            if vps.running:
                self.deliver(vps, process, signum)
        return defer.succeed(len(targets))


def _result(status, output, cap, truncated=False, timedOut=False,
            notFound=False):
    data = output.encode("utf-8")
    return {"status": status,
            "output": data[:cap].decode("utf-8", "replace"),
            "truncated": truncated or len(data) > cap,
            "timedOut": timedOut, "notFound": notFound}
