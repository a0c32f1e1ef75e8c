"""
Disk limits (vxdb.dx.limit), measured from inside real VPSes: a write stops
at the space limit, file creation at the inode limit, df and df -i show the
limits, the reserved share is the VPS root's, a limit grows, files move
into and out of the VPS's own filesystem when a limit is set on or removed
from a VPS with files, and a VPS with a limit costs no more to make and
start than one without. Also L{vcd.vps.disklimits} on its own: what a
crash leaves is cleaned up, and the image is the truth.

The oracles are the VPS's own df, dd and touch, the host's view of the VPS
directory, and the host's /proc/self/status for whether this host lets
root grow a mounted ext4 filesystem.
"""

import errno
import os
import re
import shutil
import subprocess
import time

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.harness import DaemonTestCase
from tests.running import RunningHelpers
from vcd.faults import MEINVAL
from vcd.kernel import diskimage
from vcd.kernel.idmap import detach
from vcd.vps import disklimits
from vcd.vps.rootlayout import KIND_OVERLAY, RootLayout

FILL = ("dd if=/dev/zero of=%s bs=64k 2>&1; echo rc=$?;"
        " wc -c < %s")


def _fillResult(output):
    """
    The byte count and whether dd said the disk is full.
    """
    lines = output.strip().splitlines()
    return int(lines[-1].strip()), "No space left on device" in output


def _dfLine(output):
    """
    The numbers of df's line for / (total, used, available).
    """
    line = output.strip().splitlines()[-1].split()
    return int(line[1]), int(line[2]), int(line[3])


