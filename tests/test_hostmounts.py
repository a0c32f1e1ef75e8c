"""
L{vcd.vps.hostmounts}: the daemon's own mounts in the LXC directory of a
stopped VPS (C{root}, C{disk}, C{disk.old}, C{disk.live}, C{disk.statfs})
that a killed daemon leaves behind, holding the loop device of the VPS's
disk image. With a real daemon killed with SIGKILL and started again: the
VPS starts, C{vx.remove} removes it, and no loop device is left on its
image; the same leftovers made while a daemon runs are detached by the
start and by the removal themselves. Also L{releaseHostMounts} on its own:
every mount point, nothing else, no symbolic link followed, and an LXC
directory that is not root's refused.

The oracles are the host's mount table (C{/proc/self/mountinfo}, read
here) and C{losetup -j}.
"""

import errno
import os
import secrets
import shutil
import subprocess
import time

from twisted.trial import unittest

from tests.harness import (ADMIN_PASSWORD, busyboxTemplate, searchableTemp,
                           setPassword)
from tests import test_killdaemon as killdaemon
from tests.daemonprocess import freePort
from tests.running import monitorPids
from tests.test_crashkill import _alive
from tests.test_killdaemon import Daemon
from vcd.vps.hostmounts import releaseHostMounts

#: The daemon's mount points in a VPS's LXC directory, as the task and
#: the modules that mount there name them.
POINTS = ("root", "disk", "disk.old", "disk.live", "disk.statfs")


def _unescape(field):
    """
    A path of /proc/self/mountinfo (octal escapes for space, tab, newline
    and backslash).
    """
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


def mountPoints():
    """
    Every mount point of this mount namespace, from the kernel.
    """
    with open("/proc/self/mountinfo") as f:
        return [_unescape(line.split()[4]) for line in f]


def mountsUnder(directory):
    return [p for p in mountPoints()
            if p == directory or p.startswith(directory + "/")]


def loopsOf(image):
    """
    The loop devices bound to C{image}, as C{losetup -j} lists them.
    """
    done = subprocess.run(["losetup", "-j", image], capture_output=True,
                          text=True, check=True)
    return [line.split(":")[0] for line in done.stdout.splitlines()
            if line.strip()]


def mount(*argv):
    subprocess.run(("mount",) + argv, check=True, stdin=subprocess.DEVNULL,
                   capture_output=True)


