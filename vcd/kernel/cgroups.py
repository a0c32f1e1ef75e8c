# -*- test-case-name: tests.test_kernel_interface,tests.test_vx_methods,tests.test_killdaemon -*-
"""
The cgroups LXC leaves behind a container: removed after every start (by
the kernel worker, once idle) and when a VPS is removed; and the caller of
a start, which liblxc moves into the container's monitor cgroup
(L{ownCgroups}, L{returnTo}).
"""

import os

from vcd.kernel.hostfeatures import cgroupMounts


def _containerCgroups(name, kinds=("monitor", "payload")):
    """
    Yield C{(mount point, path)} of the cgroups LXC made for container
    C{name} (C{lxc.KIND.NAME} and its numbered successors, for each of
    C{kinds}) at the top of every hierarchy.
    """
    prefixes = tuple("lxc.%s.%s" % (kind, name) for kind in kinds)
    for mountpoint, _, _ in cgroupMounts():
        try:
            entries = os.listdir(mountpoint)
        except OSError:
            continue
        for entry in entries:
            if entry in prefixes or any(
                    entry.startswith(p + "-") and entry[len(p) + 1:].isdigit()
                    for p in prefixes):
                yield mountpoint, os.path.join(mountpoint, entry)


def removeEmptyCgroups(name):
    """
    Remove the empty cgroups a failed start of container C{name} left
    behind (C{lxc.monitor.NAME*}, C{lxc.payload.NAME*}) at the top of
    every hierarchy. Only empty directories go (rmdir fails on a busy
    cgroup); no hierarchy is ever unmounted or remounted.

    Also the after-work of every start: liblxc cannot remove its monitor's
    cgroup while the monitor is in it, and numbers the next one on.
    """
    for _, path in _containerCgroups(name):
        try:
            os.rmdir(path)
        except OSError:
            pass


def releaseCgroups(name):
    """
    Remove the cgroups of container C{name}, which is stopped for good
    (its VPS is removed or renamed): first move what is left in its
    monitor cgroups to the top of their hierarchy, then remove the empty
    ones (see L{removeEmptyCgroups}).

    liblxc's daemonized start moves the process that called it (the
    kernel worker) into C{lxc.monitor.NAME} with the monitor, and it stays
    there after the container stopped, keeping that cgroup from being
    removed.
    """
    for mountpoint, path in _containerCgroups(name, ("monitor",)):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = f.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open(os.path.join(mountpoint, "cgroup.procs"),
                          "w") as f:
                    f.write(pid)
            except OSError:
                pass  # gone meanwhile
    removeEmptyCgroups(name)


def ownCgroups(proc="/proc/self/cgroup"):
    """
    The C{cgroup.procs} files of the cgroups this process is in, one per
    mounted hierarchy (before a start: see L{returnTo}).

    @return: a list of paths.
    """
    byHierarchy = {}
    try:
        with open(proc) as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                byHierarchy[controllers] = path
    except OSError:
        return []
    files = []
    for mountpoint, fstype, options in cgroupMounts():
        if fstype == "cgroup2":
            key = ""
        else:
            # "cpu,cpuacct" or "name=systemd": all among the options.
            key = next((k for k in byHierarchy if k and set(k.split(","))
                        <= set(options)), None)
        if key in byHierarchy:
            files.append(os.path.join(mountpoint,
                                      byHierarchy[key].lstrip("/"),
                                      "cgroup.procs"))
    return files


def returnTo(files):
    """
    Move this process back into the cgroups L{ownCgroups} listed. liblxc's
    start moves its caller into the new container's monitor cgroup
    (C{lxc.monitor.NAME}) and leaves it there: the daemon's kernel worker
    would stay in the last VPS's cgroups, counted in its limits, and keep
    a failed start's cgroup from being removed.
    """
    for path in files:
        try:
            with open(path, "w") as f:
                f.write("0")
        except OSError:
            pass
