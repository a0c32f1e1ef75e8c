"""
Tests for L{vcd.vps.rootfs}, L{vcd.vps.archive}, L{vcd.vps.rootlayout}
and L{vcd.vps.mountuse}. They run as root (device nodes, owners, mounts).
"""

import io
import os
import stat
import subprocess
import tarfile

from twisted.trial import unittest

from vcd.vps import rootfs
from vcd.vps.archive import UnsafeArchive, extractCache
from vcd.vps.mountuse import mountsUnder
from vcd.vps.rootfs import (RootBusy, checkVdir, createRoot, discardPartial,
                            removeRoot, sharedLower, sweepStaging)
from vcd.vps.rootlayout import RootLayout
from vcd.vps.templates import Template


def requireRoot(case):
    if os.geteuid() != 0:
        case.fail("these tests need root (device nodes, owners, mounts)")


class Archive:
    """
    Build a test tar.gz member by member.
    """

    def __init__(self, path):
        self.path = path
        self.members = []

    def add(self, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0,
            gid=0, linkname="", devmajor=0, devminor=0):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.linkname = linkname
        info.devmajor, info.devminor = devmajor, devminor
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        self.members.append((info, data))
        return self

    def write(self):
        with tarfile.open(self.path, "w:gz", format=tarfile.GNU_FORMAT) as a:
            for info, data in self.members:
                a.addfile(info, io.BytesIO(data) if info.size else None)
        return self.path


def systemArchive(path):
    """
    An archive with what a real root filesystem has: numeric owners,
    setuid, sticky, absolute and relative symlinks, hard links, devices.
    """
    return (Archive(path)
            .add("./", tarfile.DIRTYPE, mode=0o755)
            .add("./bin", tarfile.DIRTYPE, mode=0o755)
            .add("./bin/tool", data=b"#!/bin/sh\n", mode=0o4755)
            .add("./bin/alias", tarfile.SYMTYPE, linkname="/bin/tool")
            .add("./bin/hard", tarfile.LNKTYPE, linkname="./bin/tool")
            .add("./usr", tarfile.DIRTYPE, mode=0o755)
            .add("./usr/lib", tarfile.DIRTYPE, mode=0o755)
            .add("./usr/lib/os-release", data=b"ID=test\n")
            .add("./etc", tarfile.DIRTYPE, mode=0o755)
            .add("./etc/os-release", tarfile.SYMTYPE,
                 linkname="../usr/lib/os-release")
            .add("./home", tarfile.DIRTYPE, mode=0o755)
            .add("./home/user", tarfile.DIRTYPE, mode=0o700, uid=1234,
                 gid=4321)
            .add("./tmp", tarfile.DIRTYPE, mode=0o1777)
            .add("./dev", tarfile.DIRTYPE, mode=0o755)
            .add("./dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1,
                 devminor=3)
            .add("./dev/fifo", tarfile.FIFOTYPE, mode=0o600)
            .write())


class CheckVdirTests(unittest.TestCase):
    def setUp(self):
        self.base = os.path.abspath(self.mktemp())
        os.makedirs(self.base)
        self.outside = os.path.abspath(self.mktemp())
        os.makedirs(self.outside)

    def assertRefused(self, vdir, fragment):
        e = self.assertRaises(ValueError, checkVdir, vdir, self.base)
        self.assertIn(fragment, str(e))

    def test_good(self):
        checkVdir(os.path.join(self.base, "vps"), self.base)
        checkVdir(os.path.join(self.base, "a", "b", "vps"), self.base)
        os.mkdir(os.path.join(self.base, "exists"))
        checkVdir(os.path.join(self.base, "exists"), self.base)
        checkVdir(os.path.join(self.base, "x") + "/", self.base)

    def test_symlinkedBase(self):
        """
        The base directory itself may be reached through a symlink.
        """
        link = os.path.abspath(self.mktemp())
        os.symlink(self.base, link)
        checkVdir(os.path.join(link, "vps"), link)
        checkVdir(os.path.join(self.base, "vps"), link)

    def test_relative(self):
        self.assertRefused("vservers/x", "not absolute")

    def test_dotdot(self):
        self.assertRefused(self.base + "/../x", "'..'")
        self.assertRefused(self.base + "/a/../b", "'..'")

    def test_badCharacters(self):
        self.assertRefused(self.base + "/a\0b", "NUL")
        self.assertRefused(self.base + "/a\nlxc.x = y", "newline")
        self.assertRefused(self.base + "/a:b", "':'")

    def test_outside(self):
        self.assertRefused(os.path.join(self.outside, "vps"), "not under")
        self.assertRefused(self.base, "not under")
        self.assertRefused(self.base + "-other/vps", "not under")

    def test_symlinkEscape(self):
        os.symlink(self.outside, os.path.join(self.base, "escape"))
        self.assertRefused(os.path.join(self.base, "escape", "vps"),
                           "not under")
        self.assertRefused(os.path.join(self.base, "escape", "a", "vps"),
                           "not under")

    def test_finalSymlink(self):
        inside = os.path.join(self.base, "real")
        os.mkdir(inside)
        os.symlink(inside, os.path.join(self.base, "link"))
        self.assertRefused(os.path.join(self.base, "link"), "symlink")
        os.symlink("/nonexistent", os.path.join(self.base, "dangling"))
        self.assertRefused(os.path.join(self.base, "dangling"), "symlink")


