"""
Tests for L{vcd.kernel.worker.start} and L{vcd.kernel.worker.containerlog}: the
configuration a start writes, the log lines a failed start quotes, and the
root check that comes before liblxc.
"""

import os

from twisted.trial import unittest

from vcd.kernel.idmap import RootSpec
from vcd.kernel.worker.containerlog import (
    LOG_LIMIT, QUOTED_LINE, QUOTED_TOTAL, logTail, noteLogEnds)
from vcd.kernel.errors import RootMissing
from vcd.kernel.worker.start import startContainer, writeConfig


class ConfigTests(unittest.TestCase):

    def setUp(self):
        self.lxcpath = self.mktemp()
        self.directory = os.path.join(self.lxcpath, "vps1")

    def test_written(self):
        """
        The configuration is written, the container's directory private,
        with the mount point liblxc needs; nothing temporary is left.
        """
        writeConfig(self.lxcpath, "vps1", "lxc.uts.name = vps1\n")
        with open(os.path.join(self.directory, "config")) as f:
            self.assertEqual(f.read(), "lxc.uts.name = vps1\n")
        self.assertEqual(os.stat(self.directory).st_mode & 0o777, 0o700)
        self.assertTrue(os.path.isdir(os.path.join(self.directory,
                                                   "rootfs.mnt")))
        self.assertEqual(sorted(os.listdir(self.directory)),
                         ["config", "rootfs.mnt"])

    def test_unchangedNotRewritten(self):
        writeConfig(self.lxcpath, "vps1", "a = 1\n")
        path = os.path.join(self.directory, "config")
        inode = os.stat(path).st_ino
        writeConfig(self.lxcpath, "vps1", "a = 1\n")
        self.assertEqual(os.stat(path).st_ino, inode)
        writeConfig(self.lxcpath, "vps1", "a = 2\n")
        self.assertNotEqual(os.stat(path).st_ino, inode)

    def test_offsets(self):
        """
        The result says where each log ended before the start.
        """
        os.makedirs(self.directory)
        with open(os.path.join(self.directory, "log"), "w") as f:
            f.write("old\n")
        self.assertEqual(writeConfig(self.lxcpath, "vps1", "x\n"),
                         {"log": 4, "console.log": 0})


class LogTests(unittest.TestCase):

    def setUp(self):
        self.directory = self.mktemp()
        os.makedirs(self.directory)

    def append(self, name, lines):
        with open(os.path.join(self.directory, name), "a") as f:
            f.writelines(line + "\n" for line in lines)

    def test_thisStartOnly(self):
        """
        Only what came after the noted ends is quoted: this start's ERROR
        lines and its last lines, then the console's last lines.
        """
        self.append("log", ["lxc-start old ERROR from before"])
        offsets = noteLogEnds(self.directory)
        self.append("log", ["a ERROR first"] + ["line %d" % i
                                                for i in range(20)])
        self.append("console.log", ["init: cannot run /sbin/init"])
        self.assertEqual(logTail(self.directory, offsets, lines=3).split(
            "\n"), ["a ERROR first", "line 17", "line 18", "line 19",
                    "init: cannot run /sbin/init"])

    def test_quoteIsBounded(self):
        """
        Whatever a VPS's init writes to its console, the quote stays small:
        each line cut at QUOTED_LINE characters, QUOTED_TOTAL in all.
        """
        offsets = noteLogEnds(self.directory)
        self.append("console.log", ["y" * 70000] * 3)
        self.append("log", ["z ERROR " + "e" * 1000] * 20)
        quote = logTail(self.directory, offsets)
        self.assertLessEqual(len(quote), QUOTED_TOTAL)
        self.assertIn("y" * QUOTED_LINE + "[...]", quote)
        self.assertNotIn("y" * (QUOTED_LINE + 1), quote)

    def test_noLogs(self):
        self.assertEqual(logTail(self.directory, noteLogEnds(self.directory)),
                         "")

    def test_bigLogEmptied(self):
        """
        A log larger than LOG_LIMIT is emptied at the next start.
        """
        with open(os.path.join(self.directory, "log"), "wb") as f:
            f.write(b"x" * (LOG_LIMIT + 1))
        self.assertEqual(noteLogEnds(self.directory)["log"], 0)
        self.assertEqual(os.path.getsize(os.path.join(self.directory,
                                                      "log")), 0)


class RootTests(unittest.TestCase):

    def test_rootMissing(self):
        """
        A missing root directory fails the start before anything is
        written, with the path as the message.
        """
        lxcpath = self.mktemp()
        present = os.path.abspath(self.mktemp())
        os.makedirs(present)
        missing = os.path.join(present, "upper")
        removed = []
        e = self.assertRaises(RootMissing, startContainer, lxcpath, "vps1",
                              "x\n", RootSpec("overlay", [
                                  present, missing,
                                  os.path.join(present, "work")]),
                              0.001, removed.append)
        self.assertEqual(str(e), missing)
        self.assertFalse(os.path.exists(lxcpath))
        self.assertEqual(removed, [])
