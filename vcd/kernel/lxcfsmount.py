# -*- test-case-name: tests.test_lxcfs -*-
"""
The blocking checks on lxcfs and its process, for
L{vcd.kernel.lxcfs.LxcfsService}: whether its FUSE mount is there and
serves, whether a VPS uses it, which pid serves it, and ending that
process. Nothing here ever unmounts anything.
"""

import os
import signal
import time

from vcd.kernel.contextconfig import MOUNT_POINT
from vcd.kernel.mountinfo import readMountinfo

__all__ = ["FSTYPE", "lxcfsMount", "problem", "usedByOthers", "lxcfsPid",
           "terminate", "waitStarted"]

#: The filesystem type of an lxcfs mount in mountinfo.
FSTYPE = "fuse.lxcfs"


def lxcfsMount(mountPoint, mountinfo="/proc/self/mountinfo"):
    """
    @return: the L{vcd.kernel.mountinfo.Mount} of lxcfs at C{mountPoint}
        in this mount namespace (the last one, which hides the others), or
        None.
    """
    found = None
    for mount in readMountinfo(mountinfo):
        if mount.mountPoint == mountPoint and mount.fsType == FSTYPE:
            found = mount
    return found


def problem(mountPoint=MOUNT_POINT):
    """
    Check whether lxcfs serves at C{mountPoint}: its FUSE mount is there
    and a view reads. Blocking (a file of the mount is read).

    @return: None if it serves, else why not (a sentence).
    """
    if lxcfsMount(mountPoint) is None:
        return "lxcfs is not mounted at %s" % (mountPoint,)
    try:
        with open(os.path.join(mountPoint, "proc", "meminfo"), "rb") as f:
            if not f.read(4096).startswith(b"MemTotal:"):
                return "lxcfs at %s serves no meminfo view" % (mountPoint,)
    except OSError as e:
        return ("lxcfs at %s does not answer (%s); its process died: the"
                " administrator must unmount it (umount %s) before a new"
                " one can serve" % (mountPoint, e.strerror, mountPoint))
    return None


def usedByOthers(mountPoint=MOUNT_POINT, proc="/proc"):
    """
    Whether a process in another mount namespace (a VPS) has the lxcfs
    mounted at C{mountPoint} (or a view of it) mounted. Blocking: reads
    every process's mountinfo.
    """
    ours = lxcfsMount(mountPoint)
    if ours is None:
        return False
    own = os.stat("/proc/self/ns/mnt").st_ino
    seen = {own}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        base = os.path.join(proc, entry)
        try:
            namespace = os.stat(os.path.join(base, "ns", "mnt")).st_ino
            if namespace in seen:
                continue
            seen.add(namespace)
            mounts = readMountinfo(os.path.join(base, "mountinfo"))
        except OSError:
            continue
        if any(m.device == ours.device and m.fsType == FSTYPE
               for m in mounts):
            return True
    return False


def lxcfsPid(pidFile, mountPoint):
    """
    The pid in C{pidFile} if it is an lxcfs serving C{mountPoint}, else
    None. Blocking.
    """
    try:
        with open(pidFile) as f:
            pid = int(f.read().split()[0])
        with open("/proc/%d/cmdline" % (pid,), "rb") as f:
            argv = f.read().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    if os.path.basename(argv[0]) == b"lxcfs" and \
            os.fsencode(mountPoint) in argv:
        return pid
    return None


def terminate(pid, mountPoint, timeout, clock=time.monotonic,
              sleep=time.sleep):
    """
    Tell lxcfs C{pid} to end (SIGTERM, through a pidfd: never another
    process that got its pid) and wait until it has unmounted
    C{mountPoint} (at once; the process itself ends a few seconds later,
    once its loadavg thread wakes). Blocking.

    @return: whether it unmounted within C{timeout} seconds.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        signal.pidfd_send_signal(fd, signal.SIGTERM)
    except ProcessLookupError:
        pass
    finally:
        os.close(fd)
    deadline = clock() + timeout
    while lxcfsMount(mountPoint) is not None:
        if clock() > deadline:
            return False
        sleep(0.01)
    return True


def waitStarted(pid, mountPoint, timeout, clock=time.monotonic,
                sleep=time.sleep):
    """
    Wait until lxcfs C{pid} (a child of this process) serves at
    C{mountPoint} or has ended, at most C{timeout} seconds. Blocking.
    """
    deadline = clock() + timeout
    while problem(mountPoint) is not None and clock() < deadline:
        try:
            with open("/proc/%d/stat" % (pid,)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        sleep(0.01)