def detachEverythingUnder(directory):
    """
    Cleanup: lazily unmount whatever a failed test left under
    C{directory}, deepest first (their loop devices go with them).
    """
    for point in sorted(mountsUnder(directory), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


class ReleaseHostMountsTests(unittest.TestCase):
    """
    L{releaseHostMounts} on an LXC directory of its own, with tmpfs mounts.
    """

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("these tests mount file systems: they need root")
        self.base = os.path.abspath(self.mktemp())
        self.lxcpath = os.path.join(self.base, "lxc")
        self.directory = os.path.join(self.lxcpath, "v")
        os.makedirs(self.directory, 0o700)
        self.addCleanup(detachEverythingUnder, self.base)

    def tmpfs(self, path):
        os.makedirs(path, exist_ok=True)
        mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", path)

    def test_everyPointEveryLayer(self):
        """
        Each of the daemon's mount points is detached, however many mounts
        are stacked there, and is named in the result.
        """
        for entry in POINTS:
            self.tmpfs(os.path.join(self.directory, entry))
        self.tmpfs(os.path.join(self.directory, "disk"))
        detached = releaseHostMounts(self.lxcpath, "v")
        self.assertEqual(sorted(detached), sorted(
            os.path.join(self.directory, entry) for entry in POINTS))
        self.assertEqual(mountsUnder(self.directory), [])

    def test_onlyTheDaemons(self):
        """
        A mount elsewhere in the LXC directory is not the daemon's: left.
        """
        other = os.path.join(self.directory, "rootfs.mnt")
        self.tmpfs(other)
        self.tmpfs(os.path.join(self.directory, "disk.live"))
        releaseHostMounts(self.lxcpath, "v")
        self.assertEqual(mountsUnder(self.directory), [other])

    def test_symbolicLinkNotFollowed(self):
        """
        A symbolic link at a mount point (whoever planted it) is not
        followed: the mount it points to stays.
        """
        outside = os.path.join(self.base, "outside")
        self.tmpfs(outside)
        os.symlink(outside, os.path.join(self.directory, "disk.statfs"))
        self.assertEqual(releaseHostMounts(self.lxcpath, "v"), [])
        self.assertIn(outside, mountPoints())

    def test_symbolicLinkDirectoryRefused(self):
        """
        An LXC directory that is a symbolic link is refused (EPERM): the
        mounts where it points stay.
        """
        outside = os.path.join(self.base, "outside")
        self.tmpfs(os.path.join(outside, "disk"))
        os.symlink(outside, os.path.join(self.lxcpath, "w"))
        error = self.assertRaises(OSError, releaseHostMounts, self.lxcpath,
                                  "w")
        self.assertEqual(error.errno, errno.EPERM)
        self.assertIn(os.path.join(outside, "disk"), mountPoints())

    def test_foreignDirectoryRefused(self):
        """
        An LXC directory another user owns, or that others may write, is
        refused (EPERM) and nothing in it is detached.
        """
        point = os.path.join(self.directory, "disk")
        self.tmpfs(point)
        for owner, mode in ((1000, 0o700), (0, 0o770), (0, 0o757)):
            os.chown(self.directory, owner, 0)
            os.chmod(self.directory, mode)
            error = self.assertRaises(OSError, releaseHostMounts,
                                      self.lxcpath, "v")
            self.assertEqual(error.errno, errno.EPERM)
            self.assertEqual(mountsUnder(self.directory), [point])

    def test_noDirectory(self):
        """
        A VPS without an LXC directory has nothing to detach.
        """
        self.assertEqual(releaseHostMounts(self.lxcpath, "none"), [])


class RealDaemonCase(unittest.TestCase):
    """
    A real daemon (L{Daemon}, which a test may kill with SIGKILL and start
    again) and VPSes with a disk limit.
    """

    timeout = 240

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("needs root")
        for tool in ("lxc-stop", "losetup", "mount"):
            if shutil.which(tool) is None:
                self.fail("%s missing: apt-get install lxc util-linux"
                          % (tool,))
        self.base = searchableTemp(self)
        data = os.path.join(self.base, "data")
        self.vbasedir = os.path.join(self.base, "vservers")
        self.lxcpath = os.path.join(data, "lxc")
        busyboxTemplate(os.path.join(data, "templates"))
        setPassword(os.path.join(data, "vxdb"), "admin", ADMIN_PASSWORD)
        self.daemon = Daemon(self.base, freePort())
        self.names = []
        self.addCleanup(detachEverythingUnder, self.base)
        self.addCleanup(self.discardContainers)
        self.addCleanup(self.daemon.stop)

    #: Whatever happened, no container or cgroup of the test survives it.
    discardContainers = killdaemon.KillDaemonTests.discardContainers

    def poll(self, condition, why, seconds=15):
        until = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > until:
                self.fail("%s after %ds" % (why, seconds))
            time.sleep(0.02)

    def running(self, name):
        return self.daemon.call("vx.status", name=name)["running"]

    def start(self, name):
        self.daemon.call("vx.start", name=name)
        self.assertTrue(self.running(name))

    def stop(self, name, image):
        """
        Stop VPS C{name} hard and wait until its image is free.
        """
        self.daemon.call("vx.kill", name=name, pid=1, sig=9)
        self.poll(lambda: not (monitorPids(self.lxcpath, name)
                               or self.running(name)),
                  "%s still runs" % (name,), 30)
        self.poll(lambda: not loopsOf(image),
                  "a loop device holds %s after its VPS stopped" % (image,))

    def runningVps(self):
        """
        A VPS with a disk limit (10240 KiB), started.

        @return: its name and its image's path.
        """
        name = "t" + secrets.token_hex(4)
        self.names.append(name)
        self.daemon.call("vx.create", name=name, template="busybox")
        self.daemon.call("vxdb.dx.limit.set", name=name, space=10240,
                         inodes=1000, reserved=0)
        self.start(name)
        return name, os.path.join(self.vbasedir, name, "disk.ext4")

    def stoppedVps(self):
        """
        A VPS with a disk limit that ran once and is stopped.

        @return: its name and its image's path.
        """
        name, image = self.runningVps()
        self.stop(name, image)
        return name, image

    def removeAndCheck(self, name, image):
        """
        vx.remove removes the VPS; no mount of it and no loop device on its
        image is left.
        """
        self.daemon.call("vx.remove", name=name)
        self.assertFalse(os.path.exists(image))
        self.assertFalse(os.path.lexists(os.path.join(self.lxcpath, name)))
        self.assertEqual(mountsUnder(self.base), [])
        done = subprocess.run(["losetup", "-a"], capture_output=True,
                              text=True, check=True)
        self.assertNotIn(os.path.dirname(image), done.stdout)


class LeftoverMountTests(RealDaemonCase):
    """
    A VPS with a disk limit whose image a leftover host mount holds.
    """

    def leaveMounts(self, name, image, points):
        """
        Mount the image at the daemon's mount points C{points} of VPS
        C{name}, as a daemon killed while it used them leaves them: its
        filesystem on a loop device (C{mount -o loop}, as C{disk} and
        C{disk.old} are), the same device again (as C{disk.live} and
        C{disk.statfs} are), and the overlay root of the VPS with its upper
        layer on the image (as C{root} is, here not idmapped).
        """
        directory = os.path.join(self.lxcpath, name)
        disk = os.path.join(directory, "disk")
        os.makedirs(disk, exist_ok=True)
        mount("-o", "loop", image, disk)
        device, = loopsOf(image)
        for point in points:
            path = os.path.join(directory, point)
            os.makedirs(path, exist_ok=True)
            if point == "root":
                lower = os.path.join(self.base, "lower-" + name)
                os.makedirs(lower, exist_ok=True)
                mount("-t", "overlay", "overlay", "-o",
                      "lowerdir=%s,upperdir=%s/upper,workdir=%s/work"
                      % (lower, disk, disk), path)
            elif point != "disk":
                mount(device, path)
        if "disk" not in points:
            subprocess.run(["umount", disk], check=True)
        self.assertEqual(sorted(mountsUnder(directory)),
                         sorted(os.path.join(directory, p) for p in points))
        self.assertEqual(loopsOf(image), [device])

    def test_killedDaemonLeftMounts(self):
        """
        The daemon is killed (SIGKILL) while all its mounts of a stopped
        VPS's image are there; the next daemon detaches them at start-up
        (no mount, no loop device left before any call), then the VPS
        starts and vx.remove removes it.
        """
        self.daemon.start()
        name, image = self.stoppedVps()
        orphans = self.daemon.kill9()
        self.poll(lambda: not [p for p in orphans if _alive(p)],
                  "the killed daemon's worker still runs", 30)
        self.leaveMounts(name, image, POINTS)
        self.daemon.start()
        self.assertEqual(mountsUnder(os.path.join(self.lxcpath, name)), [])
        self.poll(lambda: not loopsOf(image),
                  "a loop device holds %s after the daemon's start-up"
                  % (image,))
        self.start(name)
        self.stop(name, image)
        self.removeAndCheck(name, image)

    def test_startDetachesLeftovers(self):
        """
        With the daemon running, the image held by leftover C{disk.live}
        and C{disk.statfs} mounts (a grow or a statfs interrupted): the
        start detaches them, and the VPS runs.
        """
        self.daemon.start()
        name, image = self.stoppedVps()
        self.leaveMounts(name, image, ["disk.live", "disk.statfs"])
        self.start(name)
        self.assertEqual(mountsUnder(os.path.join(self.lxcpath, name)), [])
        self.stop(name, image)
        self.removeAndCheck(name, image)

    def test_removeDetachesLeftovers(self):
        """
        With the daemon running, the image held by leftover C{disk.old}
        and C{root} mounts (a start interrupted): vx.remove detaches them
        and removes the VPS.
        """
        self.daemon.start()
        name, image = self.stoppedVps()
        self.leaveMounts(name, image, ["disk.old", "root"])
        self.removeAndCheck(name, image)
        self.assertEqual(self.daemon.call("vxdb.list"), [])
