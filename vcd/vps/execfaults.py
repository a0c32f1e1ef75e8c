# -*- test-case-name: tests.test_lifecycle_fake,tests.test_execlock -*-
"""
What the faults of vx.exec (and of the commands vx.stop and vx.reboot run,
L{vcd.vps.lifecycle.execute}) say about the VPS: a frozen VPS refuses a
command at once, and a command killed by a signal says whether its VPS
stopped meanwhile.
"""

from twisted.internet import defer

from vcd.faults import MESTOPPED, VCDFault


@defer.inlineCallbacks
def refuseFrozen(services, name, program):
    """
    Refuse a command in a frozen VPS (SCHED_PAUSE, L{vcd.vps.contextflags}):
    it runs nothing, so the command would wait the whole exec timeout.

    @raise VCDFault: MESTOPPED if VPS C{name} is frozen, naming
        C{program} and how to thaw it.
    """
    if (yield services.kernel.isFrozen(name)):
        raise VCDFault(MESTOPPED, "virtual server %r is frozen (SCHED_PAUSE)"
                       ": %r cannot run in it; thaw it with"
                       " vxdb.vx.flags.remove (flag SCHED_PAUSE)"
                       % (name, program))


@defer.inlineCallbacks
def whyKilled(services, xid, name):
    """
    @param xid: the VPS's xid, or None if unknown.
    @return: a Deferred firing with what the fault of a command killed by
        a signal adds: that its VPS stopped, or is being stopped
        (L{vcd.vps.stops}), if so; else nothing.
    """
    if not (yield services.kernel.isRunning(name)):
        return " (virtual server %r stopped meanwhile)" % (name,)
    if xid is not None and services.stops.isRequested(xid):
        return " (virtual server %r is being stopped)" % (name,)
    return ""
