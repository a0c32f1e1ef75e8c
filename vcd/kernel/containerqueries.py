# -*- test-case-name: tests.test_kernel_lxc,tests.test_kernel_interface -*-
"""
The blocking queries and writes on one LXC container, through the cffi
binding of liblxc and /proc: its state, its init's pid, its cgroup files,
its interface counters, its processes' status and signals, and a hard
stop. None of them forks; L{vcd.kernel.lxc.LXCKernel} runs each on its
query thread pool.
"""

import os
import signal
from contextlib import contextmanager

from vcd.kernel import netdev, procfs
from vcd.kernel.binding import ffi, lib, openContainer as _open
from vcd.kernel.errors import KernelError

__all__ = ["containerState", "containerRunning", "liblxcVersion",
           "hardStop", "initPid", "cgroupItem", "setCgroupItem",
           "cgroupItems", "setCgroupItems", "interfaceCounters", "hostVeth",
           "activeTaskCounts", "vpsStatus", "signalVps"]


@contextmanager
def _running(lxcpath, name):
    """
    The container object of C{name}, which must run, for the block.

    @raise KernelError: if it does not run.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            raise KernelError("%s is not running" % (name,))
        yield c
    finally:
        lib.lxc_container_put(c)


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


def hostVeth(lxcpath, name):
    """
    The host-side device of a running container's veth, as its LXC
    monitor made it (never what the VPS says of its own interfaces).
    Blocking; no fork.

    @return: its name, or None if the container has none (it started
        without addresses) or does not run.
    """
    c = _open(lxcpath, name)
    try:
        if not c.is_running(c):
            return None
        value = c.get_running_config_item(c, b"lxc.net.0.veth.pair")
        if value == ffi.NULL:
            return None
        try:
            return ffi.string(value).decode("utf-8", "replace") or None
        finally:
            lib.free(value)
    finally:
        lib.lxc_container_put(c)


def cgroupItem(lxcpath, name, key):
    """
    Read cgroup file C{key} (for example C{"memory.max"}) of a running
    container. Blocking; no fork.

    @raise KernelError: if it does not run or the file cannot be read.
    """
    with _running(lxcpath, name) as c:
        size = c.get_cgroup_item(c, key.encode(), ffi.NULL, 0)
        if size < 0:
            raise KernelError("%s: cannot read cgroup %s" % (name, key))
        buffer = ffi.new("char[]", size + 1)
        if c.get_cgroup_item(c, key.encode(), buffer, size + 1) < 0:
            raise KernelError("%s: cannot read cgroup %s" % (name, key))
        return ffi.string(buffer).decode("utf-8", "replace")


def setCgroupItem(lxcpath, name, key, value):
    """
    Write C{value} to cgroup file C{key} of a running container. Blocking;
    no fork.

    @raise KernelError: if it does not run or the kernel refuses it.
    """
    setCgroupItems(lxcpath, name, [(key, value)])


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
    with _running(lxcpath, name) as c:
        values = {}
        for key in keys:
            buffer = ffi.new("char[]", 4096)
            size = c.get_cgroup_item(c, key.encode(), buffer, 4096)
            values[key] = (ffi.string(buffer).decode("utf-8", "replace")
                           if 0 <= size < 4096 else None)
        return values


def setCgroupItems(lxcpath, name, items):
    """
    Write C{(key, value)} pairs to the cgroup files of a running container
    in order, in one open of it. Blocking; no fork.

    @raise KernelError: if it does not run or the kernel refuses a value
        (the ones before it stay written).
    """
    with _running(lxcpath, name) as c:
        for key, value in items:
            if not c.set_cgroup_item(c, key.encode(), value.encode()):
                raise KernelError("%s: the kernel refused %s = %s"
                                  % (name, key, value))


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
