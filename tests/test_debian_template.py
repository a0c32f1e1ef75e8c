"""
Building a Debian template without a network: L{vcd.vps.debianbuild}'s
package list and cache key, its release date, the removal of the build
host's identity from a tree, and the byte-for-byte reproducible tarball
L{vcd.scripts.vtemplate.writeTemplate} makes. (The real build and boot are
in L{tests.test_debian_boot}.)
"""

import os
import stat

from twisted.trial import unittest

from vcd.scripts import vtemplate
from vcd.vps import debianbuild
from vcd.vps.templates import Template, TemplateStore

RELEASE = """\
-----BEGIN PGP SIGNED MESSAGE-----
Origin: Debian
Suite: stable
Codename: bookworm
Date: Sat, 11 Jul 2026 10:16:37 UTC
"""
#: 2026-07-11T10:16:37Z
RELEASE_EPOCH = 1783764997


class PackageListTests(unittest.TestCase):

    def test_default(self):
        self.assertEqual(debianbuild.packageList(None),
                         tuple(sorted(debianbuild.DEFAULT_PACKAGES)))
        self.assertIn("systemd-sysv", debianbuild.packageList(None))

    def test_commaSeparated(self):
        self.assertEqual(debianbuild.packageList(" vim,dbus,,vim "),
                         ("dbus", "vim"))

    def test_refusesNonNames(self):
        for bad in ("a b", "x;rm", "--foo=1", "pkg/other"):
            self.assertRaises(debianbuild.DebianBuildError,
                              debianbuild.packageList, bad)

    def test_cacheKey(self):
        """
        The package tarball is named after everything that decides its
        contents, and only that.
        """
        base = ("/c", "bookworm", "http://m/debian", "amd64", ("a", "b"))
        path = debianbuild.packagesTarball(*base)
        self.assertEqual(path, debianbuild.packagesTarball(*base))
        self.assertTrue(path.startswith("/c/debootstrap-bookworm-amd64-"))
        for i, other in ((1, "trixie"), (2, "http://n/debian"),
                         (3, "arm64"), (4, ("a", "b", "c"))):
            changed = list(base)
            changed[i] = other
            self.assertNotEqual(
                debianbuild.packagesTarball(*changed), path)

    def test_missingDebootstrap(self):
        """
        Without debootstrap the build fails saying what to install.
        """
        self.patch(debianbuild.shutil, "which", lambda name: None)
        e = self.assertRaises(debianbuild.DebianBuildError,
                              debianbuild.buildDebian, self.mktemp())
        self.assertIn("install the Debian package debootstrap", str(e))


