# -*- test-case-name: tests.test_kernel_interface -*-
"""
The records of L{vcd.kernel.fake.FakeKernel}: a L{FakeVPS} per VPS (its
configuration, whether it runs, its processes and the knobs tests script
it with) and a L{FakeProcess} per process of it.
"""

from vcd.kernel.netdev import RECEIVE, TRANSMIT, InterfaceCounters

__all__ = ["FakeProcess", "FakeVPS"]


class FakeProcess:
    """
    A process of a L{FakeVPS}.

    @ivar vpid: its pid inside the VPS.
    @ivar pid: its pid on the host.
    @ivar state: its (only) thread's state letter: C{"S"}, C{"R"}, C{"D"},
        C{"T"}.
    @ivar endedBy: the signal that ended it, or None.
    """

    def __init__(self, vpid, pid, state="S"):
        self.vpid = vpid
        self.pid = pid
        self.state = state
        self.endedBy = None
        self._running = None  # the Deferred of the command it runs


class FakeVPS:
    """
    What the fake knows of one VPS (container), and the knobs that script
    it. Obtain one with L{FakeKernel.vps}; the knobs survive restarts.

    @ivar config: the configuration text the last start wrote, or None if
        it was never started.
    @ivar root: the L{vcd.kernel.idmap.RootSpec} the last start was given.
    @ivar cgroup: the cgroup files written since its last start (key to
        value).
    @ivar rlimits: the rlimits set on its processes since its last start
        (limit name to C{(soft, hard)}).
    @ivar running: whether it runs.
    @ivar processes: a dict from vpid to L{FakeProcess}, while it runs.
    @ivar domainname: its NIS domain name (C{"(none)"} after a start).
    @ivar frozen: whether it is frozen (L{FakeKernel.freeze}); a start or
        a stop thaws it.
    @ivar startedAt: the reactor's time at its start.
    @ivar files: a dict from path to the text C{cat} shows.
    @ivar startFailures: knob: messages; each start takes the first and
        fails with it (a L{KernelError}, as when an init exits at once).
    @ivar ignoresHalt: knob: its init ignores halt, poweroff and reboot
        (like an init without signal handlers): only a hard stop or
        SIGKILL stops it.
    @ivar haltDelay: knob: seconds from a halt or reboot to the stop.
    @ivar refusesHardStop: knob: a hard stop leaves it running.
    @ivar interfaces: knob: the L{InterfaceCounters} its network
        namespace shows while it runs (its loopback, all zero).
    @ivar addresses: the addresses L{FakeKernel.setAddress} put on its
        eth0 since its start, to C{(prefix, broadcast)}.
    """

    def __init__(self, name):
        self.name = name
        self.config = None
        self.root = None
        self.cgroup = {}
        self.rlimits = {}
        self.running = False
        self.processes = {}
        self.domainname = "(none)"
        self.hostname = name
        self.frozen = False
        self.startedAt = 0
        self.files = {}
        self.startFailures = []
        self.ignoresHalt = False
        self.haltDelay = 1.0
        self.refusesHardStop = False
        self.interfaces = [InterfaceCounters(
            "lo", dict.fromkeys(RECEIVE, 0), dict.fromkeys(TRANSMIT, 0))]
        self.addresses = {}
        self._nextVpid = 1
        self._halting = None
        self._waiters = []

    @property
    def init(self):
        """
        Its init L{FakeProcess}, or None when it is stopped.
        """
        return self.processes.get(1)