class ArchiveSafetyTests(unittest.TestCase):
    def setUp(self):
        requireRoot(self)
        self.work = os.path.abspath(self.mktemp())
        os.makedirs(self.work)
        self.outside = os.path.join(self.work, "outside")
        os.mkdir(self.outside)

    def assertRefused(self, archive, fragment):
        dest = os.path.abspath(self.mktemp())
        os.mkdir(dest)
        e = self.assertRaises(UnsafeArchive, extractCache,
                              archive.write(), dest)
        self.assertIn(fragment, str(e))
        self.assertEqual(os.listdir(dest), [])
        self.assertEqual(os.listdir(self.outside), [])

    def archive(self):
        return Archive(os.path.join(self.work, "a.tar.gz"))

    def test_absoluteName(self):
        self.assertRefused(
            self.archive().add(self.outside + "/x", data=b"x"), "absolute")

    def test_dotdotName(self):
        self.assertRefused(
            self.archive().add("a/../../outside/x", data=b"x"), "'..'")

    def test_throughSymlink(self):
        self.assertRefused(
            self.archive()
            .add("link", tarfile.SYMTYPE, linkname=self.outside)
            .add("link/x", data=b"x"), "beneath the symlink")

    def test_replacesSymlink(self):
        self.assertRefused(
            self.archive()
            .add("link", tarfile.SYMTYPE, linkname=self.outside)
            .add("link", data=b"x"), "replaces a symlink")

    def test_hardLinkOutside(self):
        self.assertRefused(
            self.archive().add("h", tarfile.LNKTYPE,
                               linkname=self.outside + "/x"), "absolute")
        self.assertRefused(
            self.archive().add("h", tarfile.LNKTYPE,
                               linkname="../outside/x"), "'..'")

    def test_relativeSymlinkClimbingOut(self):
        self.assertRefused(
            self.archive().add("a/b", tarfile.SYMTYPE,
                               linkname="../../outside"), "climbs out")

    def test_systemArchive(self):
        """
        Owners by number, setuid and sticky modes, symlinks, hard links,
        device nodes and fifos are all preserved.
        """
        dest = os.path.join(self.work, "dest")
        os.mkdir(dest)
        extractCache(
            systemArchive(os.path.join(self.work, "s.tar.gz")), dest)
        tool = os.stat(os.path.join(dest, "bin/tool"))
        self.assertEqual(stat.S_IMODE(tool.st_mode), 0o4755)
        self.assertEqual(os.readlink(os.path.join(dest, "bin/alias")),
                         "/bin/tool")
        self.assertEqual(os.stat(os.path.join(dest, "bin/hard")).st_ino,
                         tool.st_ino)
        self.assertEqual(os.readlink(os.path.join(dest, "etc/os-release")),
                         "../usr/lib/os-release")
        home = os.stat(os.path.join(dest, "home/user"))
        self.assertEqual((home.st_uid, home.st_gid), (1234, 4321))
        self.assertEqual(stat.S_IMODE(home.st_mode), 0o700)
        self.assertEqual(
            stat.S_IMODE(os.stat(os.path.join(dest, "tmp")).st_mode), 0o1777)
        null = os.lstat(os.path.join(dest, "dev/null"))
        self.assertTrue(stat.S_ISCHR(null.st_mode))
        self.assertEqual((os.major(null.st_rdev), os.minor(null.st_rdev)),
                         (1, 3))
        self.assertTrue(stat.S_ISFIFO(
            os.lstat(os.path.join(dest, "dev/fifo")).st_mode))


