# -*- test-case-name: tests.test_disklimits,tests.test_hostmounts -*-
"""
Disk limits (vxdb.dx.limit, manual 2.4.15) as a filesystem per VPS: an
ext4 image (L{vcd.kernel.diskimage}) of the limit's size and inode count
at C{<vdir>/disk.ext4}, holding everything the VPS can write:

  - for an overlay VPS, its upper and work directories (C{/upper},
    C{/work} in the image); the template's shared lower layer stays
    outside and is not counted;
  - for a copy, its whole root (C{/rootfs} in the image).

Inside the VPS, C{df} and C{df -i} of its root show the image's size and
inodes (overlayfs reports its upper filesystem), and a write past them
fails with ENOSPC. C{df} shows the size less ext4's own metadata (its
journal, inode tables); the image has at most the inodes asked for (the
most mkfs.ext4 can give without rounding above them, but never fewer than
ext4's 16 per block group), of which ext4 keeps 11 for itself. A limit no
ext4 can have is refused when it is set
(L{vcd.kernel.diskimage.layoutProblem}).

Why not project quotas, even where the filesystem under the VPS
directories has them: ext4 and quotas exempt a process with
C{CAP_SYS_RESOURCE}, and overlayfs writes to an upper layer with the
credentials of whoever mounted it (the daemon's worker, host root, which
has that capability on most hosts): an overlay VPS would not be limited.
Quotas have no share reserved for root either. A filesystem per VPS
enforces its size whoever writes.

Before each start (L{prepareDisk}, under the VPS's lock, while it is
stopped) the image is made to match VXDB, then mounted on the host at
L{mountPoint} for the kernel worker to use as a layer (idmapped like any
layer of an unprivileged VPS), and detached once the VPS runs
(L{releaseDisk}): the VPS's mount namespace keeps the filesystem alive and
its loop device is freed by the kernel when the VPS stops.

Moving files in and out, in an order a crash cannot break (the image, once
at its final name, is the only truth; a plain upper, work or rootfs
directory beside it is a leftover and is discarded):

  - a limit set on a VPS without an image: at its next start a new image
    is made at C{.vcd-new.disk.ext4}, the VPS's files are copied into it,
    it is renamed to C{disk.ext4}, then the plain directories are removed;
    a VPS whose files do not fit does not start, and nothing is changed;
  - a limit removed: at the next start the files are copied out of the
    image into C{.vcd-new.<dir>} siblings, renamed into place, then the
    image is removed;
  - a changed inode count: a new image is made and the files copied over
    (ext4 fixes its inode count when it is made);
  - a changed space: the image is resized offline (C{resize2fs}); a
    shrink below what is used is refused when it is set
    (L{vcd.vps.diskstart.refuseShrink}), and a shrink that no longer fits
    at the start (the VPS wrote more meanwhile) is logged and left for a
    later start;
  - a changed reserved share: C{tune2fs -m}.

A grown space reaches a running VPS at once (L{growLive}: the file, the
loop device and the mounted filesystem grow) where the daemon has
C{CAP_SYS_RESOURCE}, which the kernel asks for to resize a mounted ext4;
some hosts take it from root, and there it applies at the next start, the
reply saying why. Any other change of a running VPS's limit applies at its
next start.

A VPS that has just stopped may hold its filesystem a few tens of
milliseconds more, until the kernel has torn its mount namespace down; a
start waits for that (L{vcd.kernel.diskimage.waitReleased}), since a second
loop device on the image would be a second filesystem on the same blocks,
after detaching what a killed daemon left mounted on the host
(L{vcd.vps.hostmounts}), and replays the journal of an image a crash left
needing it before anything reads or changes the image offline.

A new image costs its metadata, not the template's size: creating and
starting an overlay VPS with a limit copies only its (empty) upper layer.
Moving a copy's root into an image copies the root once.

The reserved share is for the VPS's root: the image is mounted with
C{resuid} and C{resgid} the VPS's host root id. For an overlay VPS,
overlayfs writes to its upper layer with the credentials of who mounted it
(the VPS's root), so there every user of the VPS may use the reserved share.

Every function here blocks; the daemon runs them on its file-system pool.
"""

import errno
import os
import subprocess
from collections import namedtuple

from vcd.kernel import diskimage
from vcd.kernel.idmap import detach
from vcd.vps.crashsafe import removeEntry, renameNoReplace, syncDir
from vcd.vps.hostmounts import (LIVE_SUFFIX, OLD_SUFFIX, RELEASE_TIMEOUT,
                                STATFS_SUFFIX, diskMountPoint,
                                releaseHostMounts)
from vcd.vps.rootfs import STAGING_PREFIX, sweepStaging

