# -*- test-case-name: tests.test_kernel_interface,tests.test_vx_methods -*-
"""
The cgroups LXC leaves behind a container: removed after every start (by
the kernel worker, once idle) and when a VPS is removed; and the caller of
a start, which liblxc moves into the container's monitor cgroup
(L{ownCgroups}, L{returnTo}).
"""

import os

from vcd.kernel.hostfeatures import cgroupMounts


def removeEmptyCgroups(name):
    """
    Remove the empty cgroups a failed start of container C{name} left
    behind (C{lxc.monitor.NAME*}, C{lxc.payload.NAME*}) at the top of
    every hierarchy. Only empty directories go (rmdir fails on a busy
    cgroup); no hierarchy is ever unmounted or remounted.

    Also the after-work of every start: liblxc cannot remove its monitor's
    cgroup while the monitor is in it, and numbers the next one on.
    """
    prefixes = ("lxc.monitor.%s" % (name,), "lxc.payload.%s" % (name,))
    for mountpoint, _, _ in cgroupMounts():
        try:
            entries = os.listdir(mountpoint)
        except OSError:
            continue
        for entry in entries:
            if entry in prefixes or any(
                    entry.startswith(p + "-") and entry[len(p) + 1:].isdigit()
                    for p in prefixes):
                try:
                    os.rmdir(os.path.join(mountpoint, entry))
                except OSError:
                    pass


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
