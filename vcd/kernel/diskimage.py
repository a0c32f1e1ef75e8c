# -*- test-case-name: tests.test_disklimits -*-
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

Every function here blocks (they fork C{mkfs.ext4}, C{e2fsck},
C{resize2fs} or C{tune2fs}, or make system calls that wait for the disk):
the daemon runs them on its file-system thread pool.
"""

import errno
import fcntl
import functools
import os
import re
import struct
import subprocess
import time
from collections import namedtuple

from vcd.kernel.binding import ffi, lib
from vcd.kernel.idmap import detach

#: <linux/loop.h>
LOOP_SET_CAPACITY = 0x4C07
LOOP_CONFIGURE = 0x4C0A
LOOP_CTL_GET_FREE = 0x4C82
LO_FLAGS_AUTOCLEAR = 4

#: <linux/ext4.h>: _IOW('f', 16, __u64), grow a mounted filesystem.
EXT4_IOC_RESIZE_FS = 0x40086610

#: What the superblock of an image says (sizes in bytes).
Superblock = namedtuple(
    "Superblock", "blockSize blocks reservedBlocks freeBlocks inodes"
    " freeInodes")

_EXT4_MAGIC = 0xEF53


class ImageError(OSError):
    """
    A tool or system call on an image failed; the message says which and
    why.
    """


def _run(argv, success=(0,)):
    """
    Run one of e2fsprogs' tools, raising L{ImageError} with its output if it
    fails (exits with a status not in C{success}).
    """
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=600)
    except FileNotFoundError:
        raise ImageError(errno.ENOENT, "%s is missing: install e2fsprogs"
                         % (argv[0],))
    if done.returncode not in success:
        raise ImageError(errno.EIO, "%s failed (status %d): %s" % (
            argv[0], done.returncode,
            done.stdout.decode("utf-8", "replace").strip()[-500:]))
    return done.stdout


def _mkfsArguments(spaceKiB, inodes, reserved):
    return ["mkfs.ext4", "-q", "-F", "-N", str(inodes), "-m", str(reserved),
            "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1"]


def _dryRun(spaceKiB, inodes, reserved):
    """
    Ask mkfs.ext4 what it would make (C{-n}, on C{/dev/null}): some
    milliseconds.

    @return: C{(inode count, None)}, or C{(None, mkfs's reason)}.
    """
    argv = [a for a in _mkfsArguments(spaceKiB, inodes, reserved)
            if a != "-q"]
    try:
        done = subprocess.run(
            argv + ["-n", "/dev/null", "%dk" % (spaceKiB,)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=60)
    except FileNotFoundError:
        return None, "mkfs.ext4 is missing: install e2fsprogs"
    output = done.stdout.decode("utf-8", "replace")
    made = re.search(r"blocks and (\d+) inodes", output)
    if done.returncode == 0 and made:
        return int(made.group(1)), None
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    first = [i for i, line in enumerate(lines)
             if line.startswith(("mkfs.ext4:", "/dev/null:"))]
    lines = lines[first[0]:] if first else lines[-1:]
    return None, (" ".join(lines).replace("/dev/null: ", "") or
                  "mkfs.ext4 failed (status %d)" % (done.returncode,))


@functools.lru_cache(maxsize=256)
def inodeRequest(spaceKiB, inodes, reserved):
    """
    The inode count to ask mkfs.ext4 for so that the filesystem has at
    most C{inodes}: mkfs rounds each block group's share up to whole
    inode-table blocks, so asking for C{inodes} can give more. The largest
    request giving no more, or, if even ext4's minimum (16 per block
    group) is more, that minimum. Cached: once per combination.

    @return: C{(request, None)}, or C{(None, why no filesystem of that
        size and inode count can be made)}.
    """
    request = inodes
    for _ in range(8):
        count, problem = _dryRun(spaceKiB, request, reserved)
        if problem is not None:
            return None, problem
        if count <= inodes or request <= 16:
            return request, None
        request = max(16, request - (count - inodes) - 1)
    return request, None


def layoutProblem(spaceKiB, inodes, reserved):
    """
    @return: None if a filesystem of C{spaceKiB} KiB with C{inodes} inodes
        can be made, else mkfs.ext4's reason.
    """
    return inodeRequest(spaceKiB, inodes, reserved)[1]


def makeImage(path, spaceKiB, inodes, reserved):
    """
    Make a new sparse ext4 image at C{path} (which must not exist) of
    C{spaceKiB} KiB with at most C{inodes} inodes (L{inodeRequest}) and
    C{reserved} percent of its blocks reserved.

    @raise FileExistsError: if C{path} exists.
    @raise ImageError: if mkfs.ext4 fails (an image too small for the
        inodes asked, for one); the file is removed.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            os.ftruncate(fd, spaceKiB * 1024)
        finally:
            os.close(fd)
        request, problem = inodeRequest(spaceKiB, inodes, reserved)
        if problem is not None:
            raise ImageError(errno.EINVAL, problem)
        _run(_mkfsArguments(spaceKiB, request, reserved) + [path])
    except BaseException:
        os.unlink(path)
        raise


def readSuperblock(path):
    """
    Read the ext4 superblock of image C{path}. Its free counts are exact
    for an image that is not mounted; for a mounted one they are what the
    kernel last wrote back.

    @return: a L{Superblock}.
    @raise ImageError: if C{path} holds no ext4 filesystem.
    """
    with open(path, "rb") as f:
        f.seek(1024)
        raw = f.read(1024)
    if len(raw) < 1024 or struct.unpack_from("<H", raw, 0x38)[0] \
            != _EXT4_MAGIC:
        raise ImageError(errno.EINVAL, "%s holds no ext4 filesystem"
                         % (path,))
    (inodes, blocksLo, reservedLo, freeLo, freeInodes, _first,
     logBlockSize) = struct.unpack_from("<7I", raw, 0)
    incompat = struct.unpack_from("<I", raw, 0x60)[0]
    blocksHi = reservedHi = freeHi = 0
    if incompat & 0x80:  # INCOMPAT_64BIT
        blocksHi, reservedHi, freeHi = struct.unpack_from("<3I", raw, 0x150)
    return Superblock(
        blockSize=1024 << logBlockSize,
        blocks=blocksLo | blocksHi << 32,
        reservedBlocks=reservedLo | reservedHi << 32,
        freeBlocks=freeLo | freeHi << 32,
        inodes=inodes, freeInodes=freeInodes)


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
    """
    device = loopOf(path)
    if device is None:
        sb = readSuperblock(path)
        return (sb.blocks - sb.freeBlocks) * sb.blockSize
    os.makedirs(scratch, mode=0o700, exist_ok=True)
    detach(scratch)
    _mount(device, scratch, "")
    try:
        st = os.statvfs(scratch)
    finally:
        detach(scratch)
    return os.stat(path).st_size - st.f_bfree * st.f_frsize


def resizeOffline(path, spaceKiB):
    """
    Resize the filesystem of image C{path}, not mounted, to C{spaceKiB}
    KiB (check it, resize it, then cut or extend the file).

    @raise ImageError: if the data does not fit (resize2fs says so).
    """
    size = spaceKiB * 1024
    if os.stat(path).st_size < size:
        os.truncate(path, size)
    # 1: errors were corrected.
    _run(["e2fsck", "-f", "-p", path], success=(0, 1))
    _run(["resize2fs", path, "%dK" % (spaceKiB,)])
    if os.stat(path).st_size > size:
        os.truncate(path, size)


def setReserved(path, reserved):
    """
    Set the reserved share of image C{path}, not mounted, to C{reserved}
    percent.
    """
    _run(["tune2fs", "-m", str(reserved), path])


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
