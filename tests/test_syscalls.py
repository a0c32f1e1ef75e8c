"""
Tests for L{vcd.kernel.syscalls}.
"""

import errno
import os

from twisted.trial import unittest

from vcd.kernel.syscalls import RENAME_NOREPLACE, renameat2, syncfs


class Renameat2Tests(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.mkdir(self.dir)
        self.src = os.path.join(self.dir, "src")
        self.dst = os.path.join(self.dir, "dst")
        with open(self.src, "w") as f:
            f.write("source")

    def test_rename(self):
        renameat2(self.src, self.dst, RENAME_NOREPLACE)
        self.assertEqual(os.listdir(self.dir), ["dst"])
        with open(self.dst) as f:
            self.assertEqual(f.read(), "source")

    def test_noReplace(self):
        """
        With C{RENAME_NOREPLACE} an existing target is kept and the call
        fails with C{EEXIST}, naming both paths.
        """
        with open(self.dst, "w") as f:
            f.write("target")
        e = self.assertRaises(OSError, renameat2, self.src, self.dst,
                              RENAME_NOREPLACE)
        self.assertEqual((e.errno, e.filename, e.filename2),
                         (errno.EEXIST, self.src, self.dst))
        with open(self.dst) as f:
            self.assertEqual(f.read(), "target")
        self.assertTrue(os.path.exists(self.src))

    def test_replaceWithoutFlag(self):
        with open(self.dst, "w") as f:
            f.write("target")
        renameat2(self.src, self.dst)
        with open(self.dst) as f:
            self.assertEqual(f.read(), "source")

    def test_missingSource(self):
        e = self.assertRaises(OSError, renameat2, self.src + "x", self.dst)
        self.assertEqual(e.errno, errno.ENOENT)
        self.assertIsInstance(e, FileNotFoundError)

    def test_bytesAndRelativePaths(self):
        cwd = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, cwd)
        renameat2(b"src", "dst")
        self.assertEqual(os.listdir(self.dir), ["dst"])

    def test_nul(self):
        self.assertRaises(ValueError, renameat2, self.src + "\0x", self.dst)
        self.assertTrue(os.path.exists(self.src))


class SyncfsTests(unittest.TestCase):
    def test_sync(self):
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, fd)
        self.assertIsNone(syncfs(fd))

    def test_badDescriptor(self):
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        e = self.assertRaises(OSError, syncfs, r)
        self.assertEqual(e.errno, errno.EBADF)
