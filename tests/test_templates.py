"""
Tests for L{vcd.vps.templates} and the C{vtemplate} command.
"""

import contextlib
import io
import os
import tarfile

from twisted.trial import unittest

from vcd.vps import templates
from vcd.scripts import vtemplate
from vcd.vps.templates import Template, TemplateStore, validTemplateName


def makeCache(path):
    """
    Write a tiny valid template cache at C{path}.
    """
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("etc")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        archive.addfile(info)


class ValidTemplateNameTests(unittest.TestCase):
    def test_valid(self):
        for name in ("a", "debian-12", "bb_1.2", "A" * 64, "9x"):
            self.assertTrue(validTemplateName(name), name)

    def test_invalid(self):
        for name in ("", ".", "..", ".hidden", "-x", "_x", "a/b", "../x",
                     "a b", "a\0", "A" * 65, "x\n", None, b"abc", 1):
            self.assertFalse(validTemplateName(name), repr(name))


class TemplateStoreTests(unittest.TestCase):
    def setUp(self):
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.store = TemplateStore(self.dir)

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def test_cacheWithoutConfigHasDefaults(self):
        makeCache(os.path.join(self.dir, "plain.tar.gz"))
        t = self.store.get("plain")
        self.assertEqual(t.name, "plain")
        self.assertEqual(t.cachePath,
                         os.path.abspath(os.path.join(self.dir,
                                                      "plain.tar.gz")))
        self.assertEqual(t.description, "")
        self.assertEqual((t.init, t.halt, t.reboot, t.timeout),
                         ("/sbin/init", "/sbin/halt", "/sbin/reboot", 15))
        self.assertEqual(t.bcaps, templates.DEFAULT_BCAPS)
        self.assertIn("SYS_BOOT", t.bcaps)
        self.assertEqual(t.ccaps, {"SET_UTSNAME", "RAW_ICMP"})
        self.assertEqual(t.flags, {"VIRT_MEM", "VIRT_UPTIME", "VIRT_CPU",
                                   "VIRT_LOAD", "HIDE_NETIF"})
        self.assertEqual([m[1] for m in t.mounts], ["/proc", "/dev/pts"])

    def test_config(self):
        makeCache(os.path.join(self.dir, "deb.tar.gz"))
        self.write("deb.conf", """\
[template]
description = Debian test
init = /lib/systemd/systemd
halt = /bin/systemctl halt
timeout = 30
bcaps = CHOWN  KILL
ccaps =
flags = VIRT_UPTIME
mounts =
    proc /proc proc defaults
    # a comment
    tmpfs /run tmpfs size=10m,mode=755
""")
        t = self.store.get("deb")
        self.assertEqual(t.description, "Debian test")
        self.assertEqual(t.init, "/lib/systemd/systemd")
        self.assertEqual(t.halt, "/bin/systemctl halt")
        self.assertEqual(t.reboot, "/sbin/reboot")
        self.assertEqual(t.timeout, 30)
        self.assertEqual(t.bcaps, {"CHOWN", "KILL"})
        self.assertEqual(t.ccaps, frozenset())
        self.assertEqual(t.flags, {"VIRT_UPTIME"})
        self.assertEqual(t.mounts, (
            ("proc", "/proc", "proc", "defaults"),
            ("tmpfs", "/run", "tmpfs", "size=10m,mode=755")))

    def test_configRoundTrip(self):
        t = Template("x", "/c", description="d", timeout=3,
                     bcaps={"KILL"}, flags=set(),
                     mounts=[("a", "/b", "c", "d")])
        back = Template.fromConfig("x", "/c", t.toConfig())
        for attr in ("description", "init", "halt", "reboot", "timeout",
                     "bcaps", "ccaps", "flags", "mounts"):
            self.assertEqual(getattr(back, attr), getattr(t, attr), attr)

    def test_brokenConfig(self):
        makeCache(os.path.join(self.dir, "bad.tar.gz"))
        makeCache(os.path.join(self.dir, "good.tar.gz"))
        for text in ("[template]\ntimeout = soon\n",
                     "[template]\nflags = lower_case\n",
                     "[template]\nmounts = only three fields\n",
                     "no section header\n"):
            self.write("bad.conf", text)
            self.assertRaises(templates.TemplateConfigError,
                              self.store.get, "bad")
            self.assertEqual([t.name for t in self.store.list()], ["good"])

    def test_listSortedAndComplete(self):
        for name in ("zeta", "alpha", "Mid"):
            makeCache(os.path.join(self.dir, name + ".tar.gz"))
        self.write("alpha.conf", "[template]\ndescription = A\n")
        self.write("orphan.conf", "[template]\ndescription = no cache\n")
        self.write("notes.txt", "")
        self.write(".hidden.tar.gz", "")
        os.mkdir(os.path.join(self.dir, "dir.tar.gz.d"))
        names = [t.name for t in self.store.list()]
        self.assertEqual(names, ["Mid", "alpha", "zeta"])
        self.assertEqual(self.store.list()[1].description, "A")

    def test_listMissingDirectory(self):
        self.assertEqual(TemplateStore(self.mktemp()).list(), [])

    def test_getUnknown(self):
        self.assertRaises(KeyError, self.store.get, "nothere")
        self.write("orphan.conf", "[template]\n")
        self.assertRaises(KeyError, self.store.get, "orphan")

    def test_getInvalidNeverBuildsAPath(self):
        """
        An invalid name is refused even when the path it would make exists.
        """
        outside = os.path.dirname(os.path.abspath(self.dir))
        makeCache(os.path.join(outside, "escape.tar.gz"))
        self.assertTrue(os.path.exists(
            os.path.join(self.dir, "../escape.tar.gz")))
        for name in ("../escape", "/abs", ".hidden", "", None):
            self.assertRaises(KeyError, self.store.get, name)


