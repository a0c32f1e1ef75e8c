"""
The escape suite: what a VPS's root may not do to the host, tried from
inside real VPSes (busybox containers, as root). Each test fails if the
escape works. The oracles are the host's own files (/etc/subuid, the
cgroup files, /proc/sys/kernel/core_pattern, the host's directories), never
the daemon's word.
"""

import os
import stat

from twisted.internet import defer
from twisted.trial import unittest

from tests.harness import DaemonTestCase
from tests.running import RunningHelpers
from vcd.faults import MESYS


def _subordinateRanges(path):
    """
    root's ranges in a subuid(5) file, read here (not with vcd's reader).
    """
    ranges = []
    with open(path) as f:
        for line in f:
            user, first, count = line.strip().split(":")
            if user in ("root", "0"):
                ranges.append((int(first), int(count)))
    return ranges


class UserNamespaceTests(RunningHelpers, DaemonTestCase):
    """
    Every VPS is unprivileged unless an administrator says otherwise: its
    root is an unprivileged host id from root's subordinate ids, and no two
    VPSes share ids.
    """

    @defer.inlineCallbacks
    def uidMap(self, name):
        result = yield self.execIn(name, "cat /proc/self/uid_map"
                                   " /proc/self/gid_map")
        return [tuple(int(f) for f in line.split())
                for line in result.splitlines()]

    @defer.inlineCallbacks
    def test_uidMapInside(self):
        """
        Inside a default VPS, /proc/self/uid_map and gid_map map ids 0-65535
        to one block of the host's subordinate ids (as /etc/subuid gives
        them to root), not the whole id space.
        """
        name = yield self.newVps(start=True)
        maps = yield self.uidMap(name)
        self.assertEqual(len(maps), 2, maps)
        self.assertEqual(maps[0], maps[1])
        inside, host, count = maps[0]
        self.assertEqual((inside, count), (0, 65536))
        self.assertNotEqual(host, 0)
        self.assertTrue(any(first <= host and host + count <= first + size
                            for first, size in
                            _subordinateRanges("/etc/subuid")), host)
        self.assertTrue(any(first <= host and host + count <= first + size
                            for first, size in
                            _subordinateRanges("/etc/subgid")), host)

    @defer.inlineCallbacks
    def test_rangesDoNotOverlap(self):
        """
        Two VPSes get disjoint ranges, and the host sees each VPS's init
        run as its own range's root.
        """
        first = yield self.newVps(start=True)
        second = yield self.newVps(start=True)
        a = (yield self.uidMap(first))[0]
        b = (yield self.uidMap(second))[0]
        self.assertTrue(a[1] + a[2] <= b[1] or b[1] + b[2] <= a[1], (a, b))
        for name, ids in ((first, a), (second, b)):
            status = yield self.status(name)
            with open("/proc/%d/status" % (status["initpid"],)) as f:
                uids = [line.split()[1:] for line in f
                        if line.startswith("Uid:")][0]
            self.assertEqual(set(uids), {str(ids[1])})

    @defer.inlineCallbacks
    def test_filesOfACopyOwnedByTheRange(self):
        """
        A copy's files are owned by the VPS's range on the host, and by
        root inside.
        """
        name = self.vpsName()
        yield self.makeVps(name, copy=True)
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        host = (yield self.uidMap(name))[0][1]
        busybox = os.path.join(self.config.vbasedir, name, "rootfs", "bin",
                               "busybox")
        self.assertEqual(os.lstat(busybox).st_uid, host)
        result = yield self.execIn(name, "stat -c %u:%g /bin/busybox")
        self.assertEqual(result.strip(), "0:0")

    @defer.inlineCallbacks
    def test_overlayWritesStayInTheVps(self):
        """
        What the root of an overlay VPS writes is its own inside, lands in
        its upper layer, and leaves the shared template untouched; the VPS
        directory is closed to other host users.
        """
        name = yield self.newVps(start=True)
        result = yield self.execIn(
            name, "sh -c 'echo hello > /etc/written; stat -c %u /etc/written;"
            " stat -c %u /etc/passwd'")
        self.assertEqual(result.split(), ["0", "0"])
        vdir = os.path.join(self.config.vbasedir, name)
        self.assertTrue(os.path.exists(os.path.join(vdir, "upper", "etc",
                                                    "written")))
        lowers = os.path.join(self.config.datadir, "lower")
        for lower in os.listdir(lowers):
            self.assertFalse(os.path.exists(os.path.join(
                lowers, lower, "etc", "written")))
        self.assertEqual(stat.S_IMODE(os.stat(vdir).st_mode) & 0o077, 0)

    @defer.inlineCallbacks
    def test_noRootMountLeftOnTheHost(self):
        """
        Once a VPS runs, nothing of it stays mounted in the host's mount
        namespace (the VPS keeps its own root mount).
        """
        name = yield self.newVps(start=True)
        with open("/proc/self/mountinfo") as f:
            mounts = f.read()
        self.assertNotIn(os.path.join(self.config.lxcpath, name), mounts)
        self.assertNotIn(os.path.join(self.config.vbasedir, name), mounts)