def _hostGrowsOnline():
    """
    Whether root here has CAP_SYS_RESOURCE (bit 24 of CapEff), which the
    kernel asks for to grow a mounted ext4: read here, not with vcd's code.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 24))
    raise AssertionError("no CapEff in /proc/self/status")


class DiskLimitTests(RunningHelpers, DaemonTestCase):
    """
    A VPS's disk limit as its own processes see it.
    """

    def sh(self, name, script):
        return self.execIn(name, "/bin/sh -c '%s'" % (script,))

    @defer.inlineCallbacks
    def limitedVps(self, space, inodes, reserved=0, copy=False):
        name = self.vpsName()
        yield self.makeVps(name, copy=copy)
        yield self.admin.call("vxdb.dx.limit.set", name=name, space=space,
                              inodes=inodes, reserved=reserved)
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        return name

    @defer.inlineCallbacks
    def test_spaceAndDf(self):
        """
        With 10240 KiB, df inside shows a filesystem of at most 10240 KiB
        (less the filesystem's own), and dd stops with ENOSPC having written
        no more than the limit and at least 70% of it.
        """
        name = yield self.limitedVps(10240, 1000)
        total, used, avail = _dfLine((yield self.sh(name, "df -k /")))
        self.assertTrue(8000 <= total <= 10240, total)
        self.assertTrue(avail <= total - used, (total, used, avail))
        written, full = _fillResult((yield self.sh(
            name, FILL % ("/fill", "/fill"))))
        self.assertTrue(full, "dd did not hit ENOSPC")
        self.assertTrue(0.7 * 10240 * 1024 <= written <= 10240 * 1024,
                        written)
        _, used, avail = _dfLine((yield self.sh(name, "df -k /")))
        self.assertTrue(avail < 64, avail)
        print("\nlimit 10240 KiB: df size %d KiB, dd wrote %d KiB"
              % (total, written // 1024))

    @defer.inlineCallbacks
    def test_inodesAndDfI(self):
        """
        With 200 inodes, df -i inside shows at most 200, and creating files
        stops with ENOSPC after at least 150 and at most 200.
        """
        name = yield self.limitedVps(10240, 200)
        inodes = _dfLine((yield self.sh(name, "df -i /")))[0]
        self.assertTrue(150 <= inodes <= 200, inodes)
        output = yield self.sh(
            name, "mkdir /many; i=0; while touch /many/$i 2>/tmp/err;"
            " do i=$((i+1)); done; cat /tmp/err; echo $i")
        created = int(output.strip().splitlines()[-1])
        self.assertIn("No space left on device", output)
        self.assertTrue(150 <= created < 200, output)
        print("\nlimit 200 inodes: df -i %d, touch created %d"
              % (inodes, created))

    @defer.inlineCallbacks
    def test_reservedIsRoots(self):
        """
        In a copy with 20% reserved, a user other than root inside stops
        short of the reserved share; root then writes 1 MiB more.
        """
        name = yield self.limitedVps(10240, 1000, reserved=20, copy=True)
        yield self.sh(name, "mkdir /u; chown 1000:1000 /u")
        status = yield self.status(name)
        base = int((yield self.sh(
            name, "cat /proc/self/uid_map")).split()[1])
        directory = "/proc/%d/root/u" % (status["initpid"],)
        written = yield threads.deferToThread(
            _writeAs, directory, base + 1000)
        self.assertTrue(written > 4 * 1024 * 1024, written)
        more, full = _fillResult((yield self.sh(
            name, FILL % ("/rootfill", "/rootfill"))))
        self.assertTrue(full)
        self.assertTrue(more >= 1024 * 1024, (written, more))
        print("\n20%% reserved of 10240 KiB: uid 1000 wrote %d KiB, root"
              " %d KiB more" % (written // 1024, more // 1024))

    @defer.inlineCallbacks
    def test_reservedInOverlayIsEveryones(self):
        """
        In an overlay VPS, overlayfs writes to the upper layer as the VPS's
        root (who mounted it), so a user other than root fills the reserved
        share too: root finds nothing left (the limitation the module
        documents).
        """
        name = yield self.limitedVps(10240, 1000, reserved=20)
        yield self.sh(name, "mkdir /u; chown 1000:1000 /u")
        status = yield self.status(name)
        base = int((yield self.sh(
            name, "cat /proc/self/uid_map")).split()[1])
        written = yield threads.deferToThread(
            _writeAs, "/proc/%d/root/u" % (status["initpid"],), base + 1000)
        more, full = _fillResult((yield self.sh(
            name, FILL % ("/rootfill", "/rootfill"))))
        self.assertTrue(full)
        self.assertTrue(more < 64 * 1024, (written, more))

    @defer.inlineCallbacks
    def test_growAndShrink(self):
        """
        A full VPS's limit grows: at once where this host lets root resize
        a mounted ext4, else (saying why) at the next start; either way
        df shows the new size and 5 MiB more can be written. A limit below
        what is used is refused.
        """
        name = yield self.limitedVps(10240, 1000)
        written, _ = _fillResult((yield self.sh(
            name, FILL % ("/fill", "/fill"))))
        yield self.assertFault(
            MEINVAL, self.admin.call("vxdb.dx.limit.set", name=name,
                                     space=4096, inodes=1000, reserved=0),
            "uses")
        reply = yield self.admin.call("vxdb.dx.limit.set", name=name,
                                      space=20480, inodes=1000, reserved=0)
        if _hostGrowsOnline():
            self.assertEqual(reply, "applied now")
        else:
            self.assertIn("CAP_SYS_RESOURCE", reply)
            self.assertTrue(reply.startswith("applies at the next start"))
            old = (yield self.status(name))["initpid"]
            yield self.admin.call("vx.restart", name=name)
            yield self.waitRestarted(name, old)
        total = _dfLine((yield self.sh(name, "df -k /")))[0]
        self.assertTrue(18000 <= total <= 20480, total)
        more, full = _fillResult((yield self.sh(
            name, FILL % ("/more", "/more"))))
        self.assertTrue(more >= 5 * 1024 * 1024, more)
        self.assertEqual(int((yield self.sh(name, "wc -c < /fill"))),
                         written)

    @defer.inlineCallbacks
    def test_filesMoveInAndOut(self):
        """
        A file written before a limit is set is there after the next start,
        inside the limit; after the limit is removed and the VPS restarted,
        it is still there, df shows the host's filesystem again and the
        image is gone.
        """
        name = yield self.newVps(start=True)
        # A file of the VPS's own, and one of the template's deleted (a
        # whiteout in the upper layer).
        yield self.sh(name, "echo before > /kept; rm /bin/ed")
        reply = yield self.admin.call("vxdb.dx.limit.set", name=name,
                                      space=10240, inodes=1000, reserved=0)
        self.assertTrue(reply.startswith("applies at the next start"), reply)
        vdir = os.path.join(self.config.vbasedir, name)
        old = (yield self.status(name))["initpid"]
        yield self.admin.call("vx.restart", name=name)
        yield self.waitRestarted(name, old)
        self.assertEqual((yield self.sh(
            name, "cat /kept; test -e /bin/ed || echo gone")), "before\ngone\n")
        self.assertTrue(_dfLine((yield self.sh(name, "df -k /")))[0]
                        <= 10240)
        self.assertEqual(sorted(os.listdir(vdir)), ["disk.ext4"])
        yield self.sh(name, "echo inside > /kept2")
        reply = yield self.admin.call("vxdb.dx.limit.remove", name=name)
        self.assertTrue(reply.startswith("applies at the next start"), reply)
        old = (yield self.status(name))["initpid"]
        yield self.admin.call("vx.restart", name=name)
        yield self.waitRestarted(name, old)
        self.assertEqual((yield self.sh(
            name, "cat /kept /kept2; test -e /bin/ed || echo gone")),
            "before\ninside\ngone\n")
        self.assertTrue(_dfLine((yield self.sh(name, "df -k /")))[0]
                        > 1024 * 1024)
        self.assertEqual(sorted(os.listdir(vdir)), ["upper", "work"])
        # Written through the idmapped upper layer on the VPS's own
        # filesystem: stored with the VPS's ids, from 0, as any upper.
        self.assertEqual(os.stat(os.path.join(vdir, "upper", "kept2")).st_uid,
                         0)

    def bigTemplate(self, megabytes):
        """
        A template C{big}: busybox with a file of C{megabytes} MiB.
        """
        templates = self.config.templatedir
        unpacked = os.path.abspath(self.mktemp())
        os.makedirs(unpacked)
        subprocess.run(["tar", "-xzf", os.path.join(templates,
                                                    "busybox.tar.gz"),
                        "-C", unpacked], check=True)
        with open(os.path.join(unpacked, "big"), "wb") as f:
            block = bytes(1024 * 1024)
            for _ in range(megabytes):
                f.write(block)
        subprocess.run(["tar", "--numeric-owner", "-czf",
                        os.path.join(templates, "big.tar.gz"), "-C",
                        unpacked, "."], check=True)
        shutil.copy(os.path.join(templates, "busybox.conf"),
                    os.path.join(templates, "big.conf"))

    @defer.inlineCallbacks
    def test_imageHoldsMetadataOnly(self):
        """
        From a template of 64 MiB, an overlay VPS with a 1 GiB limit gets
        an image that holds only its metadata (under 1% of the limit and
        less than the template, allocated on the host: nothing of the
        template is copied, so making it costs the same whatever the
        template's size), while the VPS sees the template's files and a
        filesystem of the limit's size. (How long it takes is measured
        by bench/lifecycle, never here.)
        """
        yield threads.deferToThread(self.bigTemplate, 64)
        name = self.vpsName()
        yield self.admin.call("vx.create", name=name, template="big")
        yield self.admin.call("vxdb.dx.limit.set", name=name,
                              space=1024 * 1024, inodes=65536, reserved=5)
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        image = os.path.join(self.config.vbasedir, name, "disk.ext4")
        allocated = os.stat(image).st_blocks * 512
        self.assertTrue(allocated < min(0.01 * 1024 ** 3, 64 * 1024 ** 2),
                        allocated)
        total = _dfLine((yield self.sh(name, "df -k /")))[0]
        self.assertTrue(0.9 * 1024 * 1024 <= total <= 1024 * 1024, total)
        self.assertEqual((yield self.sh(name, "wc -c < /big")).strip(),
                         str(64 * 1024 * 1024))

    @defer.inlineCallbacks
    def test_impossibleRefused(self):
        """
        A limit no ext4 can have (more inodes than 1024 KiB can hold, or a
        space too small for a filesystem) is refused when it is set, not at
        the next start, and nothing is stored.
        """
        name = self.vpsName()
        yield self.makeVps(name)
        for space, inodes in ((1024, 4096), (8, 16)):
            yield self.assertFault(
                MEINVAL, self.admin.call("vxdb.dx.limit.set", name=name,
                                         space=space, inodes=inodes),
                "can be made")
        self.assertEqual(
            (yield self.admin.call("vxdb.dx.limit.get", name=name))["space"],
            "")

    @defer.inlineCallbacks
    def test_hostinfoSaysHow(self):
        """
        vcd.hostinfo names the mechanism, and says whether a limit grows
        on a running VPS as this host's root capabilities allow.
        """
        info = yield self.admin.call("vcd.hostinfo")
        how = info["dlimitMechanism"]
        self.assertIn("a filesystem per VPS", how["mechanism"])
        self.assertEqual(how["growsWhileRunning"], _hostGrowsOnline())

    @defer.inlineCallbacks
    def test_stopFreesRemoveDeletes(self):
        """
        Once the VPS stops, no loop device holds its image any more and
        nothing of it is mounted on the host; vx.remove deletes the image
        with the VPS directory. While it runs, the host has no mount of it.
        """
        name = yield self.limitedVps(10240, 1000)
        image = os.path.join(self.config.vbasedir, name, "disk.ext4")
        self.assertEqual(_mountsOf(name), [])
        self.assertEqual(len(_loopsOf(image)), 1)
        yield self.admin.call("vx.stop", name=name)
        yield self.waitStopped(name)
        deadline = time.monotonic() + 10
        while _loopsOf(image) and time.monotonic() < deadline:
            yield threads.deferToThread(time.sleep, 0.05)
        self.assertEqual(_loopsOf(image), [])
        yield self.admin.call("vx.remove", name=name)
        self.assertFalse(os.path.exists(image))


def _mountsOf(name):
    """
    The host's mount points whose path names VPS C{name}.
    """
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f
                if "/%s/" % (name,) in line.split()[4] + "/"]


def _loopsOf(image):
    """
    The loop devices bound to file C{image}, from /sys.
    """
    found = []
    for entry in os.listdir("/sys/block"):
        try:
            with open("/sys/block/%s/loop/backing_file" % (entry,)) as f:
                if f.read().strip() == image:
                    found.append(entry)
        except OSError:
            pass
    return found


def _writeAs(directory, uid):
    """
    Write zeros to a new file in C{directory} as host user and group
    C{uid} (a user of the VPS) until the disk is full.

    @return: the bytes written.
    """
    dirFd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    readEnd, writeEnd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(readEnd)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            fd = os.open("userfill", os.O_WRONLY | os.O_CREAT, 0o644,
                         dir_fd=dirFd)
            total = 0
            block = bytes(65536)
            try:
                while True:
                    total += os.write(fd, block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
            os.write(writeEnd, str(total).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writeEnd)
    os.close(dirFd)
    try:
        text = os.read(readEnd, 100)
    finally:
        os.close(readEnd)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not text:
        raise AssertionError("the writer as uid %d failed (%d)"
                             % (uid, status))
    return int(text)


class PrepareDiskTests(unittest.TestCase):
    """
    L{disklimits.prepareDisk} on a VPS directory of its own (no VPS
    runs): files move in and out, and what a crash leaves is cleaned up.
    """

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("these tests mount images: they need root")
        base = os.path.abspath(self.mktemp())
        self.vdir = os.path.join(base, "vps")
        self.lxcpath = os.path.join(base, "lxc")
        for d in ("upper", "work"):
            os.makedirs(os.path.join(self.vdir, d))
        with open(os.path.join(self.vdir, "upper", "file"), "w") as f:
            f.write("data")
        self.layout = RootLayout(
            KIND_OVERLAY, self.vdir, lower=os.path.join(base, "lower"),
            upper=os.path.join(self.vdir, "upper"),
            work=os.path.join(self.vdir, "work"))
        self.limit = disklimits.DiskLimit(8192, 500, 0)
        self.mounted = disklimits.mountPoint(self.lxcpath, "v")
        self.addCleanup(detach, self.mounted)

    def prepare(self, limit):
        result = disklimits.prepareDisk(self.layout, limit, self.lxcpath,
                                        "v", 0)
        if result is not None:
            with open(os.path.join(result, "upper", "file")) as f:
                self.assertEqual(f.read(), "data")
            detach(result)
        return result

    def test_moveInThenOut(self):
        """
        A limit puts the upper layer in an image of the limit's size and
        removes the plain directories; no limit moves it back.
        """
        self.assertEqual(self.prepare(self.limit), self.mounted)
        image = disklimits.imagePath(self.vdir)
        self.assertEqual(sorted(os.listdir(self.vdir)), ["disk.ext4"])
        self.assertEqual(os.path.getsize(image), 8192 * 1024)
        sb = diskimage.readSuperblock(image)
        self.assertTrue(sb.inodes <= 500, sb)
        self.assertIsNone(self.prepare(None))
        self.assertEqual(sorted(os.listdir(self.vdir)), ["upper", "work"])
        with open(os.path.join(self.vdir, "upper", "file")) as f:
            self.assertEqual(f.read(), "data")

    def test_crashLeftovers(self):
        """
        A staging image (a crash before the rename) is discarded; a plain
        upper beside the image (a crash after it) is discarded, the image
        being the truth; a mount left at the mount point is detached.
        """
        staging = os.path.join(self.vdir, ".vcd-new.disk.ext4")
        with open(staging, "w") as f:
            f.write("half-made")
        self.prepare(self.limit)
        os.makedirs(os.path.join(self.vdir, "upper"))
        with open(os.path.join(self.vdir, "upper", "file"), "w") as f:
            f.write("stale")
        diskimage.mountImage(disklimits.imagePath(self.vdir), self.mounted)
        self.prepare(self.limit)  # checks the image's own file
        self.assertEqual(sorted(os.listdir(self.vdir)), ["disk.ext4"])

    def test_inodesChangeRebuilds(self):
        """
        A new inode count makes a new image with the files.
        """
        self.prepare(self.limit)
        self.prepare(disklimits.DiskLimit(8192, 300, 0))
        sb = diskimage.readSuperblock(disklimits.imagePath(self.vdir))
        self.assertTrue(200 <= sb.inodes <= 300, sb)

    def test_shrinkAndReservedOffline(self):
        """
        A smaller space shrinks the stopped image (the files kept); a new
        reserved share changes the superblock's reserved block count.
        """
        self.prepare(self.limit)
        self.prepare(disklimits.DiskLimit(6144, 500, 10))
        image = disklimits.imagePath(self.vdir)
        self.assertEqual(os.path.getsize(image), 6144 * 1024)
        sb = diskimage.readSuperblock(image)
        self.assertEqual(sb.blocks * sb.blockSize, 6144 * 1024)
        self.assertAlmostEqual(sb.reservedBlocks / sb.blocks, 0.10,
                               places=2)

    def test_filesDoNotFit(self):
        """
        A limit too small for the files: the start is refused saying so,
        and the plain directories are kept as they were, with no image.
        """
        with open(os.path.join(self.vdir, "upper", "big"), "wb") as f:
            f.write(bytes(4 * 1024 * 1024))
        error = self.assertRaises(
            disklimits.DiskLimitError, disklimits.prepareDisk, self.layout,
            disklimits.DiskLimit(2048, 500, 0), self.lxcpath, "v", 0)
        self.assertEqual(error.errno, errno.ENOSPC)
        self.assertEqual(sorted(os.listdir(self.vdir)), ["upper", "work"])
        self.assertEqual(os.path.getsize(
            os.path.join(self.vdir, "upper", "big")), 4 * 1024 * 1024)

    def test_waitsForTheLastRun(self):
        """
        While a loop device still holds the image (a VPS's mount namespace
        not yet torn down), nothing mounts or changes it: the wait ends in
        EBUSY naming the device; once it is released the wait returns.
        """
        self.prepare(self.limit)
        image = disklimits.imagePath(self.vdir)
        device = diskimage.mountImage(image, self.mounted)
        error = self.assertRaises(diskimage.ImageError,
                                  diskimage.waitReleased, image, 0)
        self.assertEqual(error.errno, errno.EBUSY)
        self.assertIn(device, error.strerror)
        detach(self.mounted)
        diskimage.waitReleased(image, 10)
        self.assertEqual(_loopsOf(image), [])

    def test_growMounted(self):
        """
        Growing a mounted image: where root has CAP_SYS_RESOURCE the
        filesystem grows at once (statfs shows it); where it lacks it, the
        kernel refuses the resize itself with EPERM (a wrong request would
        fail otherwise), after the file and the loop device grew.
        """
        self.prepare(self.limit)
        image = disklimits.imagePath(self.vdir)
        device = diskimage.mountImage(image, self.mounted)
        before = os.statvfs(self.mounted)
        if _hostGrowsOnline():
            diskimage.growMounted(image, device, self.mounted, 16384)
            after = os.statvfs(self.mounted)
            self.assertTrue(after.f_blocks * after.f_frsize
                            > before.f_blocks * before.f_frsize + 7 * 2 ** 20)
        else:
            error = self.assertRaises(diskimage.ImageError,
                                      diskimage.growMounted, image, device,
                                      self.mounted, 16384)
            self.assertEqual(error.errno, errno.EPERM)
        with open("/sys/block/%s/size" % (os.path.basename(device),)) as f:
            self.assertEqual(int(f.read()) * 512, 16384 * 1024)

    def test_atMostTheInodes(self):
        """
        mkfs.ext4 -N rounds each block group's inodes up to whole
        inode-table blocks (1 GiB with -N 1000 gives 1024); the image has
        at most the inodes asked for, as dumpe2fs reads them.
        """
        for space, inodes in ((1024 * 1024, 1000), (102400, 1000),
                              (10240, 200)):
            image = os.path.join(self.vdir, "probe.ext4")
            diskimage.makeImage(image, space, inodes, 5)
            output = subprocess.run(["dumpe2fs", "-h", image],
                                    capture_output=True, text=True).stdout
            os.unlink(image)
            count = int(re.search(r"Inode count:\s+(\d+)",
                                  output).group(1))
            self.assertTrue(0.8 * inodes <= count <= inodes,
                            (space, inodes, count))

