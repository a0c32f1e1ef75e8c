# -*- test-case-name: tests.test_kernel_interface,tests.test_kernel_lxc -*-
"""
L{IVPSKernel} provided by liblxc through the cffi binding L{vcd.kernel._lxc}.

Only cheap queries and stops run in-process, each on the daemon's dedicated
thread pool (never the reactor's default pool, which also resolves names).
Operations that fork (start, attach) are sent to the kernel worker process
(L{vcd.kernel.worker}): liblxc forks the calling process, which is unsafe in
a threaded daemon.
"""

import os
import shutil

from twisted.internet import defer, task, utils
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from vcd.kernel import pinggroups
from vcd.kernel.containerqueries import (
    activeTaskCounts, cgroupItem, cgroupItems, containerRunning,
    containerState, hardStop, hostVeth, initPid, interfaceCounters,
    liblxcVersion, setCgroupItem, setCgroupItems, signalVps, vpsStatus)
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.freezer import freeze, isFrozen, stateWithFreezer
from vcd.kernel.liveaddress import AddressCommands, NoNetworkDevice
from vcd.kernel.processlimits import setProcessLimit
from vcd.kernel.worker.ampcommands import (Barrier, Exec, SetDomainName,
                                          SetHostName, Start)

from vcd.kernel.interfaces import IVPSKernel

# The blocking functions live in vcd.kernel.containerqueries,
# vcd.kernel.freezer and vcd.kernel.processlimits; they stay importable
# from here.
__all__ = ["LXCKernel", "KernelError", "AlreadyRunning", "RootMissing",
           "containerState", "containerRunning", "liblxcVersion", "hardStop",
           "initPid", "interfaceCounters", "freeze", "isFrozen",
           "activeTaskCounts", "vpsStatus", "signalVps", "cgroupItem",
           "setCgroupItem", "cgroupItems", "setCgroupItems",
           "setProcessLimit"]


class _Once:
    """
    Calls C{function} once, the first time L{passing} is called.
    """

    def __init__(self, function):
        self._function = function

    def passing(self, passthrough):
        """
        Call the function if it was not yet called; return C{passthrough}.
        """
        function, self._function = self._function, None
        if function is not None:
            function()
        return passthrough