class DeviceTests(RunningHelpers, DaemonTestCase):
    """
    The devices a VPS may use are the standard few, even with MKNOD and
    SYS_ADMIN in its bounding set.
    """

    @defer.inlineCallbacks
    def test_mknodOfHostDisk(self):
        """
        With MKNOD given by an administrator, the VPS's root still cannot
        make a node of the host's /dev/loop0 (block 7:0) and write to it.
        """
        name = self.vpsName()
        yield self.makeVps(name)
        for cap in ("MKNOD", "SYS_ADMIN"):
            yield self.admin.call("vxdb.vx.bcaps.add", name=name, bcap=cap)
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        result = yield self.execIn(
            name, "sh -c 'mknod /tmp/l0 b 7 0 && echo x > /tmp/l0 &&"
            " echo ESCAPED; ls -l /tmp/l0 2>&1; true'")
        self.assertNotIn("ESCAPED", result)

    @defer.inlineCallbacks
    def test_devicePolicy(self):
        """
        The VPS's device cgroup denies everything but null, zero, full,
        random, urandom, tty, console, ptmx and the PTYs (read from the
        host's cgroup files).
        """
        name = yield self.newVps(start=True)
        status = yield self.status(name)
        with open("/proc/%d/cgroup" % (status["initpid"],)) as f:
            lines = f.read().splitlines()
        v1 = [line.split(":", 2)[2] for line in lines
              if line.split(":")[1] == "devices"]
        if v1:
            with open("/sys/fs/cgroup/devices%s/devices.list" % (v1[0],)) as f:
                allowed = set(f.read().split("\n")) - {""}
            self.assertNotIn("a *:* rwm", allowed)
            self.assertEqual(allowed, {
                "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
                "c 136:* rwm"})
        result = yield self.execIn(
            name, "sh -c 'echo x > /dev/null && head -c 4 /dev/urandom |"
            " wc -c'")
        self.assertEqual(result.strip(), "4")

    @defer.inlineCallbacks
    def test_ptys(self):
        """
        Every VPS has devpts and /dev/ptmx, so a terminal can be opened
        inside.
        """
        name = yield self.newVps(start=True)
        result = yield self.execIn(
            name, "sh -c 'test -c /dev/ptmx && grep -c devpts /proc/mounts"
            " && exec 3<>/dev/ptmx && ls /dev/pts | grep -c [0-9]'")
        lines = result.split()
        self.assertEqual(len(lines), 2, result)
        self.assertGreaterEqual(int(lines[0]), 1)
        self.assertGreaterEqual(int(lines[1]), 1)


