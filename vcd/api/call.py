# -*- test-case-name: tests.test_dispatch_fake -*-
"""
What a method body sees: the authenticated call and the daemon's services.
"""

from zope.interface import implementer

from vcd.api.interfaces import IClientAddress
from vcd.api.locks import VPSLocks
from vcd.api.loginthrottle import LoginThrottle
from vcd.api.execslots import ExecSlots


class Services:
    """
    The daemon's parts that methods use, all declared here. Those that
    need start-up work (C{kernel}, C{features}, C{hostPaths}) are None
    until the daemon has started.

    @ivar reactor: the reactor (a fake clock in tests).
    @ivar db: the L{vcd.vxdb.database.VXDB}.
    @ivar kernel: an L{vcd.kernel.interfaces.IVPSKernel}.
    @ivar features: the L{vcd.kernel.hostfeatures.HostFeatures} of this host.
    @ivar config: the L{vcd.config.Configuration}.
    @ivar counters: the L{RequestCounters}.
    @ivar templates: the L{vcd.vps.templates.TemplateStore}.
    @ivar filesystem: a callable running a blocking function on the
        filesystem thread pool, returning a Deferred.
    @ivar locks: the L{vcd.api.locks.VPSLocks}.
    @ivar loads: the L{vcd.vps.loadavg.LoadTracker}, or None.
    @ivar hostPaths: the L{vcd.kernel.lxcconfig.HostPaths} of this host.
    @ivar pluginProblems: what was wrong with namespace plugins, one
        string each.
    @ivar stops: the L{vcd.vps.stops.RequestedStops}, the stops asked
        through the API whose post-stop hook has not reported yet.
    @ivar liveChanges: for each method that changes a VPS's configuration,
        what of it applies at once to a running VPS (set by the
        L{vcd.api.dispatch.Dispatcher}).
    @ivar throttle: the L{vcd.api.interfaces.ILoginThrottle}.
    @ivar helperSocket: the path of the daemon's Unix socket for vshelper
        (the only way in for the vshelper user), or None.
    @ivar execSlots: the L{vcd.api.execslots.ExecSlots}, the vx.exec
        commands running now.
    """

    def __init__(self, reactor, db, kernel, features, config, counters,
                 templates=None, filesystem=None, locks=None, loads=None,
                 hostPaths=None, pluginProblems=(), stops=None,
                 throttle=None, helperSocket=None):
        self.reactor = reactor
        self.db = db
        self.kernel = kernel
        self.features = features
        self.config = config
        self.counters = counters
        self.templates = templates
        self.filesystem = filesystem
        self.locks = locks if locks is not None else VPSLocks(reactor)
        self.loads = loads
        self.hostPaths = hostPaths
        self.pluginProblems = list(pluginProblems)
        self.stops = stops
        self.liveChanges = {}
        self.throttle = (throttle if throttle is not None
                         else LoginThrottle(reactor))
        self.helperSocket = helperSocket
        self.execSlots = ExecSlots()


class Call:
    """
    One authenticated method call.

    @ivar method: the L{vcd.api.method.Method}.
    @ivar user: the caller, a L{vcd.vxdb.users.User}.
    @ivar vps: the L{vcd.vxdb.registry.VPS} named by C{name} when the owner
        rule resolved one, else None.
    @ivar services: the L{Services}.
    @ivar clientAddress: the peer's address, as a string, for logs.
    """

    def __init__(self, method, user, vps, services, clientAddress):
        self.method = method
        self.user = user
        self.vps = vps
        self.services = services
        self.clientAddress = clientAddress


@implementer(IClientAddress)
class ClientAddress:
    """
    A client address given as values (for callers other than the HTTP
    site, and tests).
    """

    def __init__(self, host, port=0, localSocket=None):
        self.host = host
        self.port = port
        self._localSocket = localSocket

    def localSocket(self):
        """
        See L{IClientAddress.localSocket}.
        """
        return self._localSocket

    def __str__(self):
        return "%s:%s" % (self.host, self.port)


class RequestCounters:
    """
    The counters C{vcd.status} reports.
    """

    def __init__(self, startedAt):
        self.startedAt = startedAt
        self.requests = 0
        self.flogins = 0
        self.nomethod = 0
        self.faults = 0
