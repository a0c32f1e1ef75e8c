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
import resource
import shutil
import signal
import time

from twisted.internet import defer, task, utils
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from vcd.kernel import netdev, pinggroups, procfs
from vcd.kernel.liveaddress import AddressCommands
from vcd.kernel.binding import ffi, lib, openContainer as _open
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.worker.ampcommands import (Exec, SetDomainName, SetHostName,
                                          Start)

from vcd.kernel.interfaces import IVPSKernel

__all__ = ["LXCKernel", "KernelError", "AlreadyRunning", "RootMissing",
           "containerState", "containerRunning", "liblxcVersion", "hardStop",
           "initPid", "interfaceCounters", "freeze", "isFrozen",
           "activeTaskCounts", "vpsStatus", "signalVps"]


def containerState(lxcpath, name):
    """
    Ask liblxc for the state of a container. Blocking.

    @param lxcpath: the directory holding the containers' configurations.
    @param name: the container's name.
    @return: the state in upper case as liblxc names it, for example
        C{"STOPPED"}, C{"RUNNING"}, C{"STARTING"}, C{"STOPPING"},
        C{"FROZEN"}. An unknown container is C{"STOPPED"}.
    """
    c = _open(lxcpath, name)
    try:
        state = c.state(c)
        if state == ffi.NULL:
            return "STOPPED"
        return ffi.string(state).decode("ascii")
    finally:
        lib.lxc_container_put(c)


def containerRunning(lxcpath, name):
    """
    Ask liblxc whether a container is running. Blocking.

    @return: C{True} if it is running; C{False} if it is stopped or unknown.
    """
    c = _open(lxcpath, name)
    try:
        return bool(c.is_running(c))
    finally:
        lib.lxc_container_put(c)


def _stateWithFreezer(lxcpath, name):
    state = containerState(lxcpath, name)
    if state == "RUNNING" and isFrozen(lxcpath, name):
        return "FROZEN"
    return state


def liblxcVersion():
    """
    @return: the version string of the liblxc the binding loaded.
    """
    return ffi.string(lib.lxc_get_version()).decode("ascii")


def hardStop(lxcpath, name):
    """
    Stop a container at once (SIGKILL of its init). Blocking; no fork.

    @return: whether it is stopped afterwards.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            return True
        c.stop(c)
        return not c.is_running(c)
    finally:
        lib.lxc_container_put(c)


def initPid(lxcpath, name):
    """
    @return: the host pid of a running container's init, or 0.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            return 0
        return max(0, c.init_pid(c))
    finally:
        lib.lxc_container_put(c)


def cgroupItem(lxcpath, name, key):
    """
    Read cgroup file C{key} (for example C{"memory.max"}) of a running
    container. Blocking; no fork.

    @raise KernelError: if it does not run or the file cannot be read.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            raise KernelError("%s is not running" % (name,))
        size = c.get_cgroup_item(c, key.encode(), ffi.NULL, 0)
        if size < 0:
            raise KernelError("%s: cannot read cgroup %s" % (name, key))
        buffer = ffi.new("char[]", size + 1)
        if c.get_cgroup_item(c, key.encode(), buffer, size + 1) < 0:
            raise KernelError("%s: cannot read cgroup %s" % (name, key))
        return ffi.string(buffer).decode("utf-8", "replace")
    finally:
        lib.lxc_container_put(c)


def setCgroupItem(lxcpath, name, key, value):
    """
    Write C{value} to cgroup file C{key} of a running container. Blocking;
    no fork.

    @raise KernelError: if it does not run or the kernel refuses it.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            raise KernelError("%s is not running" % (name,))
        if not c.set_cgroup_item(c, key.encode(), value.encode()):
            raise KernelError("%s: the kernel refused %s = %s"
                              % (name, key, value))
    finally:
        lib.lxc_container_put(c)


def interfaceCounters(lxcpath, name):
    """
    The counters of the network interfaces of a running container, from
    its init's C{/proc/<pid>/net/dev}. Blocking; no fork.

    @raise KernelError: if it does not run (or its init just exited).
    """
    pid = initPid(lxcpath, name)
    if not pid:
        raise KernelError("%s is not running" % (name,))
    try:
        return netdev.namespaceCounters(pid)
    except OSError as e:
        raise KernelError("%s: cannot read its interface counters: %s"
                          % (name, e.strerror))


