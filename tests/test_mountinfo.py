"""
Tests for L{vcd.kernel.mountinfo}, and for its users
L{vcd.kernel.hostfeatures.cgroupMounts} and L{vcd.vps.mountuse.mountsUnder}.
"""

import os
import subprocess

from twisted.trial import unittest

from vcd.kernel.hostfeatures import cgroupMounts
from vcd.kernel.mountinfo import (Mount, parseLine, parseMountinfo,
                                  readMountinfo, unescape)
from vcd.vps.mountuse import mountsUnder

# As the kernel writes it: a space in a path is \040, a tab \011, a
# backslash \134, a comma inside an overlay option \054.
SAMPLE = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "35 22 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9"
    " - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
    "40 22 0:31 /sub\\040dir /mnt/my\\040disk\\011x rw shared:1 master:2"
    " - tmpfs my\\134source rw,size=1024k\n"
    "41 22 0:32 / /srv/v/merged rw - overlay overlay"
    " rw,lowerdir=/d/lower/t-1,upperdir=/srv/v\\040a/upper,"
    "workdir=/srv/v\\040a/work,xino=off\n"
    "42 22 0:33 / /old/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "43 22 0:34 / /odd rw - tmpfs tmpfs rw,opt=a\\054b\n"
)


class UnescapeTests(unittest.TestCase):
    def test_octal(self):
        self.assertEqual(unescape("a\\040b\\011c\\012d\\134e"),
                         "a b\tc\nd\\e")

    def test_notAnEscape(self):
        """
        A backslash not followed by three octal digits is kept.
        """
        self.assertEqual(unescape("a\\08b\\9\\"), "a\\08b\\9\\")

    def test_nonUTF8Byte(self):
        """
        An escaped byte that is not UTF-8 decodes as a file name does, so
        C{os.fsencode} gives the kernel's bytes back.
        """
        self.assertEqual(os.fsencode(unescape("/mnt/\\377x")), b"/mnt/\xffx")


class ParseTests(unittest.TestCase):
    def setUp(self):
        self.mounts = parseMountinfo(SAMPLE)

    def test_count(self):
        self.assertEqual([m.mountID for m in self.mounts],
                         [22, 35, 40, 41, 42, 43])

    def test_root(self):
        self.assertEqual(self.mounts[0], Mount(
            mountID=22, parentID=1, device="8:1", root="/", mountPoint="/",
            options=("rw", "relatime"), optional=("shared:1",),
            fsType="ext4", source="/dev/sda1",
            superOptions=("rw", "errors=remount-ro")))

    def test_escapesAndOptionalFields(self):
        self.assertEqual(self.mounts[2], Mount(
            mountID=40, parentID=22, device="0:31", root="/sub dir",
            mountPoint="/mnt/my disk\tx", options=("rw",),
            optional=("shared:1", "master:2"), fsType="tmpfs",
            source="my\\source", superOptions=("rw", "size=1024k")))

    def test_noOptionalFields(self):
        self.assertEqual(self.mounts[3].optional, ())
        self.assertEqual(self.mounts[3].superOptions, (
            "rw", "lowerdir=/d/lower/t-1", "upperdir=/srv/v a/upper",
            "workdir=/srv/v a/work", "xino=off"))

    def test_escapedCommaStaysInItsOption(self):
        self.assertEqual(self.mounts[5].superOptions, ("rw", "opt=a,b"))

    def test_newlineOptional(self):
        line = SAMPLE.splitlines()[0]
        self.assertEqual(parseLine(line), parseLine(line + "\n"))

    def test_onlyNewlineEndsALine(self):
        """
        Characters other than newline that C{str.splitlines} splits at are
        part of a path: the kernel does not escape them.
        """
        mounts = parseMountinfo(
            "50 22 0:40 / /mnt/a\x1cb\u2028c rw - tmpfs tmpfs rw\n")
        self.assertEqual([m.mountPoint for m in mounts],
                         ["/mnt/a\x1cb\u2028c"])

    def test_malformed(self):
        for line in ("", "22 1 8:1 / / rw shared:1 ext4 /dev/sda1 rw",
                     "22 1 8:1 / / rw - ext4 /dev/sda1",
                     "x 1 8:1 / / rw - ext4 /dev/sda1 rw",
                     "22 1 8:1 / - ext4 /dev/sda1 rw"):
            self.assertRaises(ValueError, parseLine, line)


class ReadTests(unittest.TestCase):
    def write(self, text):
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(text)
        return path

    def test_readFile(self):
        path = self.write(SAMPLE.encode("ascii"))
        self.assertEqual(readMountinfo(path), parseMountinfo(SAMPLE))

    def test_undecodableBytes(self):
        path = self.write(b"22 1 8:1 / /mnt/\xff rw - ext4 /dev/sda1 rw\n")
        [mount] = readMountinfo(path)
        self.assertEqual(os.fsencode(mount.mountPoint), b"/mnt/\xff")

    def test_missing(self):
        self.assertRaises(FileNotFoundError, readMountinfo,
                          self.mktemp())

    def test_kernelEscapes(self):
        """
        A tmpfs mounted (as root) at a path with a space, a tab and a
        backslash is read back from this process's mount table with that
        path, as the kernel escaped it.
        """
        if os.geteuid() != 0:
            self.fail("this test needs root (it mounts a tmpfs)")
        base = os.path.abspath(self.mktemp())
        point = os.path.join(base, "a b\tc\\d")
        os.makedirs(point)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k",
                        "vcd test", point], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", point])
        found = [m for m in readMountinfo() if m.mountPoint == point]
        self.assertEqual([(m.fsType, m.source) for m in found],
                         [("tmpfs", "vcd test")])


class UsersTests(unittest.TestCase):
    def setUp(self):
        self.path = self.mktemp()
        with open(self.path, "w") as f:
            f.write(SAMPLE)

    def test_cgroupMounts(self):
        self.assertEqual(cgroupMounts(self.path), [
            ("/sys/fs/cgroup", "cgroup2",
             ["rw", "nsdelegate", "memory_recursiveprot"]),
            ("/old/cpu", "cgroup", ["rw", "cpu", "cpuacct"])])

    def test_cgroupMountsMissingFile(self):
        self.assertEqual(cgroupMounts(self.mktemp()), [])

    def test_mountsUnderMountPoint(self):
        self.assertEqual(mountsUnder("/mnt", self.path), ["/mnt/my disk\tx"])

    def test_mountsUnderOverlayLayer(self):
        self.assertEqual(mountsUnder("/srv/v a", self.path), [
            "overlay on /srv/v/merged (upperdir=/srv/v a/upper)",
            "overlay on /srv/v/merged (workdir=/srv/v a/work)"])
        self.assertEqual(mountsUnder("/d/lower", self.path), [
            "overlay on /srv/v/merged (lowerdir=/d/lower/t-1)"])
