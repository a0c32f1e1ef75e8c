# -*- test-case-name: tests.test_lxcfs -*-
"""
The blocking checks on lxcfs and its process, for
L{vcd.kernel.lxcfs.LxcfsService}: whether its FUSE mount is there and
serves, whether a VPS uses it, which pid serves it, ending that process,
and detaching a mount whose process is gone (the only unmount here: such a
mount answers nothing, and stands in the way of a new lxcfs).
"""

import errno
import os
import signal
import time

from vcd.kernel.binding import ffi, lib
from vcd.kernel.contextconfig import MOUNT_POINT
from vcd.kernel.mountinfo import readMountinfo

__all__ = ["FSTYPE", "lxcfsMount", "problem", "detachDead", "usedByOthers",
           "lxcfsPid", "terminate", "waitStarted"]

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
        return ("lxcfs at %s does not answer (%s)"
                % (mountPoint, e.strerror))
    return None


def _ended(mountPoint):
    """
    Whether the lxcfs mounted at C{mountPoint} lost its process: its FUSE
    connection answers ENOTCONN or ECONNABORTED (a live but busy lxcfs
    blocks instead).
    """
    if lxcfsMount(mountPoint) is None:
        return False
    try:
        # A read, not a stat: the kernel answers a stat from its cache.
        with open(os.path.join(mountPoint, "proc", "uptime"), "rb") as f:
            f.read(1)
    except OSError as e:
        return e.errno in (errno.ENOTCONN, errno.ECONNABORTED)
    return False


def detachDead(mountPoint=MOUNT_POINT):
    """
    Detach (C{MNT_DETACH}) every lxcfs mount at C{mountPoint} whose process
    has ended (killed, or gone with a machine that was copied or restored
    while it ran): such a mount answers every read with an error and keeps
    a new lxcfs from mounting there. A mount that answers is never
    touched. VPSes that mounted views of the dead one keep their (dead)
    copies until they restart. Blocking.

    @return: how many mounts were detached.
    """
    detached = 0
    while _ended(mountPoint):
        if lib.umount2(os.fsencode(mountPoint), lib.MNT_DETACH) != 0:
            raise OSError(ffi.errno, "umount2: %s" % (os.strerror(ffi.errno),))
        detached += 1
    return detached


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
