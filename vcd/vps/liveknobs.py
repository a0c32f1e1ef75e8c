# -*- test-case-name: tests.test_liveknobs,tests.test_cpucontrol -*-
"""
Live changes of the CPU, memory and process knobs
(L{vcd.api.interfaces.ILiveChange}): the scheduler (and the flag
SCHED_HARD), the CPU set, the cgroup limits NPROC and RSS, and the
per-process limits, applied to a running VPS as soon as VXDB holds them.

Each reads what VXDB holds now (so a remove, or two changes racing, leave
the VPS as VXDB says) and writes it through the kernel layer, with the
same mapping a start uses (L{vcd.kernel.knobmap}). A VPS that is not
running, or a value the kernel refuses on the running VPS, is answered
with L{NEXT_START} and the reason; the change stays in VXDB either way.
"""

from twisted.internet import defer
from zope.interface import implementer

from vcd.api.interfaces import ILiveChange
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.kernel import knobmap
from vcd.kernel.errors import KernelError
from vcd.kernel.hostfeatures import PRLIMITS
from vcd.vxdb import running

NOT_RUNNING = "%s (the virtual server is not running)" % (NEXT_START,)
PRLIMIT_REMOVED = ("%s (its processes keep the limit they have; a start"
                   " gives them the host's default)" % (NEXT_START,))


@defer.inlineCallbacks
def _write(services, name, alternatives):
    """
    Write the first of C{alternatives} (lists of cgroup items) the kernel
    takes.
    """
    error = None
    for items in alternatives:
        try:
            yield services.kernel.setCgroupItems(name, items)
            return APPLIED_NOW
        except KernelError as e:
            error = e
    if not (yield services.kernel.isRunning(name)):
        return NOT_RUNNING
    return "%s (the kernel refused it on the running virtual server: %s)" % (
        NEXT_START, error)


@defer.inlineCallbacks
def applyScheduler(services, xid, name):
    """
    Give running VPS C{name} the scheduler VXDB holds for it (its bucket
    and flag SCHED_HARD).
    """
    cpu = yield services.db.read(running.cpuSettings, xid)
    features = services.features
    items = knobmap.schedItems(features.cgroupLayout, cpu.sched,
                               "SCHED_HARD" in cpu.flags, features.cpuBurst)
    answer = yield _write(services, name, [items])
    return answer


@defer.inlineCallbacks
def applyCpuset(services, xid, name):
    """
    Give running VPS C{name} the CPU set VXDB holds (every online CPU and
    memory node when none).
    """
    cpu = yield services.db.read(running.cpuSettings, xid)
    features = services.features
    items = knobmap.cpusetItems(cpu.cpuset, features.cpus, features.memNodes)
    answer = yield _write(services, name, [items])
    return answer


@defer.inlineCallbacks
def applyLimit(services, xid, name, limit):
    """
    Give running VPS C{name} limit C{limit} as VXDB holds it (no limit when
    it holds none): a cgroup file for NPROC and RSS, the rlimit of every
    process for the per-process limits.
    """
    values = yield services.db.read(running.limitOf, xid, limit)
    soft, hard = values if values is not None else (None, None)
    if limit in PRLIMITS:
        if values is None:
            return PRLIMIT_REMOVED
        pair = knobmap.rlimitPair(limit, soft, hard)
        try:
            yield services.kernel.setProcessLimit(name, limit, *pair)
        except KernelError as e:
            if not (yield services.kernel.isRunning(name)):
                return NOT_RUNNING
            return "%s (the kernel refused it on the running virtual" \
                   " server: %s)" % (NEXT_START, e)
        return APPLIED_NOW
    features = services.features
    answer = yield _write(services, name, knobmap.limitAlternatives(
        features.cgroupLayout, limit, soft, hard, features.swapAccounting))
    return answer


@implementer(ILiveChange)
class LiveScheduler:
    """
    vxdb.vx.sched.set and .remove on a running VPS.
    """

    doc = ("Applies at once to a running virtual server (its CFS quota,"
           " period, burst and weight).")

    def __call__(self, call, args):
        return applyScheduler(call.services, call.vps.xid, call.vps.name)


@implementer(ILiveChange)
class LiveCpuset:
    """
    vxdb.vx.cpuset.set and .remove on a running VPS.
    """

    doc = ("Applies at once to a running virtual server (its cgroup"
           " cpuset.cpus and cpuset.mems); the view of /proc/cpuinfo"
           " (virtualize) applies at the next start.")

    def __call__(self, call, args):
        d = applyCpuset(call.services, call.vps.xid, call.vps.name)
        if not args.get("virtualize"):
            return d
        # The CPUs are the VPS's now; its lxcfs views are mounted at start.
        return d.addCallback(lambda reply: reply if reply != APPLIED_NOW
                             else "%s (cpuset.cpus and cpuset.mems applied"
                             " now; the view of /proc/cpuinfo, virtualize,"
                             " at the next start)" % (NEXT_START,))


@implementer(ILiveChange)
class LiveLimit:
    """
    vxdb.vx.limit.set and .remove on a running VPS. A remove of every
    limit (an empty name) lifts each one the VPS can have.
    """

    doc = ("Applies at once to a running virtual server: NPROC and RSS to"
           " its cgroup, the per-process limits (NOFILE, CORE, ...) to"
           " every process it runs, and to those it starts later.")

    @defer.inlineCallbacks
    def __call__(self, call, args):
        limit = args["limit"]
        limits = [limit] if limit else sorted(PRLIMITS + ("NPROC", "RSS"))
        supported = [n for n in limits
                     if call.services.features.support("limit", n)[0]]
        answers = []
        for one in supported:
            answer = yield applyLimit(call.services, call.vps.xid,
                                      call.vps.name, one)
            answers.append(answer)
            if answer == NOT_RUNNING:
                return answer
        refused = [a for a in answers if a != APPLIED_NOW]
        return refused[0] if refused else APPLIED_NOW


@implementer(ILiveChange)
class LiveSchedHard:
    """
    vxdb.vx.flags.add and .remove: the flag SCHED_HARD changes the
    scheduler of a running VPS at once; for other flags, C{other} answers.
    """

    def __init__(self, other):
        self.other = other
        self.doc = ("SCHED_HARD applies at once to a running virtual"
                    " server. Other flags: %s" % (other.doc,))

    def __call__(self, call, args):
        flag = args.get("flag")
        if flag and flag != "SCHED_HARD":
            return self.other(call, args)
        d = applyScheduler(call.services, call.vps.xid, call.vps.name)
        if not flag:
            # A remove of every flag: the scheduler follows at once, the
            # other flags answer for the rest, unless the kernel refused
            # the scheduler's change, which the reply must say first.
            d.addCallback(self._withOthers, call, args)
        return d

    @defer.inlineCallbacks
    def _withOthers(self, scheduler, call, args):
        others = yield self.other(call, args)
        if scheduler in (APPLIED_NOW, NOT_RUNNING):
            return others
        return "%s; the other flags: %s" % (scheduler, others)
