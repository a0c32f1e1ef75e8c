# -*- test-case-name: tests.test_mountinfo,tests.test_vxdb_methods -*-
"""
Reading this host's facts from /proc and /sys for
L{vcd.kernel.hostfeatures.HostFeatures.detect}: the cgroup layout and
its controllers, whether a file or a kernel feature exists, and the
kernel's id lists (C{"0-3,6"}).
"""

import os

from vcd.kernel.mountinfo import DEFAULT_PATH, readMountinfo

__all__ = ["detectCgroups", "cgroupMounts", "controllerHas", "pathExists",
           "seccompAvailable", "readIdList", "parseIdList"]


def detectCgroups(root="/"):
    """
    Detect the cgroup layout: pure v2, pure v1 or hybrid.

    @return: C{(layout, controllers)}.
    """
    base = os.path.join(root, "sys/fs/cgroup")
    v2controllers = _readWords(os.path.join(base, "cgroup.controllers"))
    if v2controllers is not None:
        return "v2", set(v2controllers)
    controllers = set()
    for _, fstype, options in cgroupMounts(
            os.path.join(root, DEFAULT_PATH.lstrip("/"))):
        if fstype == "cgroup":
            controllers.update(o for o in options if o in (
                "cpu", "cpuacct", "cpuset", "memory", "pids", "freezer",
                "blkio", "devices"))
    unified = _readWords(os.path.join(base, "unified", "cgroup.controllers"))
    if unified is not None:
        return "hybrid", controllers | set(unified)
    return "v1", controllers


def cgroupMounts(mountinfo=DEFAULT_PATH):
    """
    The cgroup hierarchies mounted here.

    @return: a list of C{(mount point, "cgroup" or "cgroup2", [super
        options])}.
    """
    try:
        mounts = readMountinfo(mountinfo)
    except OSError:
        return []
    return [(m.mountPoint, m.fsType, list(m.superOptions))
            for m in mounts if m.fsType in ("cgroup", "cgroup2")]


def controllerHas(root, layout, controller, v1file, v2file):
    """
    Whether a cgroup file of C{controller} exists: v1 files at the top of
    its hierarchy; v2 files (absent from the root cgroup) in any cgroup
    one level down.
    """
    base = os.path.join(root, "sys/fs/cgroup")
    if layout == "v2":
        try:
            entries = os.listdir(base)
        except OSError:
            return False
        return any(os.path.exists(os.path.join(base, e, v2file))
                   for e in entries)
    for mountpoint, fstype, options in cgroupMounts(
            os.path.join(root, DEFAULT_PATH.lstrip("/"))):
        if fstype == "cgroup" and controller in options:
            return os.path.exists(os.path.join(root, mountpoint.lstrip("/"),
                                               v1file))
    return False


def pathExists(root, path):
    """
    Whether C{path} (relative) exists under C{root}.
    """
    return os.path.exists(os.path.join(root, path))


def _lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def _readWords(path):
    try:
        with open(path) as f:
            return f.read().split()
    except OSError:
        return None


def seccompAvailable(root):
    """
    Whether the kernel under C{root} has seccomp (its status says so).
    """
    for line in _lines(os.path.join(root, "proc/self/status")):
        if line.startswith("Seccomp:"):
            return True
    return False


def readIdList(path):
    """
    Parse a kernel CPU list such as C{0-3,6}.
    """
    words = _readWords(path)
    if not words:
        return []
    return parseIdList(words[0])


def parseIdList(text):
    """
    Parse a kernel id list (C{"0-3,6"}) into a sorted list of ints.

    @raise ValueError: if the text is not such a list.
    """
    ids = set()
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError("not a list of ids: %r" % (text,))
        first, last = int(low), int(high) if dash else int(low)
        if last < first or last > 4095:
            raise ValueError("bad range %r" % (part,))
        ids.update(range(first, last + 1))
    return sorted(ids)
