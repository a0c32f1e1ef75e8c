# -*- test-case-name: tests.test_hostmounts -*-
"""
The mounts the daemon makes on the host in the LXC directory of a VPS
(C{<lxcpath>/<name>}), each for a moment of its own, and their release
when a crash left them behind.

  - C{root}: the overlay root of an unprivileged VPS, from the worker's
    mount until the start (L{vcd.kernel.idmap.mergedRoot});
  - C{disk}: its filesystem (L{vcd.vps.disklimits}) while a start prepares
    it and until the start;
  - C{disk.old}: its old filesystem while its files are copied into a new
    one;
  - C{disk.live}: its filesystem while it grows under a running VPS;
  - C{disk.statfs}: its filesystem for the time of a statfs.

None of them is the VPS's: its mount namespace has its own copies. Each is
detached by whoever made it, but a daemon killed (or a machine copied)
meanwhile leaves it mounted, holding the loop device of the VPS's image:
every later start would wait for that device in vain, and C{vx.remove}
would find the VPS's files busy. L{releaseHostMounts} detaches them all,
for a stopped VPS: before each start prepares its filesystem, before its
files are removed, and at the daemon's start-up.
"""

import errno
import os
import stat

from vcd.kernel import diskimage
from vcd.kernel.idmap import detach, mergedRoot

#: How long a start, or a removal, waits for the filesystem of the VPS's
#: last run to be released by the kernel, in seconds.
RELEASE_TIMEOUT = 10.0

#: Where a VPS's filesystem is mounted, in its LXC directory.
DISK = "disk"

#: The suffixes of C{DISK} for the other mounts of that filesystem: while
#: its files are copied out of it, while it grows, for a statfs.
OLD_SUFFIX = ".old"
LIVE_SUFFIX = ".live"
STATFS_SUFFIX = ".statfs"


def diskMountPoint(lxcpath, name):
    """
    @return: where the filesystem of VPS C{name} is mounted on the host
        while it starts (the other mounts of it add a suffix).
    """
    return os.path.join(lxcpath, name, DISK)


def hostMountNames(lxcpath, name):
    """
    @return: the names, in the LXC directory of VPS C{name}, of the
        daemon's mount points: its root first (an overlay whose upper
        layer may be on its filesystem), then its filesystem's.
    """
    root = os.path.relpath(mergedRoot(lxcpath, name),
                           os.path.join(lxcpath, name))
    return [root] + [DISK + suffix for suffix in
                     ("", OLD_SUFFIX, LIVE_SUFFIX, STATFS_SUFFIX)]


def releaseHostMounts(lxcpath, name, image=None,
                      timeout=RELEASE_TIMEOUT):
    """
    Detach (lazily) whatever is mounted at the daemon's mount points of the
    STOPPED VPS C{name} (L{hostMountNames}); then, if C{image} is given,
    wait until no loop device is bound to that image any more. Never call
    it for a running VPS: its mounts there may be in use (a grow, a
    statfs).

    Nothing beyond the LXC directory is followed: its entries are looked
    up through a descriptor of the directory, which must be root's and
    writable by no one else (the VPS's root may pass through it, never
    write there), and a symbolic link at a mount point is not followed.

    @return: the mount points where something was detached.
    @raise OSError: EPERM if the LXC directory is not root's own (nothing
        is detached), or if the kernel refuses a detach.
    @raise diskimage.ImageError: EBUSY if a loop device still holds
        C{image} after C{timeout} seconds.
    """
    directory = os.path.join(lxcpath, name)
    detached = []
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                     | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None
    except OSError as e:
        # Linux says ENOTDIR for a symbolic link with O_DIRECTORY.
        if e.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        if os.path.islink(directory):
            raise OSError(errno.EPERM, "the LXC directory of %s is a"
                          " symbolic link: nothing is detached there"
                          % (name,), directory)
        fd = None  # a file: nothing can be mounted in it
    if fd is not None:
        try:
            st = os.fstat(fd)
            if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise OSError(errno.EPERM, "the LXC directory of %s is not"
                              " root's alone (owner %d, mode %o): nothing is"
                              " detached there" % (name, st.st_uid,
                                                   st.st_mode & 0o7777),
                              directory)
            for entry in hostMountNames(lxcpath, name):
                if detach("/proc/self/fd/%d/%s" % (fd, entry)):
                    detached.append(os.path.join(directory, entry))
        finally:
            os.close(fd)
    if image is not None:
        diskimage.waitReleased(image, timeout)
    return detached
