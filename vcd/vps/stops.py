# -*- test-case-name: tests.test_lifecycle_fake -*-
"""
The stops asked through the API, remembered until the VPS's post-stop hook
has reported, so that a reboot going on when the stop came cannot start
the VPS again.
"""

#: How long after a stop its post-stop hook (vshelper's helper.restart and
#: helper.shutdown) is taken to be that stop's: the hook runs as soon as
#: liblxc has seen the VPS stop, within a second or two.
HOOK_WINDOW = 60.0


class RequestedStops:
    """
    The VPSes a stop asked through the API (vx.stop, vx.restart,
    vg.vx.stop...) is stopping or has stopped, until their post-stop hook
    has reported.

    liblxc runs a VPS's post-stop hook only after the VPS is seen stopped,
    so the hook of a VPS that was rebooting (vx.reboot, or reboot run
    inside) when a stop came calls helper.restart and helper.shutdown after
    the stop has answered. Without this record they would ask for, and
    make, a start the stop cancelled.

    One per daemon: the C{stops} of its L{vcd.api.call.Services}.
    """

    def __init__(self, reactor):
        self._reactor = reactor
        # xid -> the reactor time after which the record is stale, or None
        # while the stop runs.
        self._until = {}

    def begin(self, xid):
        """
        A stop of VPS C{xid} begins.
        """
        # Records whose hook never came are dropped here, not kept for ever.
        now = self._reactor.seconds()
        for stale in [other for other, until in self._until.items()
                      if until is not None and now > until]:
            del self._until[stale]
        self._until[xid] = None

    def end(self, xid):
        """
        The stop of VPS C{xid} is done: its hook, unless it already
        reported while the stop ran, is expected within L{HOOK_WINDOW}
        seconds.
        """
        if xid in self._until:
            self._until[xid] = self._reactor.seconds() + HOOK_WINDOW

    def abandon(self, xid):
        """
        The stop of VPS C{xid} failed: it still runs.
        """
        self._until.pop(xid, None)

    def isRequested(self, xid):
        """
        @return: whether a stop of VPS C{xid} runs or ended less than
            L{HOOK_WINDOW} seconds ago, its hook not yet heard.
        """
        if xid not in self._until:
            return False
        until = self._until[xid]
        if until is not None and self._reactor.seconds() > until:
            del self._until[xid]
            return False
        return True

    def take(self, xid):
        """
        The post-stop hook of VPS C{xid} reported (helper.shutdown): forget
        its stop.

        @return: whether a stop had been requested (L{isRequested}).
        """
        requested = self.isRequested(xid)
        self._until.pop(xid, None)
        return requested
