# -*- test-case-name: tests.test_contextflags -*-
"""
Context flags and context capabilities on a running VPS, and where a
start needs them (the LXC lines are L{vcd.kernel.contextconfig}'s):

  - SCHED_PAUSE freezes the VPS: a VPS started with it is frozen as soon
    as its init runs (its boot waits until the flag is removed); adding
    or removing it on a running VPS freezes or thaws it at once. A stop
    thaws it first, so that its halt command runs.
  - The lxcfs views (VIRT_MEM, VIRT_LOAD, VIRT_CPU) and the time namespace
    (VIRT_UPTIME) are set up when the VPS starts: a change applies at the
    next start; a start whose views lxcfs cannot serve is refused.
  - HIDE_NETIF and HIDE_MOUNT are always in force.
  - RAW_ICMP: ICMP datagram sockets (ping_group_range) change at once on a
    running VPS; its raw ICMP sockets (bounding set, seccomp) at the next
    start. SET_UTSNAME is a seccomp rule: the next start.

A live change the kernel refuses answers "applies at the next start"
with the kernel's reason (what VXDB holds is applied by the next start).
"""

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from vcd.api.interfaces import ILiveChange
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.faults import MESYS, VCDFault
from vcd.kernel.errors import KernelError
from vcd.kernel.contextconfig import VIEWS
from vcd.vxdb import settings, tables

log = Logger()

#: Flags every VPS has whether they are set or not, and why.
ALWAYS_IN_FORCE = {
    "HIDE_NETIF": "every virtual server has its own network namespace",
    "HIDE_MOUNT": "every virtual server has its own mount namespace under"
                  " pivot_root",
}
#: Why a flag applies only at the next start.
_AT_START = dict(
    {flag: "lxcfs views are mounted when the virtual server starts"
     for flag in VIEWS},
    VIRT_UPTIME="its time namespace is made when it starts")
_NOT_RUNNING = "%s (the virtual server is not running)" % (NEXT_START,)


def refuseUnservedFlags(features, name, flags):
    """
    Refuse to start VPS C{name} with a flag whose lxcfs views are not
    served now (lxcfs stopped since the flag was set).

    @raise VCDFault: MESYS naming the flag and why.
    """
    for flag in sorted(set(flags) & set(VIEWS)):
        ok, why = features.support("flag", flag)
        if not ok:
            raise VCDFault(MESYS, "cannot start %r: its flag %s cannot be"
                           " enforced: %s (remove it with"
                           " vxdb.vx.flags.remove, or have lxcfs serve)"
                           % (name, flag, why))


@defer.inlineCallbacks
def afterStart(services, name, flags, ccaps):
    """
    Right after VPS C{name} started: let its groups ping if it has
    RAW_ICMP, and freeze it if it has SCHED_PAUSE. If either fails, stop
    it: it must not run without what VXDB says.

    @raise VCDFault: MESYS saying what failed.
    """
    kernel = services.kernel
    try:
        if "RAW_ICMP" in ccaps:
            what = "RAW_ICMP (ping_group_range)"
            yield kernel.setPingGroups(name, True)
        if "SCHED_PAUSE" in flags:
            what = "SCHED_PAUSE (freeze)"
            yield kernel.freeze(name)
    except KernelError as e:
        yield kernel.hardStop(name)
        raise VCDFault(MESYS, "%r was stopped: %s could not be applied: %s"
                       % (name, what, e))


@defer.inlineCallbacks
def thawToStop(services, name):
    """
    Thaw VPS C{name} if it is frozen, so that its halt command can run.
    """
    if (yield services.kernel.isFrozen(name)):
        log.info("{name} is frozen (SCHED_PAUSE): thawed to stop it",
                 name=name)
        yield services.kernel.unfreeze(name)


@defer.inlineCallbacks
def _applyIfRunning(call, table, apply):
    """
    If the VPS of C{call} runs, C{apply} the set of names C{table} now
    holds for it (a Deferred-returning kernel call).

    @return: a Deferred firing with None once applied, or with the reply
        saying why it applies at the next start.
    """
    if not (yield call.services.kernel.isRunning(call.vps.name)):
        return _NOT_RUNNING
    names = yield call.services.db.read(settings.setMembers, table,
                                        call.vps.xid)
    try:
        yield apply(names)
    except KernelError as e:
        return "%s (the kernel refused it now: %s)" % (NEXT_START, e)
    return None


@implementer(ILiveChange)
class FlagChange:
    """
    The live change of C{vxdb.vx.flags.add} and C{.remove}.
    """

    doc = ("SCHED_PAUSE applies at once (a running virtual server is frozen"
           " or thawed); HIDE_NETIF and HIDE_MOUNT are always in force; the"
           " other flags (lxcfs views, time namespace) apply at the next"
           " start.")

    @defer.inlineCallbacks
    def __call__(self, call, args):
        flag = args["flag"]
        if flag in ALWAYS_IN_FORCE:
            if call.method.name.endswith(".remove"):
                return ("%s (removed from VXDB, but %s stays in force: it"
                        " cannot be lifted here: %s)" % (
                            APPLIED_NOW, flag, ALWAYS_IN_FORCE[flag]))
            return "%s (%s is always in force: %s)" % (
                APPLIED_NOW, flag, ALWAYS_IN_FORCE[flag])
        if flag not in ("SCHED_PAUSE", ""):
            return "%s (%s)" % (NEXT_START, _AT_START.get(
                flag, "it is read when the virtual server starts"))
        kernel = call.services.kernel
        refused = yield _applyIfRunning(
            call, tables.FLAGS, lambda flags: (
                kernel.freeze if "SCHED_PAUSE" in flags
                else kernel.unfreeze)(args["name"]))
        if refused:
            return refused
        if flag:
            return APPLIED_NOW
        return ("%s (SCHED_PAUSE applied now: thawed; the lxcfs views and"
                " the time namespace are set up when it starts)"
                % (NEXT_START,))


@implementer(ILiveChange)
class CcapChange:
    """
    The live change of C{vxdb.vx.ccaps.add} and C{.remove}.
    """

    doc = ("RAW_ICMP's ICMP datagram sockets (ping_group_range) apply at"
           " once; its raw ICMP sockets and SET_UTSNAME (the capability"
           " bounding set and the seccomp filter, which a running virtual"
           " server keeps) at the next start.")

    @defer.inlineCallbacks
    def __call__(self, call, args):
        ccap = args["ccap"]
        if ccap not in ("RAW_ICMP", ""):
            return ("%s (a running virtual server's seccomp filter cannot"
                    " change)" % (NEXT_START,))
        kernel = call.services.kernel
        refused = yield _applyIfRunning(
            call, tables.CCAPS, lambda ccaps: kernel.setPingGroups(
                args["name"], "RAW_ICMP" in ccaps))
        if refused:
            return refused
        return ("%s (ICMP datagram sockets, net.ipv4.ping_group_range,"
                " applied now; raw ICMP sockets and SET_UTSNAME, held by"
                " the capability bounding set and the seccomp filter, at"
                " the next start)" % (NEXT_START,))
