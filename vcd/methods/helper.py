# -*- test-case-name: tests.test_helper,tests.test_lifecycle_fake -*-
"""
The C{helper} namespace (manual chapter 10): what vshelper, called from the
VPSes' LXC hooks, tells the daemon. Only the HELPER capability may call it;
no owner checks.

A reboot requested from inside a VPS (its init calls reboot(2)) is
recorded by C{helper.restart}; C{helper.shutdown} then starts the VPS again,
once it has stopped, with the configuration VXDB holds at that moment. A
halt from inside records nothing, so the VPS stays stopped. Nor does a
reboot that a stop asked through the API overtook (vx.reboot, then
vx.stop): its hook, which liblxc runs only once the VPS is seen stopped,
may come after the stop answered, and is ignored
(L{vcd.vps.stops.RequestedStops}).
"""

from zope.interface import implementer
from twisted.internet import defer
from twisted.logger import Logger
from twisted.plugin import IPlugin

from vcd.api import arguments as A
from vcd.api.interfaces import IMethodNamespace
from vcd.vps.lifecycle import lockedAction, startVps
from vcd.api.method import OWNER_NONE, Method, Param
from vcd.vxdb.restarts import requestRestart, takeRestart
from vcd.vxdb.registry import requireNameOfXid

log = Logger()

#: How long helper.shutdown waits for a rebooting VPS to stop.
STOP_WAIT = 30.0


def _noted(call, cursor, args):
    name = requireNameOfXid(cursor, args["xid"])
    log.info("vshelper: {method} for {name}", method=call.method.name,
             name=name)


@defer.inlineCallbacks
def _restart(call, args):
    services, xid = call.services, args["xid"]
    if services.stops.isRequested(xid):
        name = yield services.db.read(requireNameOfXid, xid)
        log.info("vshelper: {name} rebooted, but a stop was asked meanwhile:"
                 " it stays stopped", name=name)
        return None
    name = yield services.db.transact(requestRestart, xid)
    log.info("vshelper: {name} asked for a reboot", name=name)
    return None


@defer.inlineCallbacks
def startAgain(services, xid, name):
    """
    Wait for a rebooting VPS to stop, then start it with the configuration
    VXDB holds now. Failures are logged: nobody waits for this.
    """
    try:
        stopped = yield services.kernel.waitStopped(name, STOP_WAIT)
        if not stopped:
            log.error("reboot of {name}: it did not stop within {t}s",
                      name=name, t=STOP_WAIT)
            return
        yield lockedAction(services, startVps, xid, name,
                           retryFor=STOP_WAIT)
        log.info("rebooted {name}", name=name)
    except Exception:
        log.failure("reboot of {name} failed", name=name)


@defer.inlineCallbacks
def _shutdown(call, args):
    services = call.services
    stopped = services.stops.take(args["xid"])
    name, restart = yield services.db.transact(takeRestart, args["xid"])
    services.loads.forget(name)
    if restart and not stopped:
        # Answer now: the hook calling us must exit before the VPS stops.
        services.reactor.callLater(0, startAgain, services, args["xid"], name)
    return None


_XID = [Param("xid", A.Int(2, 65534), doc="Context id")]


@implementer(IPlugin, IMethodNamespace)
class HelperNamespace:
    """
    The C{helper} namespace.
    """

    name = "helper"
    description = "Kernel helper methods, called by vshelper (chapter 10)"

    methods = (
        Method("helper.startup", "HELPER", OWNER_NONE, _XID, "nil",
               "A VPS is starting.", transaction=_noted,
               readOnly=True),
        Method("helper.netup", "HELPER", OWNER_NONE, _XID, "nil",
               "A VPS's network is up.", transaction=_noted,
               readOnly=True),
        Method("helper.restart", "HELPER", OWNER_NONE, _XID, "nil",
               "Record a reboot request from inside a VPS.",
               run=_restart),
        Method("helper.shutdown", "HELPER", OWNER_NONE, _XID, "nil",
               "A VPS stopped; start it again if it asked for a reboot.",
               run=_shutdown),
    )


helper = HelperNamespace()
