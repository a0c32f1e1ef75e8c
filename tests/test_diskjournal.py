"""
The journal of a VPS's disk image after a crash
(L{vcd.kernel.ext4image.replayJournal}, its use by
L{vcd.kernel.diskimage.usedBytes}, C{setReserved} and the daemon's
start-up recovery).

An image needs journal recovery when it was not cleanly unmounted: the
host crashed, or the machine (or the image) was copied, while a VPS ran
with it mounted. (A VPS killed, even with SIGKILL, does not leave that: the
kernel unmounts its filesystem cleanly when its mount namespace goes.) The
tests make one deterministically as a copy does: the image mounted,
written, C{sync}ed, then its file copied while still mounted; C{dumpe2fs}
says the copy has C{needs_recovery}, and its superblock's free counts are
from before the writes.

The oracles are C{dumpe2fs -h} (features, counts), the same image cleanly
unmounted (its counts), C{e2fsck -fn} and the files themselves.
"""

import os
import re
import shutil
import subprocess

from twisted.trial import unittest

from tests.test_crashkill import _alive
from tests.test_hostmounts import RealDaemonCase
from vcd.kernel import diskimage
from vcd.kernel.idmap import detach

PAYLOAD = os.urandom(3 * 1024 * 1024)


def dumpe2fs(image):
    """
    C{dumpe2fs -h} of C{image} as a dict of its fields.
    """
    output = subprocess.run(["dumpe2fs", "-h", image], capture_output=True,
                            text=True, check=True).stdout
    return dict(re.findall(r"^([A-Za-z ]+):\s+(.*)$", output, re.M))


def needsRecovery(image):
    return "needs_recovery" in dumpe2fs(image)["Filesystem features"].split()


def usedByDumpe2fs(image):
    fields = dumpe2fs(image)
    return ((int(fields["Block count"]) - int(fields["Free blocks"]))
            * int(fields["Block size"]))


def copyWhileMounted(image, copy):
    """
    Copy C{image} (mounted, its writes synced) to C{copy}, extended
    attributes included, as a copy of a running machine would.
    """
    os.sync()
    subprocess.run(["cp", "--sparse=always", "--preserve=xattr", image,
                    copy], check=True)


class ReplayJournalTests(unittest.TestCase):
    """
    An image copied while mounted, after 3 MiB were written to it.
    """

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("these tests mount images: they need root")
        for tool in ("dumpe2fs", "e2fsck", "tune2fs"):
            if shutil.which(tool) is None:
                self.fail("%s missing: apt-get install e2fsprogs" % (tool,))
        base = os.path.abspath(self.mktemp())
        os.makedirs(base)
        self.image = os.path.join(base, "disk.ext4")
        self.copy = os.path.join(base, "copy.ext4")
        self.mounted = os.path.join(base, "mnt")
        self.scratch = os.path.join(base, "scratch")
        os.mkdir(self.mounted)
        diskimage.makeImage(self.image, 16384, 1000, 0)
        diskimage.mountImage(self.image, self.mounted)
        self.addCleanup(detach, self.mounted)
        with open(os.path.join(self.mounted, "payload"), "wb") as f:
            f.write(PAYLOAD)
        os.mkdir(os.path.join(self.mounted, "directory"))
        copyWhileMounted(self.image, self.copy)
        detach(self.mounted)
        diskimage.waitReleased(self.image, 10)
        # What the copy holds once its journal is replayed: the original,
        # cleanly unmounted.
        self.used = usedByDumpe2fs(self.image)
        self.assertFalse(needsRecovery(self.image))
        self.assertTrue(needsRecovery(self.copy),
                        "the copy of a mounted image does not need journal"
                        " recovery: the test cannot show anything")
        self.assertNotEqual(usedByDumpe2fs(self.copy), self.used,
                            "the copy's superblock counts are not stale")

    def assertHoldsPayload(self, image):
        diskimage.mountImage(image, self.mounted)
        try:
            with open(os.path.join(self.mounted, "payload"), "rb") as f:
                self.assertEqual(f.read(), PAYLOAD)
            self.assertTrue(os.path.isdir(os.path.join(self.mounted,
                                                       "directory")))
        finally:
            detach(self.mounted)
        diskimage.waitReleased(image, 10)

    def test_usedBytesDoesNotGuess(self):
        """
        usedBytes does not give the stale count of an image needing
        recovery (None: unknown), and changes nothing.
        """
        self.assertIsNone(diskimage.usedBytes(self.copy, self.scratch))
        self.assertTrue(needsRecovery(self.copy))

    def test_replay(self):
        """
        replayJournal replays the journal: dumpe2fs shows no
        needs_recovery, the counts are the cleanly unmounted original's
        (from usedBytes too), e2fsck -fn finds nothing, the files are
        there; a second call has nothing to do.
        """
        self.assertTrue(diskimage.replayJournal(self.copy))
        self.assertFalse(needsRecovery(self.copy))
        self.assertEqual(usedByDumpe2fs(self.copy), self.used)
        self.assertEqual(diskimage.usedBytes(self.copy, self.scratch),
                         self.used)
        check = subprocess.run(["e2fsck", "-fn", self.copy],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout)
        self.assertFalse(diskimage.replayJournal(self.copy))
        self.assertHoldsPayload(self.copy)

    def test_reservedKept(self):
        """
        setReserved on an image needing recovery: the share is set and a
        mount (which would replay a journal left unreplayed) keeps it.
        (tune2fs 1.47 replays the journal itself; older ones do not.)
        """
        diskimage.setReserved(self.copy, 10)
        self.assertFalse(needsRecovery(self.copy))
        blocks = int(dumpe2fs(self.copy)["Block count"])
        expected = blocks * 10 // 100
        self.assertEqual(int(dumpe2fs(self.copy)["Reserved block count"]),
                         expected)
        self.assertHoldsPayload(self.copy)
        self.assertEqual(int(dumpe2fs(self.copy)["Reserved block count"]),
                         expected)


class RecoveryReplaysTests(RealDaemonCase):
    """
    The daemon's start-up recovery replays the journal of a stopped VPS's
    image that needs it.
    """

    def test_machineCopiedWhileRunning(self):
        """
        A VPS writes a file; its image is copied while it runs (a machine
        copied); the daemon is killed and the copy put in place. The next
        daemon's start-up leaves the image needing no recovery, before any
        call; the VPS starts with its file and is removed.
        """
        self.daemon.start()
        name, image = self.runningVps()
        self.daemon.call("vx.exec", name=name, command=(
            "/bin/sh -c 'dd if=/dev/urandom of=/written bs=64k count=48"
            " 2>/dev/null'"))
        initpid = self.daemon.call("vx.status", name=name)["initpid"]
        with open("/proc/%d/root/written" % (initpid,), "rb") as f:
            written = f.read()
        self.assertEqual(len(written), 3 * 1024 * 1024)
        copy = os.path.join(self.base, "copy.ext4")
        copyWhileMounted(image, copy)
        self.stop(name, image)
        orphans = self.daemon.kill9()
        self.poll(lambda: not [p for p in orphans if _alive(p)],
                  "the killed daemon's worker still runs", 30)
        os.replace(copy, image)
        self.assertTrue(needsRecovery(image))
        self.daemon.start()
        self.assertFalse(needsRecovery(image))
        self.start(name)
        initpid = self.daemon.call("vx.status", name=name)["initpid"]
        with open("/proc/%d/root/written" % (initpid,), "rb") as f:
            self.assertEqual(f.read(), written)
        self.stop(name, image)
        self.removeAndCheck(name, image)
