# -*- test-case-name: tests.test_disklimits,tests.test_diskjournal -*-
"""
An ext4 image file while it is not mounted: made sparse by C{mkfs.ext4}
to a size and an inode count, its superblock read, resized and its
reserved share set with e2fsprogs. Each function blocks (they fork
e2fsprogs' tools or read the disk); L{vcd.kernel.diskimage} mounts the
images and re-exports these names.
"""

import errno
import functools
import os
import re
import struct
import subprocess
from collections import namedtuple

__all__ = ["ImageError", "Superblock", "inodeRequest", "layoutProblem",
           "makeImage", "readSuperblock", "replayJournal", "resizeOffline",
           "setReserved"]

#: What the superblock of an image says (sizes in bytes). C{needsRecovery}:
#: its journal holds changes not yet written in place (a crash, or a copy,
#: while it was mounted): until they are replayed, the free counts and
#: whatever the journal changes are out of date.
Superblock = namedtuple(
    "Superblock", "blockSize blocks reservedBlocks freeBlocks inodes"
    " freeInodes needsRecovery")

_EXT4_MAGIC = 0xEF53

#: <ext4.h>: s_feature_incompat's EXT4_FEATURE_INCOMPAT_RECOVER, set while
#: the filesystem is mounted and cleared when it is cleanly unmounted.
_INCOMPAT_RECOVER = 0x4


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
        inodes=inodes, freeInodes=freeInodes,
        needsRecovery=bool(incompat & _INCOMPAT_RECOVER))


def replayJournal(path):
    """
    If the superblock of image C{path}, not mounted, says its journal needs
    recovery, replay it with C{e2fsck -p}, which also brings the free
    counts up to date; before the image is read or changed offline, so that
    the replay at its next mount cannot undo a change (C{tune2fs} writes
    in place) and nothing reads counts from before the crash.

    @return: whether the journal was replayed.
    @raise ImageError: if e2fsck fails or finds more than it may fix
        unattended.
    """
    if not readSuperblock(path).needsRecovery:
        return False
    # 1: errors were corrected.
    _run(["e2fsck", "-p", path], success=(0, 1))
    return True


def resizeOffline(path, spaceKiB):
    """
    Resize the filesystem of image C{path}, not mounted, to C{spaceKiB}
    KiB (check it, resize it, then cut or extend the file).

    @raise ImageError: if the data does not fit (resize2fs says so).
    """
    size = spaceKiB * 1024
    if os.stat(path).st_size < size:
        os.truncate(path, size)
    # Replays the journal too. 1: errors were corrected.
    _run(["e2fsck", "-f", "-p", path], success=(0, 1))
    _run(["resize2fs", path, "%dK" % (spaceKiB,)])
    if os.stat(path).st_size > size:
        os.truncate(path, size)


def setReserved(path, reserved):
    """
    Set the reserved share of image C{path}, not mounted, to C{reserved}
    percent (its journal replayed first: L{replayJournal}).
    """
    replayJournal(path)
    _run(["tune2fs", "-m", str(reserved), path])