class VtemplateTests(unittest.TestCase):
    def run_(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = vtemplate.main(list(argv))
        return status, out.getvalue(), err.getvalue()

    def test_buildBusyboxAndList(self):
        d = self.mktemp()
        status, out, err = self.run_(
            "--templatedir", d, "build", "busybox", "bb",
            "--description", "Tiny test system")
        self.assertEqual((status, err), (0, ""),
                         "needs Debian package busybox-static")
        self.assertEqual(sorted(os.listdir(d)), ["bb.conf", "bb.tar.gz"])
        t = TemplateStore(d).get("bb")
        self.assertEqual(t.description, "Tiny test system")
        self.assertEqual(t.init, "/sbin/init")
        with tarfile.open(t.cachePath) as archive:
            members = {m.name.lstrip("./"): m for m in archive.getmembers()}
        for path in ("bin/busybox", "sbin/init", "bin/sh", "etc/inittab",
                     "etc/passwd", "etc/group", "etc/hostname",
                     "etc/init.d/rcS", "dev", "proc", "sys", "tmp", "run",
                     "var", "root"):
            self.assertIn(path, members)
        self.assertEqual(members["sbin/init"].linkname, "/bin/busybox")
        self.assertTrue(all(m.uid == 0 and m.gid == 0
                            for m in members.values()))
        self.assertEqual(members["tmp"].mode, 0o1777)
        with tarfile.open(t.cachePath) as archive:
            inittab = archive.extractfile("./etc/inittab").read().decode()
        self.assertNotIn("getty", inittab)
        self.assertNotIn("respawn", inittab)
        self.assertNotIn("askfirst", inittab)
        self.assertIn("::shutdown:", inittab)

        status, out, err = self.run_("--templatedir", d, "list")
        self.assertEqual((status, out), (0, "bb\tTiny test system\n"))

        # Exists: refused without --force, replaced with it.
        status, out, err = self.run_("--templatedir", d, "build", "busybox",
                                     "bb")
        self.assertEqual(status, 1)
        self.assertIn("--force", err)
        status, out, err = self.run_("--templatedir", d, "build", "busybox",
                                     "bb", "--force")
        self.assertEqual(status, 0)
        self.assertEqual(TemplateStore(d).get("bb").description,
                         "Minimal busybox system")
        self.assertEqual(sorted(os.listdir(d)), ["bb.conf", "bb.tar.gz"])

    def test_missingBusybox(self):
        d = self.mktemp()
        status, out, err = self.run_(
            "--templatedir", d, "build", "busybox", "bb",
            "--busybox", os.path.join(d, "nonexistent"))
        self.assertEqual(status, 1)
        self.assertIn("busybox-static", err)
        self.assertEqual(TemplateStore(d).list(), [])
        self.assertEqual(os.listdir(d), [])

    def test_invalidName(self):
        d = self.mktemp()
        status, out, err = self.run_("--templatedir", d, "build", "busybox",
                                     "../evil")
        self.assertEqual(status, 1)
        self.assertIn("invalid template name", err)