def cgroupItems(lxcpath, name, keys):
    """
    Read several cgroup files of a running container in one open of it;
    None for a file that cannot be read. Blocking; no fork.

    @raise KernelError: if it does not run.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            raise KernelError("%s is not running" % (name,))
        values = {}
        for key in keys:
            buffer = ffi.new("char[]", 4096)
            size = c.get_cgroup_item(c, key.encode(), buffer, 4096)
            values[key] = (ffi.string(buffer).decode("utf-8", "replace")
                           if 0 <= size < 4096 else None)
        return values
    finally:
        lib.lxc_container_put(c)


def setCgroupItems(lxcpath, name, items):
    """
    Write C{(key, value)} pairs to the cgroup files of a running container
    in order, in one open of it. Blocking; no fork.

    @raise KernelError: if it does not run or the kernel refuses a value
        (the ones before it stay written).
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            raise KernelError("%s is not running" % (name,))
        for key, value in items:
            if not c.set_cgroup_item(c, key.encode(), value.encode()):
                raise KernelError("%s: the kernel refused %s = %s"
                                  % (name, key, value))
    finally:
        lib.lxc_container_put(c)


def setProcessLimit(lxcpath, name, limit, soft, hard):
    """
    Set rlimit C{limit} (a name such as C{"NOFILE"}) on every process of a
    running container: twice over its processes, so that one forked by a
    process not yet changed during the first pass is changed by the
    second. The container's configuration gets it too: liblxc's attach
    (vx.exec) gives an attached process the configured limits. Blocking.

    @return: the number of processes changed.
    @raise KernelError: if it does not run or the kernel refuses.
    """
    pid = initPid(lxcpath, name)
    if not pid:
        raise KernelError("%s is not running" % (name,))
    _configurePrlimit(os.path.join(lxcpath, name, "config"), limit, soft,
                      hard)
    limit = getattr(resource, "RLIMIT_" + limit)
    done = set()
    for _ in range(2):
        for t in procfs.vpsTasks(pid):
            if t.pid in done:
                continue
            try:
                resource.prlimit(t.pid, limit, (soft, hard))
            except ProcessLookupError:
                continue
            except (OSError, ValueError) as e:
                raise KernelError("%s: the kernel refused the limit on"
                                  " process %d: %s" % (name, t.vpid, e))
            done.add(t.pid)
    return len(done)


