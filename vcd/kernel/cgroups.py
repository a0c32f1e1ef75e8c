# -*- test-case-name: tests.test_kernel_interface,tests.test_vx_methods -*-
"""
The cgroups LXC leaves behind a container: removed after every start (by
the kernel worker, once idle) and when a VPS is removed.
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