class CreateRootTests(unittest.TestCase):
    def setUp(self):
        requireRoot(self)
        self.work = os.path.abspath(self.mktemp())
        self.base = os.path.join(self.work, "vservers")
        self.datadir = os.path.join(self.work, "data")
        os.makedirs(self.base)
        cache = systemArchive(os.path.join(self.work, "sys.tar.gz"))
        self.template = Template("sys", cache)

    def test_copy(self):
        vdir = os.path.join(self.base, "one")
        layout = createRoot(self.template, vdir, True, self.datadir)
        self.assertEqual(layout.kind, "copy")
        self.assertEqual(layout.rootfs, os.path.join(vdir, "rootfs"))
        self.assertEqual(os.listdir(vdir), ["rootfs"])
        self.assertEqual(stat.S_IMODE(os.stat(vdir).st_mode), 0o700)
        self.assertTrue(stat.S_ISCHR(
            os.lstat(os.path.join(vdir, "rootfs/dev/null")).st_mode))
        self.assertEqual(layout.lxcRootfsPath(), "dir:" + layout.rootfs)
        self.assertFalse(os.path.exists(rootfs.stagingPath(vdir)))
        self.assertEqual(sorted(os.listdir(self.base)), ["one"])

    def test_overlay(self):
        one = createRoot(self.template, os.path.join(self.base, "one"),
                         False, self.datadir)
        two = createRoot(self.template, os.path.join(self.base, "two"),
                         False, self.datadir)
        self.assertEqual(one.kind, "overlay")
        self.assertEqual(sorted(os.listdir(one.vdir)), ["upper", "work"])
        self.assertEqual(os.listdir(one.upper), [])
        self.assertEqual(os.listdir(one.work), [])
        self.assertEqual(one.lower, two.lower)
        self.assertEqual(os.path.dirname(one.lower),
                         os.path.join(self.datadir, "lower"))
        self.assertTrue(os.path.basename(one.lower).startswith("sys-"))
        self.assertEqual(os.listdir(os.path.dirname(one.lower)),
                         [os.path.basename(one.lower)])
        self.assertTrue(os.path.isfile(os.path.join(one.lower, "bin/tool")))
        self.assertEqual(one.lxcRootfsPath(),
                         "overlay:%s:%s" % (one.lower, one.upper))
        self.assertEqual(
            stat.S_IMODE(os.stat(one.upper).st_mode),
            stat.S_IMODE(os.stat(one.lower).st_mode))

    def test_overlayWorks(self):
        """
        The layout mounts as an overlay that sees the template's files and
        writes only to the upper layer.
        """
        layout = createRoot(self.template, os.path.join(self.base, "one"),
                            False, self.datadir)
        merged = os.path.join(self.work, "merged")
        os.mkdir(merged)
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=%s,upperdir=%s,workdir=%s"
             % (layout.lower, layout.upper, layout.work), merged],
            check=True)
        try:
            with open(os.path.join(merged, "usr/lib/os-release")) as f:
                self.assertEqual(f.read(), "ID=test\n")
            with open(os.path.join(merged, "etc/new"), "w") as f:
                f.write("x")
            e = self.assertRaises(RootBusy, removeRoot, layout.vdir,
                                  self.base)
            self.assertIn("upperdir=" + layout.upper, str(e))
        finally:
            subprocess.run(["umount", merged], check=True)
        self.assertTrue(os.path.exists(os.path.join(layout.upper, "etc/new")))
        self.assertFalse(os.path.exists(os.path.join(layout.lower, "etc/new")))

    def test_newCacheNewLower(self):
        first = sharedLower(self.template, self.datadir)
        st = os.stat(self.template.cachePath)
        os.utime(self.template.cachePath,
                 ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
        second = sharedLower(self.template, self.datadir)
        self.assertNotEqual(first, second)
        self.assertTrue(os.path.isdir(first))

    def test_lowerIgnoresCrashedBuild(self):
        lowers = os.path.join(self.datadir, "lower")
        os.makedirs(os.path.join(lowers, ".vcd-new.sys-123.abc", "junk"))
        lower = sharedLower(self.template, self.datadir)
        self.assertTrue(os.path.isfile(os.path.join(lower, "bin/tool")))
        self.assertEqual(sweepStaging(lowers), [".vcd-new.sys-123.abc"])
        self.assertEqual(os.listdir(lowers), [os.path.basename(lower)])

    def test_exists(self):
        vdir = os.path.join(self.base, "one")
        os.mkdir(vdir)
        self.assertRaises(FileExistsError, createRoot, self.template, vdir,
                          True, self.datadir)
        self.assertEqual(os.listdir(self.base), ["one"])

    def test_failureLeavesNothing(self):
        bad = Archive(os.path.join(self.work, "bad.tar.gz"))
        bad.add("ok", data=b"x").add("/abs", data=b"x").write()
        template = Template("bad", bad.path)
        for copy in (True, False):
            vdir = os.path.join(self.base, "one")
            self.assertRaises(UnsafeArchive, createRoot, template, vdir,
                              copy, self.datadir)
            self.assertEqual(os.listdir(self.base), [])
        self.assertEqual(os.listdir(os.path.join(self.datadir, "lower")), [])

    def test_missingCache(self):
        template = Template("gone", os.path.join(self.work, "gone.tar.gz"))
        self.assertRaises(OSError, createRoot, template,
                          os.path.join(self.base, "one"), True, self.datadir)
        self.assertEqual(os.listdir(self.base), [])

    def test_staleStagingReplaced(self):
        vdir = os.path.join(self.base, "one")
        os.makedirs(os.path.join(rootfs.stagingPath(vdir), "rootfs", "old"))
        layout = createRoot(self.template, vdir, True, self.datadir)
        self.assertFalse(os.path.exists(os.path.join(layout.rootfs, "old")))
        self.assertEqual(os.listdir(self.base), ["one"])


class RootLayoutTests(unittest.TestCase):
    def test_roundTrip(self):
        for layout in (
                RootLayout("copy", "/v/a", rootfs="/v/a/rootfs"),
                RootLayout("overlay", "/v/b", lower="/d/lower/t-1",
                           upper="/v/b/upper", work="/v/b/work")):
            record = layout.toRecord()
            self.assertTrue(all(isinstance(v, str) for v in record.values()))
            self.assertEqual(RootLayout.fromRecord(record), layout)
        self.assertEqual(RootLayout("copy", "/v/a", rootfs="/r").toRecord(),
                         {"kind": "copy", "vdir": "/v/a", "rootfs": "/r"})

    def test_badRecords(self):
        for record in ({}, {"kind": "copy"}, {"kind": "zfs", "vdir": "/v"},
                       {"kind": "copy", "vdir": "/v"},
                       {"kind": "overlay", "vdir": "/v", "lower": "/l"},
                       {"kind": "copy", "vdir": "/v", "rootfs": "/r",
                        "extra": "x"}):
            self.assertRaises(ValueError, RootLayout.fromRecord, record)

    def test_pathsLXCCannotUse(self):
        for layout in (RootLayout("copy", "/v/a", rootfs="/v/a:b/rootfs"),
                       RootLayout("overlay", "/v/b", lower="/d/l,x",
                                  upper="/v/b/upper", work="/v/b/work")):
            self.assertRaises(ValueError, layout.lxcRootfsPath)


class RemoveRootTests(unittest.TestCase):
    def setUp(self):
        requireRoot(self)
        self.work = os.path.abspath(self.mktemp())
        self.base = os.path.join(self.work, "vservers")
        os.makedirs(self.base)
        self.outside = os.path.join(self.work, "precious")
        os.makedirs(os.path.join(self.outside, "sub"))
        with open(os.path.join(self.outside, "sub", "file"), "w") as f:
            f.write("keep")

    def makeVdir(self, name="vps"):
        vdir = os.path.join(self.base, name)
        os.makedirs(os.path.join(vdir, "rootfs", "etc"))
        with open(os.path.join(vdir, "rootfs", "etc", "x"), "w") as f:
            f.write("x")
        return vdir

    def assertOutsideIntact(self):
        with open(os.path.join(self.outside, "sub", "file")) as f:
            self.assertEqual(f.read(), "keep")

    def test_remove(self):
        vdir = self.makeVdir()
        removeRoot(vdir, self.base)
        self.assertEqual(os.listdir(self.base), [])

    def test_missing(self):
        removeRoot(os.path.join(self.base, "never"), self.base)

    def test_symlinksInsideNotFollowed(self):
        vdir = self.makeVdir()
        os.symlink(self.outside, os.path.join(vdir, "rootfs", "escape"))
        os.symlink(os.path.join(self.outside, "sub"),
                   os.path.join(vdir, "rootfs", "etc", "escape2"))
        os.symlink("/", os.path.join(vdir, "rootfs", "root"))
        removeRoot(vdir, self.base)
        self.assertEqual(os.listdir(self.base), [])
        self.assertOutsideIntact()

    def test_vdirSymlinkRefused(self):
        link = os.path.join(self.base, "vps")
        os.symlink(self.outside, link)
        self.assertRaises(ValueError, removeRoot, link, self.base)
        self.assertOutsideIntact()

    def test_outsideRefused(self):
        self.assertRaises(ValueError, removeRoot, self.outside, self.base)
        self.assertRaises(ValueError, removeRoot, self.base, self.base)
        self.assertOutsideIntact()

    def test_busy(self):
        vdir = self.makeVdir("with space")
        point = os.path.join(vdir, "rootfs", "mnt point")
        os.mkdir(point)
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", point], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", point])
        self.assertEqual(mountsUnder(vdir), [point])
        e = self.assertRaises(RootBusy, removeRoot, vdir, self.base)
        self.assertIn(point, str(e))
        self.assertTrue(os.path.isdir(point))
        self.assertEqual(os.listdir(self.base), ["with space"])
        subprocess.run(["umount", point], check=True)
        removeRoot(vdir, self.base)
        self.assertEqual(os.listdir(self.base), [])

    def test_busyLoopDevice(self):
        """
        A loop device backed by an image inside the VPS directory (a disk
        limit) makes it busy, even without any mount.
        """
        vdir = self.makeVdir()
        image = os.path.join(vdir, "disk.img")
        with open(image, "wb") as f:
            f.truncate(1 << 20)
        device = subprocess.run(["losetup", "--find", "--show", image],
                                check=True, stdout=subprocess.PIPE,
                                text=True).stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", device])
        e = self.assertRaises(RootBusy, removeRoot, vdir, self.base)
        self.assertIn(device, str(e))
        self.assertTrue(os.path.exists(image))

    def test_discardPartial(self):
        vdir = os.path.join(self.base, "vps")
        os.makedirs(os.path.join(rootfs.stagingPath(vdir), "rootfs"))
        os.symlink(self.outside,
                   os.path.join(rootfs.stagingPath(vdir), "rootfs", "esc"))
        discardPartial(vdir)
        self.assertEqual(os.listdir(self.base), [])
        self.makeVdir()
        discardPartial(vdir)
        self.assertEqual(os.listdir(self.base), ["vps"])
        discardPartial(vdir, includeVdir=True)
        self.assertEqual(os.listdir(self.base), [])
        discardPartial(vdir, includeVdir=True)
        self.assertOutsideIntact()

    def test_sweepStaging(self):
        self.makeVdir("keep")
        os.makedirs(os.path.join(self.base, ".vcd-new.a", "rootfs"))
        os.makedirs(os.path.join(self.base, ".vcd-trash.b.1234", "x"))
        os.symlink(self.outside, os.path.join(self.base, ".vcd-trash.c.1"))
        open(os.path.join(self.base, ".vcd-new.file"), "w").close()
        self.assertEqual(
            sweepStaging(self.base),
            [".vcd-new.a", ".vcd-new.file", ".vcd-trash.b.1234",
             ".vcd-trash.c.1"])
        self.assertEqual(os.listdir(self.base), ["keep"])
        self.assertOutsideIntact()
        self.assertEqual(sweepStaging(os.path.join(self.work, "none")), [])
