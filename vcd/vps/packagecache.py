# -*- test-case-name: tests.test_packagecache -*-
"""
The cache directory of package tarballs for Debian builds (see
L{vcd.vps.debianbuild.fetchPackages}): a tarball is checked whole before
it is used, and published whole (written and flushed to disk, then renamed,
its directory flushed too), so that a crash or a copy of the machine never
leaves a truncated one under the final name; all of it under a lock on the
cache directory, so that concurrent builds neither make the same tarball
twice nor sweep each other's work away.

A build leaves in the cache directory, until it ends, a work directory
(C{.debootstrap.*}) and the tarball being written (C{<tarball>.partial.*}):
whatever of those is there while the lock is held is from a build killed
before its end.
"""

import contextlib
import fcntl
import gzip
import os
import shutil
import tarfile
import zlib

from vcd.kernel.mountinfo import readMountinfo

LOCK_NAME = ".lock"
WORK_PREFIX = ".debootstrap."
PARTIAL_MARK = ".partial."
DAMAGED_SUFFIX = ".damaged"


def tarballDamage(path):
    """
    Read the gzip-compressed tar file C{path} through, as a stream (a
    fraction of a second for the 56 MB of a Debian minbase with systemd).

    @return: C{None} if it is whole (a complete gzip stream whose checksum
        and length match, holding a tar archive of at least one file),
        else why it is not.
    """
    try:
        with gzip.open(path, "rb") as compressed:
            with tarfile.open(fileobj=compressed, mode="r|") as archive:
                members = sum(1 for _ in archive)
            # The end of the archive, then the gzip trailer's checks.
            while compressed.read(1 << 20):
                pass
    except (OSError, EOFError, tarfile.TarError, zlib.error) as e:
        return "%s: %s" % (e.__class__.__name__, e)
    if members == 0:
        return "no file in the archive"
    return None


@contextlib.contextmanager
def lockedCache(cacheDir):
    """
    Make the directory C{cacheDir} if it is missing, and hold an exclusive
    lock on it (C{flock} on its L{LOCK_NAME} file) for the block, waiting
    for a build that holds it.
    """
    os.makedirs(cacheDir, mode=0o755, exist_ok=True)
    fd = os.open(os.path.join(cacheDir, LOCK_NAME),
                 os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def sweep(cacheDir, warn):
    """
    Remove from C{cacheDir} what builds killed before their end left: the
    work directories and the partial tarballs. Only with the lock held
    (L{lockedCache}): then no build is running.

    A work directory with something mounted inside is left, and C{warn}
    called with a message saying so.
    """
    mounts = [m.mountPoint for m in readMountinfo()]
    for entry in os.listdir(cacheDir):
        path = os.path.join(cacheDir, entry)
        if os.path.islink(path):
            continue
        if entry.startswith(WORK_PREFIX) and os.path.isdir(path):
            mounted = sorted(m for m in mounts
                             if m == path or m.startswith(path + "/"))
            if mounted:
                warn("%s, left by a killed build, has mounts inside (%s):"
                     " not removed" % (path, ", ".join(mounted)))
                continue
            shutil.rmtree(path)
        elif PARTIAL_MARK in entry and os.path.isfile(path):
            os.unlink(path)


def publish(partial, tarball):
    """
    Make the finished file C{partial} the file C{tarball} of the same
    directory, so that a crash leaves either none or all of it: flush it
    to disk, rename it, and flush the directory.
    """
    _fsync(partial, os.O_RDONLY)
    os.rename(partial, tarball)
    _fsync(os.path.dirname(os.path.abspath(tarball)),
           os.O_RDONLY | os.O_DIRECTORY)


def setAside(tarball):
    """
    Move the damaged C{tarball} to its name with L{DAMAGED_SUFFIX} (in
    place of an earlier damaged one), out of the builds' way.

    @return: its new path.
    """
    aside = tarball + DAMAGED_SUFFIX
    if os.path.isdir(aside) and not os.path.islink(aside):
        shutil.rmtree(aside)
    os.replace(tarball, aside)
    return aside


def _fsync(path, flags):
    fd = os.open(path, flags | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
