"""
Tests for L{vcd.vps.crashsafe}.
"""

import errno
import os

from twisted.trial import unittest

from vcd.vps.crashsafe import removeEntry, renameNoReplace, syncDir


class RenameNoReplaceTests(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.dir, "src", "inside"))

    def test_emptyDirectoryNotReplaced(self):
        """
        An existing empty directory is not replaced (C{os.rename} would
        replace it).
        """
        dst = os.path.join(self.dir, "dst")
        os.mkdir(dst)
        e = self.assertRaises(FileExistsError, renameNoReplace,
                              os.path.join(self.dir, "src"), dst)
        self.assertEqual(e.errno, errno.EEXIST)
        self.assertEqual(os.listdir(dst), [])
        self.assertEqual(os.listdir(os.path.join(self.dir, "src")),
                         ["inside"])

    def test_rename(self):
        dst = os.path.join(self.dir, "dst")
        renameNoReplace(os.path.join(self.dir, "src"), dst)
        self.assertEqual(os.listdir(dst), ["inside"])

    def test_otherErrors(self):
        e = self.assertRaises(OSError, renameNoReplace,
                              os.path.join(self.dir, "missing"),
                              os.path.join(self.dir, "dst"))
        self.assertEqual(e.errno, errno.ENOENT)


class SyncDirTests(unittest.TestCase):
    def test_sync(self):
        path = os.path.abspath(self.mktemp())
        os.mkdir(path)
        syncDir(path)

    def test_notADirectory(self):
        path = os.path.abspath(self.mktemp())
        open(path, "w").close()
        e = self.assertRaises(OSError, syncDir, path)
        self.assertEqual(e.errno, errno.ENOTDIR)


class RemoveEntryTests(unittest.TestCase):
    def test_symlinkNotFollowed(self):
        base = os.path.abspath(self.mktemp())
        kept = os.path.join(base, "kept")
        os.makedirs(kept)
        open(os.path.join(kept, "file"), "w").close()
        tree = os.path.join(base, "tree")
        os.mkdir(tree)
        os.symlink(kept, os.path.join(tree, "link"))
        os.symlink(kept, os.path.join(base, "toplink"))
        removeEntry(tree)
        removeEntry(os.path.join(base, "toplink"))
        self.assertEqual(os.listdir(base), ["kept"])
        self.assertEqual(os.listdir(kept), ["file"])

    def test_missing(self):
        removeEntry(os.path.abspath(self.mktemp()))