#: The image's name in the VPS directory.
IMAGE_NAME = "disk.ext4"

#: The extended attribute of the image that says what it was made with:
#: C{"<inodes> <reserved>"}.
MADE_WITH = "user.vcd.dlimit"

#: A VPS's disk limit: space in KiB, inodes, reserved percent.
DiskLimit = namedtuple("DiskLimit", "space inodes reserved")


class DiskLimitError(OSError):
    """
    The VPS's files cannot be put under its disk limit; the message says
    why.
    """


def imagePath(vdir):
    """
    @return: where the image of the VPS at C{vdir} lives.
    """
    return os.path.join(vdir, IMAGE_NAME)


def mountPoint(lxcpath, name):
    """
    @return: where the image of VPS C{name} is mounted on the host while
        it starts.
    """
    return diskMountPoint(lxcpath, name)


def _layerPaths(layout):
    """
    The plain directories of the VPS that the image replaces.
    """
    if layout.kind == "copy":
        return [layout.rootfs]
    return [layout.upper, layout.work]


def imageLayerPaths(layout, mounted):
    """
    @return: the paths of the VPS's own layers (upper and work, or rootfs)
        inside the image mounted at C{mounted}.
    """
    return [os.path.join(mounted, os.path.basename(path))
            for path in _layerPaths(layout)]


def _madeWith(image):
    try:
        inodes, reserved = os.getxattr(image, MADE_WITH).split()
        return int(inodes), int(reserved)
    except (OSError, ValueError):
        return None


def _setMadeWith(image, limit):
    os.setxattr(image, MADE_WITH, b"%d %d" % (limit.inodes, limit.reserved))


def _copyTree(source, destination):
    """
    Copy directory C{source} to C{destination} (which must not exist) with
    owners, modes, times, extended attributes (overlayfs's own) and device
    nodes (its whiteouts).
    """
    done = subprocess.run(
        ["cp", "-a", "--no-target-directory", source, destination],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=3600)
    if done.returncode != 0:
        output = done.stdout.decode("utf-8", "replace").strip()
        code = errno.ENOSPC if ("No space" in output
                                or "quota" in output) else errno.EIO
        raise DiskLimitError(code, "cannot copy %s: %s"
                             % (source, output[-300:]))


def _discardPlain(layout):
    """
    Remove the plain directories the image replaces, if there are any.
    Not flushed: after a crash they are found beside the image again, and
    discarded again.
    """
    for path in _layerPaths(layout):
        removeEntry(path)


def _fill(layout, image, limit, target, copyFrom):
    """
    Make a new image at C{image} for C{limit} and fill it, through a mount
    at C{target}, with the VPS's layers as found in directory C{copyFrom}
    (or, if None, the plain directories). Removes the image if that fails.
    """
    removeEntry(image)
    try:
        diskimage.makeImage(image, limit.space, limit.inodes,
                            limit.reserved)
    except diskimage.ImageError as e:
        raise DiskLimitError(e.errno, "cannot make a filesystem of %d KiB"
                             " with %d inodes: %s" % (
                                 limit.space, limit.inodes, e.strerror))
    try:
        _setMadeWith(image, limit)
        diskimage.mountImage(image, target)
        try:
            for path in _layerPaths(layout):
                name = os.path.basename(path)
                source = (os.path.join(copyFrom, name) if copyFrom
                          else path)
                if name == "work" or not os.path.isdir(source):
                    # overlayfs's work directory starts empty.
                    os.mkdir(os.path.join(target, name), 0o700)
                else:
                    _copyTree(source, os.path.join(target, name))
            syncDir(target)
        finally:
            detach(target)
    except BaseException:
        removeEntry(image)
        raise


