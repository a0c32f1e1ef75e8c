"""
What callers without the admin flag may give a VPS, and what their faults
say (issue 7): the ceiling of system capabilities
(L{vcd.vps.capceiling}), the mount policy (L{vcd.vps.mountpolicy}) and
faults without host paths (L{vcd.vps.faulttext}).

Most tests run on the fake daemon (L{tests.fakedaemon}): every call goes
through the dispatcher as a request does (authentication, capabilities,
owner rules, the argument checks). One starts a real container.

The oracles are written out here: the capabilities the issue names as
never for non-admins, the filesystem types it names as dangerous, the
manual's fault codes (9.3), and the daemon's directories as configured.
"""

import os

from twisted.internet import defer
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from tests.harness import DaemonTestCase
from tests.running import RunningHelpers
from vcd.config import ConfigurationError, buildConfiguration
from vcd.vps.faulttext import HostPathScrubber
from vcd.vps.templates import DEFAULT_BCAPS

MEPERM = 101
MEINVAL = 200
MESYS = 500

PASSWORD = "user-secret-1"

#: Capabilities that reach host-global state: never for non-admins.
NEVER = ["SYS_MODULE", "SYS_RAWIO", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE",
         "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "BPF", "PERFMON",
         "SYS_PACCT", "LINUX_IMMUTABLE", "AUDIT_CONTROL", "AUDIT_READ"]
#: Left out of the default ceiling, but a host may add them.
NOT_BY_DEFAULT = ["MKNOD", "CHECKPOINT_RESTORE"]
#: The default ceiling, as contrib/vcd.conf.example documents it.
DEFAULT_CEILING = sorted(
    "AUDIT_WRITE CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK"
    " IPC_OWNER KILL LEASE NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW"
    " SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_NICE"
    " SYS_PTRACE SYS_RESOURCE SYS_TTY_CONFIG".split())
#: Filesystem types that show a VPS state of the whole host.
HOST_GLOBAL_TYPES = ["devtmpfs", "debugfs", "tracefs", "securityfs", "bpf",
                     "cgroup", "cgroup2", "binfmt_misc", "configfs",
                     "efivarfs", "pstore", "fusectl"]


