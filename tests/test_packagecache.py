"""
Tests for the cache of Debian package tarballs: L{vcd.vps.packagecache}
and its use by L{vcd.vps.debianbuild.fetchPackages} (with a fake
C{debootstrap --make-tarball}: no network, no real build).
"""

import fcntl
import io
import os
import subprocess
import sys
import tarfile
import textwrap

from twisted.trial import unittest

from vcd.vps import debianbuild, packagecache

SUITE = "bookworm"
MIRROR = "http://deb.example/debian"
PACKAGES = ("dbus",)
#: The directory holding the package L{vcd} under test.
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    debianbuild.__file__))))


def writeTarball(path, files=(("var/cache/apt/archives/a.deb", 200000),)):
    """
    Write a gzip-compressed tar file at C{path} holding C{files} (name and
    size) of random bytes (so that it compresses badly and its truncations
    fall inside the compressed data).
    """
    with tarfile.open(path, "w:gz") as archive:
        for name, size in files:
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, io.BytesIO(os.urandom(size)))


def gzipTestFails(path):
    """
    The oracle: whether C{gzip -t} finds C{path} damaged.
    """
    return subprocess.run(["gzip", "-t", path], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


class TarballDamageTests(unittest.TestCase):
    """
    Tests for L{packagecache.tarballDamage}.
    """

    def setUp(self):
        self.path = os.path.abspath(self.mktemp())
        writeTarball(self.path)
        self.size = os.path.getsize(self.path)

    def test_whole(self):
        self.assertFalse(gzipTestFails(self.path))
        self.assertIsNone(packagecache.tarballDamage(self.path))

    def test_truncated(self):
        """
        A tarball cut anywhere (in the compressed data, in the gzip
        trailer's length) is damaged.
        """
        for size in (self.size // 2, self.size - 4, self.size - 1, 10):
            truncate(self.path, size)
            self.assertTrue(gzipTestFails(self.path), size)
            self.assertIsNotNone(packagecache.tarballDamage(self.path),
                                 size)

    def test_corrupted(self):
        """
        A changed byte in the compressed data is found (by the checksum if
        not by the decompression).
        """
        with open(self.path, "r+b") as f:
            f.seek(self.size // 2)
            byte = f.read(1)
            f.seek(self.size // 2)
            f.write(bytes([byte[0] ^ 0xFF]))
        self.assertTrue(gzipTestFails(self.path))
        self.assertIsNotNone(packagecache.tarballDamage(self.path))

    def test_notGzip(self):
        with open(self.path, "wb") as f:
            f.write(b"not a tarball\n" * 100)
        self.assertIn("BadGzipFile", packagecache.tarballDamage(self.path))

    def test_empty(self):
        """
        A whole gzip file holding no tar file, or an empty tar, is not a
        tarball of packages.
        """
        writeTarball(self.path, files=())
        self.assertFalse(gzipTestFails(self.path))
        self.assertEqual(packagecache.tarballDamage(self.path),
                         "no file in the archive")
        open(self.path, "wb").close()
        self.assertIsNotNone(packagecache.tarballDamage(self.path))

    def test_missing(self):
        os.unlink(self.path)
        self.assertIn("FileNotFoundError",
                      packagecache.tarballDamage(self.path))


class FetchTests(unittest.TestCase):
    """
    Tests for L{debianbuild.fetchPackages} with a fake maker of tarballs.
    """

    def setUp(self):
        self.cacheDir = os.path.abspath(self.mktemp())
        self.made = []
        self.warnings = []
        self.lockedDuringMake = []

    def make(self, partial, work, suite, mirror, packages):
        self.assertEqual(os.listdir(work), [])
        self.assertEqual((suite, mirror, packages), (SUITE, MIRROR, PACKAGES))
        fd = os.open(os.path.join(self.cacheDir, packagecache.LOCK_NAME),
                     os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lockedDuringMake.append(True)
        else:
            self.lockedDuringMake.append(False)
        finally:
            os.close(fd)
        writeTarball(partial)
        self.made.append(partial)

    def fetch(self):
        return debianbuild.fetchPackages(self.cacheDir, SUITE, MIRROR,
                                         PACKAGES, make=self.make,
                                         warn=self.warnings.append)

    def test_madeOnce(self):
        """
        The tarball is made under the cache's lock, whole, published under
        its final name with nothing of the build left; a second fetch
        uses it.
        """
        tarball = self.fetch()
        self.assertEqual(self.lockedDuringMake, [True])
        self.assertFalse(gzipTestFails(tarball))
        self.assertEqual(sorted(os.listdir(self.cacheDir)),
                         sorted([packagecache.LOCK_NAME,
                                 os.path.basename(tarball)]))
        self.assertEqual(self.fetch(), tarball)
        self.assertEqual(len(self.made), 1)
        self.assertEqual(self.warnings, [])

    def test_truncatedRebuilt(self):
        """
        A truncated tarball in the cache is moved aside, said so, and made
        again: the new one is a valid gzip-compressed tar.
        """
        tarball = self.fetch()
        truncate(tarball, os.path.getsize(tarball) // 2)
        with open(tarball, "rb") as f:
            damaged = f.read()
        self.assertTrue(gzipTestFails(tarball))
        self.assertEqual(self.fetch(), tarball)
        self.assertEqual(len(self.made), 2)
        self.assertFalse(gzipTestFails(tarball))
        listing = subprocess.run(["tar", "-tzf", tarball],
                                 stdout=subprocess.PIPE, check=True).stdout
        self.assertEqual(listing, b"var/cache/apt/archives/a.deb\n")
        aside = tarball + packagecache.DAMAGED_SUFFIX
        with open(aside, "rb") as f:
            self.assertEqual(f.read(), damaged)
        [warning] = self.warnings
        self.assertIn(tarball + " is damaged", warning)
        self.assertIn(aside, warning)

    def test_damagedMadeRefused(self):
        """
        A build that makes a damaged tarball fails, and publishes nothing.
        """
        def make(partial, work, suite, mirror, packages):
            writeTarball(partial)
            truncate(partial, 100)
        e = self.assertRaises(
            debianbuild.DebianBuildError, debianbuild.fetchPackages,
            self.cacheDir, SUITE, MIRROR, PACKAGES, make=make,
            warn=self.warnings.append)
        self.assertIn("damaged", str(e))
        self.assertEqual(os.listdir(self.cacheDir), [packagecache.LOCK_NAME])

    def test_staleSwept(self):
        """
        The work directories and partial tarballs of builds killed before
        their end are removed; other files stay.
        """
        os.makedirs(self.cacheDir)
        work = os.path.join(self.cacheDir, ".debootstrap.old1")
        os.makedirs(os.path.join(work, "var/cache"))
        partial = os.path.join(self.cacheDir,
                               "debootstrap-x.tar.gz.partial..debootstrap.o")
        other = os.path.join(self.cacheDir, "notes")
        for path in (partial, other):
            open(path, "w").close()
        self.fetch()
        self.assertFalse(os.path.lexists(work))
        self.assertFalse(os.path.lexists(partial))
        self.assertTrue(os.path.exists(other))

    def test_mountedWorkLeft(self):
        """
        A stale work directory with a mount inside is not removed (its
        mount's files with it), and said so. In a mount namespace of its
        own, so that the mount never shows on the host.
        """
        os.makedirs(self.cacheDir)
        work = os.path.join(self.cacheDir, ".debootstrap.old2")
        os.makedirs(os.path.join(work, "proc"))
        script = textwrap.dedent("""
            import os, subprocess, sys
            from vcd.vps import packagecache
            cacheDir, work = sys.argv[1:]
            subprocess.run(["mount", "-t", "tmpfs", "t", work + "/proc"],
                           check=True)
            open(work + "/proc/kept", "w").close()
            with packagecache.lockedCache(cacheDir):
                packagecache.sweep(cacheDir, print)
            print(os.path.exists(work + "/proc/kept"))
            """)
        out = subprocess.run(
            ["unshare", "--mount", "--propagation", "private",
             sys.executable, "-c", script, self.cacheDir, work],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=True,
            env=dict(os.environ, PYTHONPATH=SOURCE)).stdout.decode()
        self.assertIn(work + ", left by a killed build, has mounts inside ("
                      + work + "/proc)", out)
        self.assertTrue(out.endswith("True\n"), out)
        self.assertTrue(os.path.isdir(os.path.join(work, "proc")))


class PublishTests(unittest.TestCase):
    """
    Tests for L{packagecache.publish}.
    """

    def test_flushedBeforeAndAfterRename(self):
        """
        The file is flushed to disk under its partial name, then renamed,
        then its directory flushed.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        partial = os.path.join(directory, "t.tar.gz.partial.x")
        tarball = os.path.join(directory, "t.tar.gz")
        writeTarball(partial)
        synced = []
        realFsync = os.fsync

        def fsync(fd):
            synced.append((os.readlink("/proc/self/fd/%d" % (fd,)),
                           os.path.exists(tarball)))
            realFsync(fd)
        self.patch(os, "fsync", fsync)
        packagecache.publish(partial, tarball)
        self.assertEqual(synced, [(partial, False), (directory, True)])
        self.assertFalse(os.path.exists(partial))
        self.assertFalse(gzipTestFails(tarball))


class CommandTests(unittest.TestCase):
    """
    debootstrap runs in a mount namespace of its own.
    """

    def test_unshared(self):
        self.assertEqual(debianbuild._debootstrap(),
                         ["unshare", "--mount", "--propagation", "private",
                          "debootstrap"])

    def test_missingUnshare(self):
        self.patch(debianbuild.shutil, "which",
                   lambda name: None if name == "unshare" else "/x/" + name)
        e = self.assertRaises(debianbuild.DebianBuildError,
                              debianbuild._debootstrap)
        self.assertIn("install the Debian package util-linux", str(e))