def makeTree(root):
    """
    A tiny tree with what debootstrap leaves of the build host.
    """
    def write(path, text, mode=0o644):
        path = os.path.join(root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
    write("etc/hostname", "buildhost\n")
    write("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444)
    write("var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n")
    write("etc/resolv.conf", "nameserver 10.0.0.53\n")
    write("etc/shadow", "root:*:20700:0:99999:7:::\nbin:*:1000:0:99999:7:::\n",
          0o640)
    write("etc/shadow-", "root:*:20700:0:99999:7:::\n")
    write("etc/ssh/sshd_config", "# config\n")
    write("etc/ssh/ssh_host_ed25519_key", "secret\n", 0o600)
    write("etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@b\n")
    write("var/log/dpkg.log", "installed\n")
    write("var/log/apt/history.log", "installed\n")
    write("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
          RELEASE)
    write("usr/bin/tool", "#!/bin/sh\n", 0o755)
    os.utime(os.path.join(root, "usr/bin/tool"), (1000, 1000))


class RemoveIdentityTests(unittest.TestCase):

    def setUp(self):
        self.root = self.mktemp()
        makeTree(self.root)

    def read(self, path):
        with open(os.path.join(self.root, path)) as f:
            return f.read()

    def test_releaseDate(self):
        self.assertEqual(debianbuild.releaseDate(self.root), RELEASE_EPOCH)
        self.assertEqual(debianbuild.isoDate(RELEASE_EPOCH),
                         "2026-07-11T10:16:37Z")
        self.assertRaises(debianbuild.DebianBuildError,
                          debianbuild.releaseDate, self.mktemp())

    def test_identityRemoved(self):
        debianbuild.removeIdentity(self.root, RELEASE_EPOCH)
        self.assertEqual(self.read("etc/hostname"), "")
        self.assertEqual(self.read("etc/machine-id"), "")
        self.assertEqual(os.readlink(os.path.join(
            self.root, "var/lib/dbus/machine-id")), "/etc/machine-id")
        self.assertNotIn("10.0.0.53", self.read("etc/resolv.conf"))
        self.assertEqual(sorted(os.listdir(os.path.join(self.root,
                                                        "etc/ssh"))),
                         ["sshd_config"])
        self.assertIn("ssh-keygen -A", self.read(
            "etc/systemd/system/ssh.service.d/vcd-host-keys.conf"))
        self.assertIn("localhost", self.read("etc/hosts"))
        for gone in ("etc/shadow-", "var/log/dpkg.log",
                     "var/log/apt/history.log",
                     "var/lib/apt/lists/deb.debian.org_debian_dists_"
                     "bookworm_InRelease"):
            self.assertFalse(os.path.lexists(os.path.join(self.root, gone)),
                             gone)
        for unit in debianbuild.MASKED_UNITS:
            self.assertEqual(os.readlink(os.path.join(
                self.root, "etc/systemd/system", unit)), "/dev/null")

    def test_resolvConfSymlinkNotFollowed(self):
        """
        A resolv.conf that is a symlink (to the host's, say) is replaced,
        never written through.
        """
        target = os.path.abspath(self.mktemp())
        with open(target, "w") as f:
            f.write("nameserver 10.9.9.9\n")
        resolv = os.path.join(self.root, "etc/resolv.conf")
        os.unlink(resolv)
        os.symlink(target, resolv)
        debianbuild.removeIdentity(self.root, RELEASE_EPOCH)
        self.assertFalse(os.path.islink(resolv))
        with open(target) as f:
            self.assertEqual(f.read(), "nameserver 10.9.9.9\n")

    def test_datesClamped(self):
        """
        No file is newer than the release date; older files keep their
        date; the shadow file's change dates are at most its day.
        """
        debianbuild.removeIdentity(self.root, RELEASE_EPOCH)
        for directory, dirs, files in os.walk(self.root):
            for name in dirs + files:
                st = os.lstat(os.path.join(directory, name))
                self.assertLessEqual(st.st_mtime, RELEASE_EPOCH, name)
        self.assertEqual(os.stat(os.path.join(
            self.root, "usr/bin/tool")).st_mtime, 1000)
        day = RELEASE_EPOCH // 86400
        self.assertEqual(self.read("etc/shadow"),
                         "root:*:%d:0:99999:7:::\nbin:*:1000:0:99999:7:::\n"
                         % (day,))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(
            self.root, "etc/shadow")).st_mode), 0o640)


class ReproducibleTarballTests(unittest.TestCase):

    def test_sameTreeSameBytes(self):
        """
        The same tree packed twice, at different times and into different
        directories, gives the same bytes; the configuration says what the
        template is and reads back the same.
        """
        root = self.mktemp()
        makeTree(root)
        debianbuild.removeIdentity(root, RELEASE_EPOCH)
        template = Template("deb", None, description="Debian test",
                            distribution="debian", release="12",
                            date=debianbuild.isoDate(RELEASE_EPOCH))
        outputs = []
        for _ in range(2):
            d = self.mktemp()
            os.makedirs(d)
            cache = vtemplate.writeTemplate(d, template, root, ownerRoot=False,
                                            mtime=RELEASE_EPOCH)
            with open(cache, "rb") as f:
                outputs.append(f.read())
            os.utime(os.path.join(root, "etc"), None)  # now: clamped
        self.assertEqual(outputs[0], outputs[1])
        read = TemplateStore(d).get("deb")
        self.assertEqual((read.distribution, read.release, read.date),
                         ("debian", "12", "2026-07-11T10:16:37Z"))
        self.assertEqual(read.toConfig(), template.toConfig())

    def test_configWithoutDistribution(self):
        """
        A template that says nothing of its distribution has none, and
        its configuration has no such keys.
        """
        text = Template("bb", None, description="x").toConfig()
        self.assertNotIn("distribution", text)
        self.assertEqual(Template.fromConfig("bb", None, text).release, "")