def _configurePrlimit(path, limit, soft, hard):
    """
    Replace the C{lxc.prlimit} line of C{limit} in configuration C{path}.
    """
    def text(value):
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)
    key = "lxc.prlimit." + limit.lower()
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines()
                     if l.split("=", 1)[0].strip() != key]
    except OSError as e:
        raise KernelError("cannot read the configuration %s: %s" % (path, e))
    lines.append("%s = %s:%s" % (key, text(soft), text(hard)))
    with open(path + ".live", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(path + ".live", path)


#: How long a freeze may take before it is reported failed (it waits for
#: every task to stop), and how often its state is read meanwhile.
FREEZE_TIMEOUT = 10.0
_FREEZE_POLL = 0.002


def _freezer(lxcpath, name):
    """
    The freezer files of a running container: C{(key written, value to
    freeze, value to thaw, key read, frozen line, thawed line)}.
    """
    try:
        cgroupItem(lxcpath, name, "freezer.state")
    except KernelError:
        return ("cgroup.freeze", "1", "0", "cgroup.events", "frozen 1",
                "frozen 0")
    return ("freezer.state", "FROZEN", "THAWED", "freezer.state", "FROZEN",
            "THAWED")


def isFrozen(lxcpath, name):
    """
    Whether a container is frozen (its cgroup's freezer says so; liblxc's
    state does not know of a freeze it did not do). Blocking.
    """
    try:
        files = _freezer(lxcpath, name)
        return files[4] in cgroupItem(lxcpath, name, files[3]).splitlines()
    except KernelError:
        return False  # not running


def freeze(lxcpath, name, frozen=True, timeout=FREEZE_TIMEOUT):
    """
    Freeze (or, with C{frozen} False, thaw) a running container and wait
    until it is, through its cgroup: v1's C{freezer.state}, or v2's
    C{cgroup.freeze} and C{cgroup.events}. (liblxc's own freeze() reads
    the state once a second: a freeze took a second.) Blocking; no fork.

    @raise KernelError: if it does not run, or is not frozen (thawed)
        within C{timeout} seconds.
    """
    key, freezeValue, thawValue, events, frozenLine, thawedLine = \
        _freezer(lxcpath, name)
    setCgroupItem(lxcpath, name, key, freezeValue if frozen else thawValue)
    done = frozenLine if frozen else thawedLine
    deadline = time.monotonic() + timeout
    while done not in cgroupItem(lxcpath, name, events).splitlines():
        if time.monotonic() > deadline:
            raise KernelError("%s: not %s within %ss" % (
                name, "frozen" if frozen else "thawed", timeout))
        time.sleep(_FREEZE_POLL)


def activeTaskCounts(lxcpath, names):
    """
    Count the runnable and uninterruptible tasks of each running container
    in one scan of /proc. Blocking.

    @return: a dict from name to count, for the running ones.
    """
    namespaces = {}
    for name in names:
        pid = initPid(lxcpath, name)
        ns = procfs.pidNamespace(pid) if pid else None
        if ns is not None:
            namespaces[ns] = name
    counts = {name: 0 for name in namespaces.values()}
    for ns, tasks in procfs.tasksByNamespace(namespaces).items():
        counts[namespaces[ns]] = sum(
            1 for t in tasks for s in t.states if s in "RD")
    return counts


def vpsStatus(lxcpath, name):
    """
    The status of a container: running, processes, uptime, thread counts.
    Blocking.
    """
    pid = initPid(lxcpath, name)
    if not pid:
        status = {"running": False, "nproc": 0, "uptime": 0, "initpid": 0}
        status.update(procfs.threadCounts([]))
        return status
    tasks = procfs.vpsTasks(pid)
    status = {"running": True, "nproc": len(tasks),
              "uptime": procfs.processUptime(pid), "initpid": pid}
    status.update(procfs.threadCounts(tasks))
    return status


def signalVps(lxcpath, name, vpid, signum):
    """
    Send a signal to processes of a running container: C{vpid} 0 means all
    of them, 1 its init, anything else the process with that pid inside
    the VPS. Uses pidfds so a recycled pid is never signalled. Blocking.

    @return: the number of processes signalled.
    @raise KernelError: if the container is stopped or has no such pid.
    """
    pid = initPid(lxcpath, name)
    if not pid:
        raise KernelError("%s is not running" % (name,))
    tasks = procfs.vpsTasks(pid)
    if vpid == 0:
        targets = [t.pid for t in tasks]
    else:
        targets = [t.pid for t in tasks if t.vpid == vpid]
        if not targets:
            raise KernelError("no process %d in %s" % (vpid, name))
    sent = 0
    for target in targets:
        try:
            fd = os.pidfd_open(target)
        except ProcessLookupError:
            continue
        try:
            signal.pidfd_send_signal(fd, signum)
            sent += 1
        except ProcessLookupError:
            pass
        finally:
            os.close(fd)
    return sent


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
        return self._inPool(_stateWithFreezer, self.lxcpath, name)

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
    def execute(self, name, argv, timeout, cap, env):
        """
        See L{IVPSKernel.execute}.
        """
        response = yield self.worker.callRemote(
            Exec, lxcpath=self.lxcpath, name=name, argv=list(argv),
            timeout=float(timeout), cap=int(cap), env=list(env))
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
    def setAddress(self, name, address, prefix, broadcast=""):
        """
        See L{IVPSKernel.setAddress}.
        """
        pid = yield self._runningInit(name)
        yield self._addresses.setAddress(pid, address, prefix, broadcast)

    @defer.inlineCallbacks
    def removeAddress(self, name, address=None):
        """
        See L{IVPSKernel.removeAddress}.
        """
        pid = yield self._runningInit(name)
        removed = yield self._addresses.removeAddress(pid, address)
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