class ProcTests(RunningHelpers, DaemonTestCase):
    """
    /proc and /sys inside a VPS.
    """

    @defer.inlineCallbacks
    def test_procMountCannotReachCorePattern(self):
        """
        Even with SYS_ADMIN given by an administrator, a fresh procfs
        mounted inside cannot write the host's kernel.core_pattern.
        """
        with open("/proc/sys/kernel/core_pattern") as f:
            before = f.read()
        name = self.vpsName()
        yield self.makeVps(name)
        yield self.admin.call("vxdb.vx.bcaps.add", name=name, bcap="SYS_ADMIN")
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        yield self.execIn(
            name, "sh -c 'mkdir -p /tmp/p && mount -t proc proc /tmp/p;"
            " echo \"|/tmp/escape\" > /tmp/p/sys/kernel/core_pattern;"
            " echo \"|/tmp/escape\" > /proc/sys/kernel/core_pattern; true'")
        with open("/proc/sys/kernel/core_pattern") as f:
            self.assertEqual(f.read(), before)

    @defer.inlineCallbacks
    def test_hostFilesMasked(self):
        """
        /proc/keys and /proc/timer_list read as empty inside (unmasked,
        the second would fail to open, 0400: an error message).
        """
        name = yield self.newVps(start=True)
        result = yield self.execIn(
            name, "sh -c 'cat /proc/keys /proc/timer_list 2>&1 | wc -c'")
        self.assertEqual(result.strip(), "0")


class MountDestinationTests(RunningHelpers, DaemonTestCase):
    """
    Mount points are made inside the VPS's root, never through a symbolic
    link the VPS owns.
    """

    @defer.inlineCallbacks
    def test_symlinkedDestination(self):
        """
        A mount destination under a symbolic link (made by the VPS's root)
        to a host directory fails the start; nothing is created on the
        host, and the fault names the destination, not a host path.
        """
        outside = os.path.abspath(self.mktemp())
        os.makedirs(outside)
        name = yield self.newVps(start=True)
        yield self.execIn(name, "ln -s %s /evil" % (outside,))
        yield self.admin.call("vx.stop", name=name)
        yield self.waitStopped(name)
        yield self.admin.call("vxdb.mount.set", name=name, src="none",
                              dst="/evil/sub", type="tmpfs", opts="size=1m")
        fault = yield self.assertFault(
            MESYS, self.admin.call("vx.start", name=name), "/evil/sub")
        self.assertEqual(os.listdir(outside), [])
        for hostPath in (self.config.datadir, self.config.vbasedir, outside):
            self.assertNotIn(hostPath, fault.message)
        with open("/proc/self/mountinfo") as f:
            self.assertNotIn(os.path.join(self.config.lxcpath, name),
                             f.read(), "its root stayed mounted on the host")

    @defer.inlineCallbacks
    def test_missingDestinationMadeInside(self):
        """
        A missing mount point is made as a directory inside the VPS, owned
        by its root, and the mount is there.
        """
        name = self.vpsName()
        yield self.makeVps(name)
        yield self.admin.call("vxdb.mount.set", name=name, src="none",
                              dst="/srv/new/point", type="tmpfs",
                              opts="size=1m")
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        result = yield self.execIn(
            name, "sh -c 'stat -c %u /srv/new/point; grep -c /srv/new/point"
            " /proc/mounts'")
        self.assertEqual(result.split(), ["0", "1"])


class SubordinateIdsTests(unittest.TestCase):
    """
    The host gives root subordinate ids (./vcd-setup makes sure of it).
    """

    def test_rootHasSubordinateIds(self):
        for path in ("/etc/subuid", "/etc/subgid"):
            self.assertTrue(os.path.exists(path), "%s missing: run"
                            " ./vcd-setup" % (path,))
            self.assertTrue(sum(c for _, c in _subordinateRanges(path))
                            >= 65536 * 64, "%s gives root fewer than 64"
                            " VPS ranges: run ./vcd-setup" % (path,))
