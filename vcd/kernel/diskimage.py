# -*- test-case-name: tests.test_disklimits,tests.test_diskjournal -*-
"""
A filesystem per VPS: an ext4 image file on a loop device, made to the
size and inode count of the VPS's disk limit (vxdb.dx.limit), for hosts
whose filesystem under the VPS directories has no project quotas.

The image is sparse: making it costs its metadata (C{mkfs.ext4} writes the
superblocks, group descriptors and the journal; the inode tables are
initialised lazily by the kernel), never the size of what it will hold.

A mounted image's loop device is set up with C{LO_FLAGS_AUTOCLEAR}, so the
kernel frees the device when the last mount of the filesystem goes: the
daemon mounts an image on the host only while it starts the VPS (the VPS's
mount namespace keeps its own reference), and nothing is left to free when
the VPS stops, or when the daemon crashes.

Making, reading and resizing an image that is not mounted is
L{vcd.kernel.ext4image}'s (its names are re-exported here); this module
binds images to loop devices, mounts and grows them.

Every function here blocks (they fork C{mkfs.ext4}, C{e2fsck},
C{resize2fs} or C{tune2fs}, or make system calls that wait for the disk):
the daemon runs them on its file-system thread pool.
"""

import errno
import fcntl
import os
import struct
import time

from vcd.kernel.binding import ffi, lib
from vcd.kernel.ext4image import (ImageError, Superblock, inodeRequest,
                                  layoutProblem, makeImage, readSuperblock,
                                  replayJournal, resizeOffline, setReserved)
from vcd.kernel.idmap import detach

# The image itself, not mounted, is vcd.kernel.ext4image's; its names stay
# importable from here.
__all__ = ["ImageError", "Superblock", "inodeRequest", "layoutProblem",
           "makeImage", "readSuperblock", "replayJournal", "resizeOffline",
           "setReserved",
           "mountImage", "loopOf", "waitReleased", "growMounted",
           "growRunning", "usedBytes", "MECHANISM", "GROW_REFUSED",
           "growsOnline", "describe"]

#: <linux/loop.h>
LOOP_SET_CAPACITY = 0x4C07
LOOP_CONFIGURE = 0x4C0A
LOOP_CTL_GET_FREE = 0x4C82
LO_FLAGS_AUTOCLEAR = 4

#: <linux/ext4.h>: _IOW('f', 16, __u64), grow a mounted filesystem.
EXT4_IOC_RESIZE_FS = 0x40086610


def _attachLoop(path):
    """
    Bind image C{path} to a free loop device that the kernel frees when its
    last user goes (C{LO_FLAGS_AUTOCLEAR}).

    @return: C{(descriptor of the device, device path)}; the caller closes
        the descriptor once the device is mounted (or to free it).
    """
    control = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
    image = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        for _ in range(32):
            number = fcntl.ioctl(control, LOOP_CTL_GET_FREE)
            device = "/dev/loop%d" % (number,)
            fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
            name = os.fsencode(os.path.abspath(path))[:63]
            # struct loop_config: fd, block_size, struct loop_info64,
            # 8 reserved u64s.
            info = struct.pack("<5Q4I64s64s32s2Q", 0, 0, 0, 0, 0, 0, 0, 0,
                               LO_FLAGS_AUTOCLEAR, name, b"", b"", 0, 0)
            config = struct.pack("<II", image, 0) + info + bytes(64)
            try:
                fcntl.ioctl(fd, LOOP_CONFIGURE, config)
            except OSError as e:
                os.close(fd)
                if e.errno == errno.EBUSY:  # another process took it
                    continue
                raise ImageError(e.errno, "cannot bind %s to %s: %s"
                                 % (path, device, e.strerror))
            return fd, device
        raise ImageError(errno.EBUSY, "no free loop device for %s" % (path,))
    finally:
        os.close(image)
        os.close(control)


def _mount(device, target, options):
    if lib.mount(os.fsencode(device), os.fsencode(target), b"ext4", 0,
                 options.encode()) != 0:
        err = ffi.errno
        raise ImageError(err, "cannot mount %s (%s) at %s: %s"
                         % (device, options, target, os.strerror(err)))


def mountImage(path, target, resuid=0, resgid=0):
    """
    Mount image C{path} at directory C{target} on a loop device that is
    freed when the filesystem's last mount goes. Blocks the reserved share
    can be used by host user C{resuid} and group C{resgid} (the VPS's root)
    and by no one else without C{CAP_SYS_RESOURCE}.

    @return: the loop device's path.
    """
    fd, device = _attachLoop(path)
    try:
        _mount(device, target, "resuid=%d,resgid=%d" % (resuid, resgid))
    finally:
        os.close(fd)  # with the mount gone, this frees the device
    return device


def loopOf(path):
    """
    @return: the loop device bound to image C{path} (whose filesystem is
        mounted somewhere, by a running VPS), or C{None}.
    """
    wanted = os.path.abspath(path)
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return None
    for name in names:
        if not name.startswith("loop"):
            continue
        try:
            with open("/sys/block/%s/loop/backing_file" % (name,)) as f:
                backing = f.read().rstrip("\n")
        except OSError:
            continue
        if backing == wanted:
            return "/dev/" + name
    return None