class PolicyTestCase(FakeDaemonMixin, unittest.TestCase):
    """
    A fake daemon with VPS C{vps1} owned by C{carol}, who has no admin
    flag but every capability these tests need.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.fake.addUser("carol", PASSWORD,
                          caps=["BCAP", "MOUNT", "INIT", "INFO"])
        self.xid = self.fake.addVps("vps1", owner="carol")

    def carol(self, method, **args):
        """
        Call C{method} on vps1 as carol.
        """
        return self.fake.call(method, "carol", PASSWORD, name="vps1", **args)

    def admin(self, method, **args):
        """
        Call C{method} on vps1 as admin.
        """
        return self.fake.call(method, name="vps1", **args)

    def refused(self, d, contains):
        """
        Assert MEPERM naming C{contains}.
        """
        return self.assertFault(MEPERM, d, contains)


class CeilingTests(PolicyTestCase):
    """
    vxdb.vx.bcaps.add under the host's ceiling.
    """

    def bcaps(self):
        return self.answer(self.admin("vxdb.vx.bcaps.get"))

    def test_nonAdminRefusedAboveCeiling(self):
        """
        Each capability the issue names as reaching the host, and those
        the default leaves out, is MEPERM naming it, and is not stored.
        """
        for bcap in NEVER + NOT_BY_DEFAULT:
            self.refused(self.carol("vxdb.vx.bcaps.add", bcap=bcap), bcap)
            self.refused(self.carol("vxdb.vx.bcaps.add",
                                    bcap="cap_" + bcap.lower()), bcap)
        self.assertEqual(self.bcaps(), [])

    def test_nonAdminWithinCeiling(self):
        """
        What an unprivileged distribution needs is within the default
        ceiling: SYS_ADMIN (systemd), NET_RAW (ping), NET_ADMIN.
        """
        for bcap in ("SYS_ADMIN", "NET_RAW", "NET_ADMIN", "CHOWN"):
            self.answer(self.carol("vxdb.vx.bcaps.add", bcap=bcap))
        self.assertEqual(self.bcaps(),
                         ["CHOWN", "NET_ADMIN", "NET_RAW", "SYS_ADMIN"])

    def test_templateDefaultsWithinCeiling(self):
        """
        A non-admin who removed what the default template gives may add
        each of them back.
        """
        for bcap in sorted(DEFAULT_BCAPS):
            self.answer(self.carol("vxdb.vx.bcaps.add", bcap=bcap))
        self.answer(self.carol("vxdb.vx.bcaps.remove", bcap=""))
        self.assertEqual(self.bcaps(), [])

    def test_adminAboveCeiling(self):
        for bcap in ("SYS_MODULE", "MKNOD", "BPF"):
            self.answer(self.admin("vxdb.vx.bcaps.add", bcap=bcap))
        self.assertEqual(self.bcaps(), ["BPF", "MKNOD", "SYS_MODULE"])
        # Lowering is always allowed.
        self.answer(self.carol("vxdb.vx.bcaps.remove", bcap="SYS_MODULE"))
        self.assertEqual(self.bcaps(), ["BPF", "MKNOD"])

    def test_configuredCeiling(self):
        """
        The ceiling is the configuration's, as vcd.hostinfo reports it.
        """
        info = self.answer(self.fake.call("vcd.hostinfo", "carol", PASSWORD))
        self.assertEqual(info["bcapceiling"], DEFAULT_CEILING)
        self.fake.config.bcapCeiling = frozenset(["CHOWN", "MKNOD"])
        info = self.answer(self.fake.call("vcd.hostinfo", "carol", PASSWORD))
        self.assertEqual(info["bcapceiling"], ["CHOWN", "MKNOD"])
        self.answer(self.carol("vxdb.vx.bcaps.add", bcap="MKNOD"))
        self.refused(self.carol("vxdb.vx.bcaps.add", bcap="SYS_ADMIN"),
                     "SYS_ADMIN")
        self.assertEqual(self.bcaps(), ["MKNOD"])


class CeilingConfigurationTests(unittest.TestCase):
    """
    The key C{bcapceiling} of the configuration file.
    """

    def configure(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[vcd]\n" + text)
        return buildConfiguration({"config": path, "listen": []})

    def test_default(self):
        self.assertEqual(sorted(self.configure("").bcapCeiling),
                         DEFAULT_CEILING)

    def test_set(self):
        config = self.configure("bcapceiling = CHOWN KILL\n  MKNOD\n")
        self.assertEqual(config.bcapCeiling, {"CHOWN", "KILL", "MKNOD"})
        self.assertEqual(self.configure("bcapceiling =\n").bcapCeiling,
                         frozenset())

    def test_refused(self):
        for bcap in NEVER:
            error = self.assertRaises(ConfigurationError, self.configure,
                                      "bcapceiling = CHOWN %s\n" % (bcap,))
            self.assertIn(bcap, str(error))
        error = self.assertRaises(ConfigurationError, self.configure,
                                  "bcapceiling = CHOWN NOT_A_CAP\n")
        self.assertIn("NOT_A_CAP", str(error))


class NonAdminMountTests(PolicyTestCase):
    """
    vxdb.mount.set by a caller without the admin flag.
    """

    def mounts(self):
        return self.answer(self.admin("vxdb.mount.get"))

    def test_overlayOfHostPaths(self):
        """
        The issue's escapes: an overlay reading the host's /etc, and one
        whose upper and work directories are the host's.
        """
        for option in ("lowerdir=/tmp:/etc", "upperdir=/tmp/up",
                       "workdir=/tmp/work", "source=/etc", "loop"):
            for fstype in ("overlay", "tmpfs"):
                self.refused(self.carol("vxdb.mount.set", src="none",
                                        dst="/mnt/hs", type=fstype,
                                        opts="ro," + option),
                             option.split("=")[0])
        self.refused(self.carol(
            "vxdb.mount.set", src="none", dst="/mnt/hs", type="overlay",
            opts="lowerdir=x,upperdir=y,workdir=z"), "lowerdir")
        self.assertEqual(self.mounts(), [])

    def test_hostGlobalTypes(self):
        for fstype in HOST_GLOBAL_TYPES:
            self.refused(self.carol("vxdb.mount.set", src="none",
                                    dst="/mnt/x", type=fstype), fstype)
        self.assertEqual(self.mounts(), [])

    def test_adminOnlyTypes(self):
        """
        Anything but the allow-list, an unnamed type (auto) among them.
        """
        for fstype in ("ext4", "overlay", "nfs", "ramfs", "hugetlbfs",
                       "fuse", ""):
            self.refused(self.carol("vxdb.mount.set", src="none",
                                    dst="/mnt/x", type=fstype),
                         fstype or "auto")
        self.assertEqual(self.mounts(), [])

    def test_safeOptions(self):
        accepted = [
            ("tmpfs", "/tmp", "size=64m,nr_inodes=10k,mode=1777,uid=0,gid=0,"
             "nosuid,nodev,noexec"),
            ("tmpfs", "/run", "size=10m,mode=755,noatime"),
            ("tmpfs", "/mnt/ro", "ro,huge=never,inode64"),
            ("tmpfs", "/mnt/plain", ""),
            ("proc", "/proc", "hidepid=2,subset=pid,nosuid,nodev,noexec"),
            ("proc", "/mnt/proc", "hidepid=invisible,gid=4,ro"),
            ("sysfs", "/sys", "ro,nosuid,nodev,noexec"),
            ("devpts", "/dev/pts", "gid=5,mode=620,ptmxmode=666,newinstance"),
            ("mqueue", "/dev/mqueue", "nosuid,nodev,noexec"),
        ]
        for fstype, dst, opts in accepted:
            self.answer(self.carol("vxdb.mount.set", src=fstype, dst=dst,
                                   type=fstype, opts=opts))
        self.assertEqual(
            sorted((m["type"], m["dst"], m["opts"]) for m in self.mounts()),
            sorted((t, d, o or "defaults") for t, d, o in accepted))

    def test_unsafeOptions(self):
        refused = [
            ("tmpfs", "mode=9999", "mode"),
            ("tmpfs", "size=lots", "size"),
            ("tmpfs", "uid=root", "uid"),
            ("tmpfs", "mpol=bind:0", "mpol"),
            ("tmpfs", "nosuid,x-anything", "x-anything"),
            ("tmpfs", "create=file", "create"),
            ("proc", "hidepid=3", "hidepid"),
            ("proc", "subset=sys", "subset"),
            ("devpts", "gid=5,mode=620,hidepid=2", "hidepid"),
            ("sysfs", "size=1m", "size"),
        ]
        for fstype, opts, named in refused:
            self.refused(self.carol("vxdb.mount.set", src=fstype,
                                    dst="/mnt/x", type=fstype, opts=opts),
                         named)
        self.assertEqual(self.mounts(), [])

    def test_pathSourceStillInvalid(self):
        """
        A path as the source stays the argument error it was.
        """
        self.assertFault(MEINVAL, self.carol(
            "vxdb.mount.set", src="/dev/sda1", dst="/mnt/x", type="tmpfs"),
            "'src'")


class AdminMountTests(PolicyTestCase):
    """
    vxdb.mount.set by an administrator: more types, but no host-global
    type and no path a VPS can write.
    """

    def overlay(self, lower="/srv/lower", upper="/srv/upper",
                work="/srv/work"):
        return self.admin("vxdb.mount.set", src="none", dst="/mnt/o",
                          type="overlay", opts="lowerdir=%s,upperdir=%s,"
                          "workdir=%s" % (lower, upper, work))

    def test_hostGlobalTypes(self):
        for fstype in HOST_GLOBAL_TYPES:
            self.refused(self.admin("vxdb.mount.set", src="none",
                                    dst="/mnt/x", type=fstype), fstype)

    def test_overlayOutsideVpsDirectories(self):
        self.answer(self.overlay())
        self.answer(self.admin("vxdb.mount.set", src="/dev/vdb1",
                               dst="/mnt/disk", type="ext4", opts="ro"))
        self.assertEqual(len(self.answer(self.admin("vxdb.mount.get"))), 2)

    def test_overlayOfVpsDirectories(self):
        """
        Nothing at, under or above the vbasedir or the data directory.
        """
        vbasedir = self.fake.config.vbasedir
        datadir = self.fake.config.datadir
        cases = [
            (dict(upper=os.path.join(vbasedir, "vps1/root/up")), "upperdir"),
            (dict(work=os.path.join(vbasedir, "w")), "workdir"),
            (dict(lower="/srv/a:" + vbasedir), "lowerdir"),
            (dict(lower="/"), "lowerdir"),
            (dict(lower=os.path.dirname(vbasedir)), "lowerdir"),
            (dict(lower=os.path.join(datadir, "lxc/vps1/rootfs.mnt")),
             "lowerdir"),
            (dict(lower="relative/dir"), "lowerdir"),
        ]
        for args, named in cases:
            self.refused(self.overlay(**args), named)
        self.refused(self.admin(
            "vxdb.mount.set", src=os.path.join(vbasedir, "vps1/root/img"),
            dst="/mnt/disk", type="ext4", opts="loop"), "src")
        self.assertEqual(self.answer(self.admin("vxdb.mount.get")), [])

    def test_bindOfVpsDirectory(self):
        """
        Bind mounts stay refused to everybody (an argument error, as
        before this policy).
        """
        for option in ("bind", "rbind"):
            self.assertFault(MEINVAL, self.admin(
                "vxdb.mount.set", src=os.path.join(
                    self.fake.config.vbasedir, "vps1"), dst="/mnt/b",
                type="none", opts=option), option)

    def test_symlinkIntoVpsDirectories(self):
        """
        A path outside them that resolves into them is refused too.
        """
        base = os.path.abspath(self.mktemp())
        os.makedirs(base)
        link = os.path.join(base, "innocent")
        os.symlink(os.path.join(self.fake.config.vbasedir, "vps1"), link)
        self.refused(self.overlay(upper=os.path.join(link, "root")),
                     "upperdir")


class FaultTextTests(PolicyTestCase):
    """
    A failed start's fault names the problem inside the VPS, never the
    host's directories; the daemon's log has all of it.
    """

    def setUp(self):
        PolicyTestCase.setUp(self)
        config = self.fake.config
        self.directories = [config.datadir, config.vbasedir,
                            config.templatedir, config.lxcpath,
                            os.path.dirname(config.datadir)]
        self.logged = []
        observer = lambda event: self.logged.append(formatEvent(event))
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    def assertNoHostPath(self, text):
        for directory in self.directories:
            self.assertNotIn(directory, text)

    def test_lxcLog(self):
        config = self.fake.config
        mnt = os.path.join(config.lxcpath, "vps1", "rootfs.mnt")
        log = "\n".join([
            "liblxc failed to start vps1:",
            'lxc vps1 20261205 ERROR conf - ../src/lxc/conf.c:mount_entry:'
            '2403 - Not a directory - Failed to mount "tmpfs" on'
            ' "%s/etc/passwd/x"' % (mnt,),
            "lxc vps1 20261205 ERROR start - Failed to setup container"
            ' "vps1" (config %s/vps1/config)' % (config.lxcpath,),
            "lxc vps1 20261205 ERROR overlay - upperdir=%s/vps1/upper,"
            "lowerdir=%s/busybox" % (config.vbasedir, config.templatedir),
        ])
        self.kernel.vps("vps1").startFailures.append(log)
        fault = self.assertFault(MESYS, self.carol("vx.start"))
        self.assertNoHostPath(fault.faultString)
        self.assertIn('"/etc/passwd/x"', fault.faultString)
        self.assertIn("(config <host>)", fault.faultString)
        self.assertIn("upperdir=<host>,lowerdir=<host>", fault.faultString)
        self.assertIn("Not a directory", fault.faultString)
        self.assertTrue([text for text in self.logged
                         if mnt + "/etc/passwd/x" in text], self.logged)

    def test_rootMissing(self):
        self.answer(self.carol("vx.start"))
        self.fake.existingPaths.clear()
        d = self.carol("vx.restart")
        self.clock.advance(60)  # the halt
        fault = self.assertFault(MESYS, d, "root filesystem is missing")
        self.assertNoHostPath(fault.faultString)
        fault = self.assertFault(MESYS, self.carol("vx.start"),
                                 "root filesystem is missing")
        self.assertNoHostPath(fault.faultString)
        self.assertTrue([text for text in self.logged
                         if self.fake.rootOf("vps1") in text], self.logged)

    def test_adminSeesDetail(self):
        """
        An administrator's fault names the host's paths.
        """
        text = "failed: %s/vps1/config" % (self.fake.config.lxcpath,)
        self.kernel.vps("vps1").startFailures.append(text)
        self.assertFault(MESYS, self.admin("vx.start"), text)
        self.fake.existingPaths.clear()
        self.assertFault(MESYS, self.admin("vx.start"),
                         self.fake.rootOf("vps1"))

    def test_groupStart(self):
        """
        A group's fault quotes each VPS's: without host paths too.
        """
        self.answer(self.fake.call("vg.add", group="g", name="vps1"))
        self.kernel.vps("vps1").startFailures.append(
            "failed: %s/vps1/config" % (self.fake.config.lxcpath,))
        fault = self.assertFault(MESYS, self.fake.call(
            "vg.vx.start", "carol", PASSWORD, group="g"))
        self.assertNoHostPath(fault.faultString)
        self.assertIn("failed: <host>", fault.faultString)


class ScrubberTests(unittest.TestCase):
    """
    L{HostPathScrubber}.
    """

    def test_boundaries(self):
        scrubber = HostPathScrubber(["/srv/vs"], ["/srv/vs/a/root"])
        self.assertEqual(
            scrubber.scrub("/srv/vs2/x /srv/vs /srv/vs/b:'/srv/vs/a/root'"
                           " /srv/vs/a/root/etc/x, /srv/vs/a/rootfs"),
            "/srv/vs2/x <host> <host>:'/' /etc/x, <host>")

    def test_resolved(self):
        """
        A directory named through a symlink is replaced under both names.
        """
        base = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(base, "real"))
        os.symlink(os.path.join(base, "real"), os.path.join(base, "link"))
        scrubber = HostPathScrubber([os.path.join(base, "link")])
        self.assertEqual(scrubber.scrub("%s/real/x and %s/link/y"
                                        % (base, base)),
                         "<host> and <host>")


class OverHTTPTests(DaemonTestCase):
    """
    The ceiling and the mount policy over a real connection.
    """

    @defer.inlineCallbacks
    def test_policy(self):
        yield self.makeUser("fred", PASSWORD, caps=["BCAP", "MOUNT", "INFO"])
        fred = self.client("fred", PASSWORD)
        yield self.makeVps("vps1", owner="fred")
        info = yield fred.call("vcd.hostinfo")
        self.assertEqual(info["bcapceiling"], DEFAULT_CEILING)
        for bcap in ("SYS_MODULE", "MKNOD"):
            yield self.assertFault(MEPERM, fred.call(
                "vxdb.vx.bcaps.add", name="vps1", bcap=bcap), bcap)
        yield fred.call("vxdb.vx.bcaps.add", name="vps1", bcap="SYS_ADMIN")
        yield self.admin.call("vxdb.vx.bcaps.add", name="vps1",
                              bcap="MKNOD")
        bcaps = yield fred.call("vxdb.vx.bcaps.get", name="vps1")
        self.assertIn("SYS_ADMIN", bcaps)
        self.assertNotIn("SYS_MODULE", bcaps)
        self.assertIn("MKNOD", bcaps)
        yield self.assertFault(MEPERM, fred.call(
            "vxdb.mount.set", name="vps1", src="none", dst="/mnt/hs",
            type="overlay", opts="lowerdir=%s:/etc" % (self.base,)),
            "lowerdir")
        yield self.assertFault(MEPERM, fred.call(
            "vxdb.mount.set", name="vps1", src="none", dst="/mnt/b",
            type="binfmt_misc"), "binfmt_misc")
        yield fred.call("vxdb.mount.set", name="vps1", src="tmpfs",
                        dst="/tmp", type="tmpfs", opts="size=16m,nosuid")
        mounts = yield fred.call("vxdb.mount.get", name="vps1")
        self.assertEqual([m["dst"] for m in mounts],
                         ["/dev/pts", "/proc", "/tmp"])


class CreateFaultTests(DaemonTestCase):
    """
    vx.create's faults name no host directory to a caller without the
    admin flag; an administrator's still do.
    """

    @defer.inlineCallbacks
    def test_noHostPath(self):
        """
        A rebuild (the only vx.create an owner without the admin flag may
        call) from a template that does not exist.
        """
        yield self.makeUser("emil", PASSWORD, caps=["CREATE"])
        emil = self.client("emil", PASSWORD)
        yield self.makeVps("own1", owner="emil")
        rebuild = dict(name="own1", template="nosuch", force=True)
        fault = yield self.assertFault(MEINVAL, emil.call("vx.create",
                                                          **rebuild))
        self.assertIn("<host>", fault.message)
        for directory in (self.config.templatedir, self.config.datadir,
                          self.base):
            self.assertNotIn(directory, fault.message)
        fault = yield self.assertFault(MEINVAL, self.admin.call(
            "vx.create", **rebuild))
        self.assertIn(self.config.templatedir, fault.message)


class RealStartFaultTests(RunningHelpers, DaemonTestCase):
    """
    A real container's failed start, for a VPS owner without the admin
    flag.
    """

    @defer.inlineCallbacks
    def test_noHostPath(self):
        yield self.makeUser("dora", PASSWORD, caps=["INIT", "MOUNT"])
        dora = self.client("dora", PASSWORD)
        name = yield self.newVps(owner="dora")
        # A mount under a file: LXC fails, saying where on the host.
        yield dora.call("vxdb.mount.set", name=name, src="tmpfs",
                        dst="/etc/passwd/x", type="tmpfs", opts="size=1m")
        fault = yield self.assertFault(MESYS, dora.call("vx.start",
                                                        name=name))
        for directory in (self.config.datadir, self.config.vbasedir,
                          self.config.lxcpath, self.base):
            self.assertNotIn(directory, fault.message)
        self.assertIn("/etc/passwd/x", fault.message)
        yield self.assertRunning(name, False)
