# -*- test-case-name: tests.test_rootfs -*-
"""
What in this process's mount namespace uses files beneath a directory:
mounts, overlay layers and loop devices, which keep a VPS directory from
being removed.
"""

import os

from vcd.kernel.mountinfo import DEFAULT_PATH, readMountinfo


def _under(path, real):
    """
    Whether C{path} is C{real} or lies beneath it (both normalised).
    """
    return path == real or path.startswith(real.rstrip("/") + "/")


def _loopBackingFiles(sysblock="/sys/block"):
    """
    @return: C{(device, backing file)} for each loop device in use.
    """
    try:
        names = os.listdir(sysblock)
    except OSError:
        return []
    files = []
    for name in names:
        if not name.startswith("loop"):
            continue
        try:
            with open(os.path.join(sysblock, name, "loop", "backing_file"),
                      encoding="utf-8", errors="surrogateescape") as f:
                files.append(("/dev/" + name, f.read().rstrip("\n")))
        except OSError:
            continue
    return files


def mountsUnder(path, mountinfo=DEFAULT_PATH):
    """
    List what in this process's mount namespace uses files at or beneath
    C{path}: mount points there, overlay mounts whose lower, upper or work
    directory is there, and loop devices backed by a file there. Mounts
    made inside a VPS's own mount namespace (its root filesystem, for one)
    are not visible here: whether a VPS is running is for the caller to
    check.

    @param mountinfo: the mount table to read.
    @return: a list of strings naming each use (mount points are plain
        paths).
    """
    real = os.path.realpath(path)
    found = []
    for mount in readMountinfo(mountinfo):
        if _under(mount.mountPoint, real):
            found.append(mount.mountPoint)
            continue
        if mount.fsType != "overlay":
            continue
        for option in mount.superOptions:
            key, _, value = option.partition("=")
            if key in ("lowerdir", "upperdir", "workdir") and any(
                    _under(p, real) for p in value.split(":")):
                found.append("overlay on %s (%s)" % (mount.mountPoint, option))
    for device, backing in _loopBackingFiles():
        if _under(backing, real):
            found.append("%s backed by %s" % (device, backing))
    return found
