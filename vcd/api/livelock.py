# -*- test-case-name: tests.test_livelock,tests.test_addresslive -*-
"""
Live changes run under the VPS's lock: the one place where the change a
setter committed to VXDB reaches the running VPS (L{Method.live
<vcd.api.method.Method>}, an L{vcd.api.interfaces.ILiveChange}).

A start reads VXDB, writes the LXC configuration and starts the VPS, all
holding the VPS's lock (L{vcd.api.locks}); a stop holds it until the VPS
is down. A live change made meanwhile would see a VPS that is not running
(yet, or any more) and answer "at the next start", while the start under
way had read the old value: the change would be lost until the
next-but-one start. So the live change waits for the lock (at most
L{LOCK_WAIT} seconds), and runs once the start or stop is over, on the
VPS as it then is. A VPS that stays busy longer gets the reply that the
change applies at its next start (VXDB has it already), saying why.

A live change runs holding the lock, so it must not take the lock of its
VPS itself, nor call anything that does (it would wait for itself).
"""

from vcd.api.locks import LOCK_WAIT
from vcd.api.method import NEXT_START
from vcd.faults import VCDFault

__all__ = ["LOCK_WAIT", "applyLive"]


def applyLive(call, args):
    """
    Run the live change of C{call.method} for the change it just
    committed, holding the lock of the VPS the call names (C{call.vps}).
    A method that names no VPS runs its live change as it is.

    @param args: the call's parsed arguments.
    @return: the live change's reply, or a Deferred firing with it (or
        with its failure); the busy reply when the lock stays held for
        L{LOCK_WAIT} seconds.
    """
    live = call.method.live
    if call.vps is None:
        return live(call, args)
    name = call.vps.name
    locks = call.services.locks

    def locked(_):
        return locks.runHeld(name, live, call, args)

    def busy(failure):
        # Only the wait's MEBUSY comes here, not the live change's faults.
        failure.trap(VCDFault)
        return ("%s (virtual server %r was busy starting, stopping or with"
                " another operation for %d s)" % (NEXT_START, name,
                                                   LOCK_WAIT))
    return locks.wait(name, LOCK_WAIT, brief=True).addCallbacks(locked,
                                                                 busy)