def _flushedRename(staging, image, rename):
    """
    Flush the new image C{staging} (its filesystem was synced and
    unmounted: its blocks are in the file), then C{rename} it to C{image}
    and flush the directory entry. Flushing the one file, not the host's
    filesystem, keeps a start fast while others write.
    """
    fd = os.open(staging, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    rename(staging, image)
    fd = os.open(os.path.dirname(image), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _moveIn(layout, limit, target):
    image = imagePath(layout.vdir)
    staging = os.path.join(layout.vdir, STAGING_PREFIX + IMAGE_NAME)
    _fill(layout, staging, limit, target, None)
    _flushedRename(staging, image, renameNoReplace)
    _discardPlain(layout)


def _rebuild(layout, limit, target):
    """
    Copy the VPS's files into a new image made for C{limit}, which then
    replaces the old one (in one rename).
    """
    image = imagePath(layout.vdir)
    old = target + OLD_SUFFIX
    os.makedirs(old, mode=0o700, exist_ok=True)
    detach(old)
    staging = os.path.join(layout.vdir, STAGING_PREFIX + IMAGE_NAME)
    diskimage.mountImage(image, old)
    try:
        _fill(layout, staging, limit, target, old)
    finally:
        detach(old)
    _flushedRename(staging, image, os.rename)


def _moveOut(layout, target):
    image = imagePath(layout.vdir)
    diskimage.mountImage(image, target)
    staged = []
    try:
        for path in _layerPaths(layout):
            staging = os.path.join(os.path.dirname(path),
                                   STAGING_PREFIX + os.path.basename(path))
            removeEntry(staging)
            _copyTree(os.path.join(target, os.path.basename(path)), staging)
            staged.append((staging, path))
        syncDir(layout.vdir)
    finally:
        detach(target)
    for staging, path in staged:
        renameNoReplace(staging, path)
    syncDir(layout.vdir)
    removeEntry(image)
    syncDir(layout.vdir)


def _adjust(layout, limit, target, log):
    """
    Make the existing image match C{limit}.
    """
    image = imagePath(layout.vdir)
    made = _madeWith(image)
    if made is None or made[0] != limit.inodes:
        _rebuild(layout, limit, target)
        return
    if os.stat(image).st_size != limit.space * 1024:
        try:
            diskimage.resizeOffline(image, limit.space)
        except diskimage.ImageError as e:
            log("the disk of %s stays at its size: %s" % (
                layout.vdir, e.strerror))
    if made[1] != limit.reserved:
        diskimage.setReserved(image, limit.reserved)
        _setMadeWith(image, limit)


def prepareDisk(layout, limit, lxcpath, name, idBase, log=lambda text: None):
    """
    Before a start of VPS C{name} (stopped, its lock held): make its image
    match its disk limit C{limit} (a L{DiskLimit}, or None for no limit),
    moving its files in or out as the module says, and mount the image at
    L{mountPoint}.

    @param layout: its L{vcd.vps.rootlayout.RootLayout}.
    @param idBase: the host id of its root (who may use the reserved
        share).
    @param log: called with a sentence about something that was not done.
    @return: the directory the image is mounted at, or None if it has no
        limit.
    @raise DiskLimitError: if its files do not fit in the limit (nothing
        was changed).
    """
    target = mountPoint(lxcpath, name)
    os.makedirs(target, mode=0o700, exist_ok=True)
    image = imagePath(layout.vdir)
    # What a crash left mounted (on the image, or on a staging image),
    # before anything looks at the files.
    releaseHostMounts(lxcpath, name, image, RELEASE_TIMEOUT)
    sweepStaging(layout.vdir)
    if os.path.exists(image):
        diskimage.replayJournal(image)
        _discardPlain(layout)
        if limit is None:
            _moveOut(layout, target)
            return None
        _adjust(layout, limit, target, log)
    elif limit is None:
        return None
    else:
        _moveIn(layout, limit, target)
    diskimage.mountImage(image, target, idBase, idBase)
    return target


def releaseDisk(lxcpath, name):
    """
    Detach the host's mount of the image of VPS C{name}, if any (after its
    start, whether it started or not).
    """
    detach(mountPoint(lxcpath, name))


def usedKiB(vdir, lxcpath, name):
    """
    @return: the KiB the image of VPS C{name} at C{vdir} uses (data and
        the filesystem's own), or None if it has no image or its journal
        needs recovery (L{diskimage.usedBytes}).
    """
    image = imagePath(vdir)
    if not os.path.exists(image):
        return None
    used = diskimage.usedBytes(image,
                               mountPoint(lxcpath, name) + STATFS_SUFFIX)
    return None if used is None else used // 1024


def growLive(vdir, lxcpath, name, limit):
    """
    Apply C{limit} to the running VPS C{name} if only its space grows (or
    nothing changes).

    @return: None if it applied, else why it applies at the next start.
    """
    image = imagePath(vdir)
    made = _madeWith(image)
    if made is None or diskimage.loopOf(image) is None:
        return "its files move into a filesystem of that size then"
    if made != (limit.inodes, limit.reserved):
        return ("ext4 sets the inode count and reserved share of a"
                " mounted filesystem when it is made")
    size = os.stat(image).st_size
    if limit.space * 1024 == size:
        return None
    if limit.space * 1024 < size:
        return "ext4 cannot shrink a mounted filesystem"
    if not diskimage.growsOnline():
        return diskimage.GROW_REFUSED
    diskimage.growRunning(image, mountPoint(lxcpath, name) + LIVE_SUFFIX,
                          limit.space)
    return None