@implementer(IVPSKernel)
class LXCKernel:
    """
    The kernel layer over liblxc, with each VPS a container named after it
    in a private C{lxcpath}.

    Queries and stops run on a dedicated thread pool; start and attach,
    which fork, run in the single-threaded kernel worker process
    (L{vcd.kernel.worker}).

    @ivar lxcpath: the directory holding the VPS containers' configurations.
    """

    def __init__(self, lxcpath, threadpool, reactor, worker=None):
        """
        @param lxcpath: the private LXC path (not the distribution's
            C{/var/lib/lxc}).
        @param threadpool: a started L{twisted.python.threadpool.ThreadPool}
            dedicated to kernel queries.
        @param reactor: the reactor the results are delivered in.
        @param worker: the L{vcd.kernel.worker.client.KernelWorker}.
        """
        self.lxcpath = lxcpath
        self._threadpool = threadpool
        self._reactor = reactor
        self.worker = worker
        self._addresses = AddressCommands(reactor)
        self._nsenter = shutil.which("nsenter") or "/usr/bin/nsenter"

    def _inPool(self, f, *args):
        return deferToThreadPool(self._reactor, self._threadpool, f, *args)

    def isRunning(self, name):
        """
        See L{IVPSKernel.isRunning}. An unknown VPS is not running.
        """
        return self._inPool(containerRunning, self.lxcpath, name)

    def state(self, name):
        """
        See L{IVPSKernel.state}; C{"FROZEN"} when its cgroup freezer says
        so.
        """
        return self._inPool(stateWithFreezer, self.lxcpath, name)

    @defer.inlineCallbacks
    def start(self, name, configText, root=None, check=0.001):
        """
        See L{IVPSKernel.start}.
        """
        response = yield self.worker.callRemote(
            Start, lxcpath=self.lxcpath, name=name, config=configText,
            rootKind=root.kind if root else "",
            rootPaths=list(root.paths) if root else [],
            idBase=root.idBase if root else 0,
            idCount=root.idCount if root else 0,
            mountPoints=list(root.mountPoints) if root else [],
            settle=float(check))
        return response["initPid"]

    @defer.inlineCallbacks
    def _inUtsNamespace(self, name, command, **arguments):
        pid = yield self._inPool(initPid, self.lxcpath, name)
        if not pid:
            raise KernelError("%s is not running" % (name,))
        yield self.worker.callRemote(command, initPid=pid, **arguments)

    def setDomainName(self, name, domainname):
        """
        See L{IVPSKernel.setDomainName}.
        """
        return self._inUtsNamespace(name, SetDomainName,
                                    domainname=domainname)

    def setHostName(self, name, hostname):
        """
        See L{IVPSKernel.setHostName}.
        """
        return self._inUtsNamespace(name, SetHostName, hostname=hostname)

    @defer.inlineCallbacks
    def execute(self, name, argv, timeout, cap, env, attached=None):
        """
        See L{IVPSKernel.execute}. The worker attaches the command as it
        handles the request; a L{Barrier} sent after it answers once it
        has (C{attached} is called then, unless the command's own answer,
        a failed attach, came first).
        """
        result = self.worker.callRemote(
            Exec, lxcpath=self.lxcpath, name=name, argv=list(argv),
            timeout=float(timeout), cap=int(cap), env=list(env))
        if attached is not None:
            once = _Once(attached)
            result.addBoth(once.passing)
            self.worker.callRemote(Barrier).addCallbacks(
                once.passing, lambda failure: None)
        response = yield result
        return {"status": response["status"],
                "output": response["output"].decode("utf-8", "replace"),
                "truncated": response["truncated"],
                "timedOut": response["timedOut"],
                "notFound": response["notFound"]}

    def hardStop(self, name):
        """
        See L{IVPSKernel.hardStop}.
        """
        return self._inPool(hardStop, self.lxcpath, name)

    @defer.inlineCallbacks
    def waitStopped(self, name, timeout, interval=0.05):
        """
        See L{IVPSKernel.waitStopped}.
        """
        deadline = self._reactor.seconds() + timeout
        while True:
            running = yield self.isRunning(name)
            if not running:
                return True
            if self._reactor.seconds() >= deadline:
                return False
            yield task.deferLater(self._reactor, interval, lambda: None)

    def status(self, name):
        """
        See L{IVPSKernel.status}.
        """
        return self._inPool(vpsStatus, self.lxcpath, name)

    def freeze(self, name):
        """
        See L{IVPSKernel.freeze}.
        """
        return self._inPool(freeze, self.lxcpath, name)

    def unfreeze(self, name):
        """
        See L{IVPSKernel.unfreeze}.
        """
        return self._inPool(freeze, self.lxcpath, name, False)

    def isFrozen(self, name):
        """
        See L{IVPSKernel.isFrozen}: what the VPS's cgroup freezer says.
        """
        return self._inPool(isFrozen, self.lxcpath, name)

    @defer.inlineCallbacks
    def setPingGroups(self, name, allowed):
        """
        See L{IVPSKernel.setPingGroups}: written by an C{nsenter} that
        joins the VPS's network namespace (L{vcd.kernel.pinggroups}).
        """
        pid = yield self._inPool(initPid, self.lxcpath, name)
        if not pid:
            raise KernelError("%s is not running" % (name,))
        try:
            argv = yield self._inPool(pinggroups.command, pid, allowed,
                                      self._nsenter)
        except OSError as e:
            raise KernelError("%s: ping_group_range not set: %s" % (name, e))
        out, err, code = yield utils.getProcessOutputAndValue(
            argv[0], argv[1:], env={"PATH": os.defpath},
            reactor=self._reactor)
        if code != 0:
            raise KernelError("%s: ping_group_range not set: %s"
                              % (name, err.decode("utf-8", "replace")
                                 .strip() or code))

    def activeTasks(self, names):
        """
        See L{IVPSKernel.activeTasks}.
        """
        return self._inPool(activeTaskCounts, self.lxcpath, list(names))

    def kill(self, name, vpid, signum):
        """
        See L{IVPSKernel.kill}.
        """
        return self._inPool(signalVps, self.lxcpath, name, vpid, signum)

    def cgroupItem(self, name, key):
        """
        See L{IVPSKernel.cgroupItem}.
        """
        return self._inPool(cgroupItem, self.lxcpath, name, key)

    def setCgroupItem(self, name, key, value):
        """
        See L{IVPSKernel.setCgroupItem}.
        """
        return self._inPool(setCgroupItem, self.lxcpath, name, key, value)

    def interfaceCounters(self, name):
        """
        See L{IVPSKernel.interfaceCounters}.
        """
        return self._inPool(interfaceCounters, self.lxcpath, name)

    @defer.inlineCallbacks
    def _runningInit(self, name):
        pid = yield self._inPool(initPid, self.lxcpath, name)
        if not pid:
            raise KernelError("%s is not running" % (name,))
        return pid

    @defer.inlineCallbacks
    def _withVeth(self, name):
        pid = yield self._runningInit(name)
        veth = yield self._inPool(hostVeth, self.lxcpath, name)
        if veth is None:
            raise NoNetworkDevice("it has no network device (it started"
                                  " without addresses)")
        return pid, veth

    @defer.inlineCallbacks
    def setAddress(self, name, address, prefix, broadcast=""):
        """
        See L{IVPSKernel.setAddress}.
        """
        pid, veth = yield self._withVeth(name)
        yield self._addresses.setAddress(pid, veth, address, prefix,
                                         broadcast)

    @defer.inlineCallbacks
    def removeAddress(self, name, address=None):
        """
        See L{IVPSKernel.removeAddress}.
        """
        pid, veth = yield self._withVeth(name)
        removed = yield self._addresses.removeAddress(pid, veth, address)
        return removed

    def cgroupItems(self, name, keys):
        """
        See L{IVPSKernel.cgroupItems}.
        """
        return self._inPool(cgroupItems, self.lxcpath, name, list(keys))

    def setCgroupItems(self, name, items):
        """
        See L{IVPSKernel.setCgroupItems}.
        """
        return self._inPool(setCgroupItems, self.lxcpath, name, list(items))

    def setProcessLimit(self, name, limit, soft, hard):
        """
        See L{IVPSKernel.setProcessLimit}.
        """
        return self._inPool(setProcessLimit, self.lxcpath, name, limit,
                            soft, hard)
