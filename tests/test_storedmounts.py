"""
Mounts stored before the mount policy (or by an administrator): the start
refuses those no one may set any more, and the start-up audit names the
ones only an administrator may set. On the fake-kernel daemon.
"""

from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.faults import MEPERM
from vcd.vps.mountpolicy import auditStoredMounts
from vcd.vxdb import registry, settings, tables


class StoredMountTests(FakeDaemonMixin, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")

    def store(self, src, dst, fstype, opts):
        """
        Write a mount straight into VXDB, as an older vcd let anyone.
        """
        def write(cursor):
            xid = registry.findVps(cursor, "web1").xid
            settings.storeRow(cursor, tables.MOUNTS, xid, {
                "src": src, "dst": dst, "type": fstype, "opts": opts})
        self.fake.db.transactNow(write)

    def roots(self):
        config = self.fake.config
        return (config.vbasedir, config.datadir)

    def test_hostGlobalTypeRefusedAtStart(self):
        """
        A stored devtmpfs (the host's /dev) stops the start with MEPERM
        naming the mount; the VPS stays stopped.
        """
        self.store("none", "/mnt/dev", "devtmpfs", "defaults")
        self.assertFault(MEPERM, self.fake.call("vx.start", name="web1"),
                         "/mnt/dev")
        self.assertRunning("web1", False)

    def test_overlayOfTheVpsesFilesRefusedAtStart(self):
        """
        A stored overlay whose upper layer is under the vbasedir (where
        VPSes write) stops the start.
        """
        upper = self.fake.config.vbasedir + "/web1/upper"
        self.store("none", "/mnt/o", "overlay",
                   "lowerdir=/usr,upperdir=%s,workdir=%s" % (upper, upper))
        self.assertFault(MEPERM, self.fake.call("vx.start", name="web1"),
                         "/mnt/o")

    def test_auditNamesAdminOnlyMounts(self):
        """
        The audit names a stored overlay of host /etc (only an
        administrator may set one) and a tmpfs not at all.
        """
        self.store("none", "/mnt/hs", "overlay", "lowerdir=/srv:/etc")
        self.store("none", "/tmp", "tmpfs", "size=1m")
        lines = auditStoredMounts(self.fake.db, self.roots())
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("web1: mount on /mnt/hs", lines[0])
        self.assertIn("only an administrator", lines[0])