def waitReleased(path, timeout, clock=time.monotonic, sleep=time.sleep):
    """
    Wait until no loop device is bound to image C{path}: a VPS that has
    just stopped may hold its filesystem for a moment more, until the
    kernel has torn its mount namespace down. Two loop devices on one
    image would be two filesystems on the same blocks, so nothing may
    mount or change the image until then.

    @raise ImageError: EBUSY, naming the device, if one is still bound
        after C{timeout} seconds.
    """
    deadline = clock() + timeout
    while True:
        device = loopOf(path)
        if device is None:
            return
        if clock() > deadline:
            raise ImageError(errno.EBUSY, "%s is still in use on %s %.0f s"
                             " after the virtual server stopped"
                             % (path, device, timeout))
        sleep(0.02)


def growMounted(path, device, mountPoint, spaceKiB):
    """
    Grow the mounted filesystem of image C{path} (on loop C{device},
    mounted at C{mountPoint}) to C{spaceKiB} KiB: extend the file, tell the
    loop device (C{losetup -c}), and resize the filesystem online (what
    C{resize2fs} does on a mounted filesystem). ext4 adds inodes with each
    block group it adds.

    @raise ImageError: if the kernel refuses.
    """
    size = spaceKiB * 1024
    if os.stat(path).st_size < size:
        os.truncate(path, size)
    fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, LOOP_SET_CAPACITY, 0)
    finally:
        os.close(fd)
    fd = os.open(mountPoint, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        blockSize = os.fstatvfs(fd).f_bsize
        try:
            fcntl.ioctl(fd, EXT4_IOC_RESIZE_FS,
                        struct.pack("<Q", size // blockSize))
        except OSError as e:
            raise ImageError(e.errno, "cannot grow the filesystem of %s to"
                             " %d KiB: %s" % (path, spaceKiB, e.strerror))
    finally:
        os.close(fd)


def growRunning(path, mountPoint, spaceKiB):
    """
    Grow the image C{path} of a running VPS: mount its loop device (already
    mounted in the VPS's mount namespace) at C{mountPoint} for the time of
    L{growMounted}, then detach it.

    @return: whether the image was in use (if not, nothing was done).
    """
    device = loopOf(path)
    if device is None:
        return False
    os.makedirs(mountPoint, mode=0o700, exist_ok=True)
    detach(mountPoint)
    _mount(device, mountPoint, "")
    try:
        growMounted(path, device, mountPoint, spaceKiB)
    finally:
        detach(mountPoint)
    return True


def usedBytes(path, scratch):
    """
    What the filesystem of image C{path} uses, its own metadata included:
    from its superblock if it is not mounted, else (the superblock's count
    being stale while it is) from the kernel, through a mount of its loop
    device at the empty directory C{scratch} for the time of a statfs.
    Changes nothing: an image whose journal needs recovery (its counts are
    from before a crash) is not measured; the next start replays it
    (L{replayJournal}).

    @return: bytes, or None if the image needs journal recovery.
    """
    device = loopOf(path)
    if device is None:
        sb = readSuperblock(path)
        if sb.needsRecovery:
            return None
        return (sb.blocks - sb.freeBlocks) * sb.blockSize
    os.makedirs(scratch, mode=0o700, exist_ok=True)
    detach(scratch)
    _mount(device, scratch, "")
    try:
        st = os.statvfs(scratch)
    finally:
        detach(scratch)
    return os.stat(path).st_size - st.f_bfree * st.f_frsize


#: What a filesystem per VPS is called in C{vcd.hostinfo}.
MECHANISM = "a filesystem per VPS (a sparse ext4 image on a loop device)"

#: Why a limit cannot grow on a running VPS when L{growsOnline} is false.
GROW_REFUSED = ("growing a mounted ext4 filesystem needs CAP_SYS_RESOURCE,"
                " which the daemon lacks on this host")

_CAP_SYS_RESOURCE = 24


def growsOnline(status="/proc/self/status"):
    """
    Whether this process may grow a mounted ext4 filesystem (the kernel
    asks for C{CAP_SYS_RESOURCE}, which some hosts take from root).
    """
    try:
        with open(status) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16)
                                >> _CAP_SYS_RESOURCE & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def describe(supported):
    """
    How disk limits are enforced here, for C{vcd.hostinfo}.

    @param supported: whether loop devices and mkfs.ext4 exist.
    """
    if not supported:
        return {"mechanism": "none (no loop devices or no mkfs.ext4)"}
    grows = growsOnline()
    return {"mechanism": MECHANISM,
            "growsWhileRunning": grows,
            "growWhy": "online ext4 resize" if grows else GROW_REFUSED,
            "reserved": "for the VPS's root in a copy; for every user of an"
                        " overlay VPS (overlayfs writes as the VPS's root)"}
