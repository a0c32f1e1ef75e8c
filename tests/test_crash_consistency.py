"""
Crash consistency of creating and removing VPSes: a create that fails part
way leaves nothing, and what a crash interrupted (VXDB rows in state
C{creating} or C{removing}, staging and trash leftovers) is finished when
the daemon starts again.
"""

import os
import tarfile

from twisted.internet import defer

from tests.harness import DaemonTestCase
from tests.test_vx_methods import VpsHelpers
from vcd.faults import MESYS
from vcd.vps.rootfs import STAGING_PREFIX, TRASH_PREFIX
from vcd.vxdb.connection import openVXDB, runTransaction


def _insertVps(cursor, xid, name, state, vdir):
    cursor.execute("INSERT INTO xid_name_map (xid, name) VALUES (?, ?)",
                   (xid, name))
    cursor.execute("INSERT INTO vps_root (xid, state, kind, vdir, template)"
                   " VALUES (?, ?, 'overlay', ?, 'busybox')",
                   (xid, state, vdir))
    cursor.execute("INSERT INTO vx_bcaps (xid, bcap) VALUES (?, 'CHOWN')",
                   (xid,))
    cursor.execute("INSERT INTO xid_uid_map (xid, uid) SELECT ?, uid FROM"
                   " user WHERE name = 'admin'", (xid,))


def _setState(cursor, name, state):
    cursor.execute("UPDATE vps_root SET state = ? WHERE xid = (SELECT xid"
                   " FROM xid_name_map WHERE name = ?)", (state, name))


class FailedCreateTests(VpsHelpers, DaemonTestCase):
    """
    A create that fails part way leaves nothing behind.
    """

    @defer.inlineCallbacks
    def failedCreate(self, copy):
        """
        Create from a template whose cache is truncated: the extraction
        fails, and neither files nor rows are left; the name is free again.
        """
        cache = self.busyboxCache()
        self.writeTemplate("truncated", cache=cache[:len(cache) // 2])
        yield self.makeVps("bystander")
        before = sorted(os.listdir(self.config.vbasedir))
        lowers = os.path.join(self.config.datadir, "lower")
        lowersBefore = sorted(os.listdir(lowers))
        ((highest,),) = yield self.query("SELECT MAX(xid) FROM xid_name_map")
        yield self.assertFault(MESYS, self.admin.call(
            "vx.create", name="half1", template="truncated", copy=copy),
            "half1")
        # The daemon logs why (the truncated archive).
        self.assertEqual(len(self.flushLoggedErrors(tarfile.ReadError)), 1)
        self.assertEqual(sorted(os.listdir(self.config.vbasedir)), before)
        self.assertEqual(sorted(os.listdir(lowers)), lowersBefore)
        # The xid the failed create took is free of rows.
        yield self.assertGone("half1", highest + 1,
                              self.defaultVdir("half1"))
        self.assertEqual((yield self.admin.call("vcd.status"))["busy"], [])
        yield self.admin.call("vx.create", name="half1", template="busybox",
                              copy=copy)
        record = yield self.rootRecord("half1")
        self.assertEqual(record["state"], "ready")

    def test_overlay(self):
        return self.failedCreate(copy=False)

    def test_copy(self):
        return self.failedCreate(copy=True)

    @defer.inlineCallbacks
    def test_notATarball(self):
        self.writeTemplate("garbage", cache=b"this is not a tarball\n" * 64)
        yield self.assertFault(MESYS, self.admin.call(
            "vx.create", name="half2", template="garbage", copy=True))
        self.assertEqual(len(self.flushLoggedErrors(tarfile.ReadError)), 1)
        self.assertEqual(os.listdir(self.config.vbasedir), [])
        self.assertEqual((yield self.admin.call("vxdb.list")), [])
        rows = yield self.query("SELECT COUNT(*) FROM vps_root")
        self.assertEqual(rows, [(0,)])


class RecoveryTests(VpsHelpers, DaemonTestCase):
    """
    A simulated crash: the daemon is stopped, the state a crash would leave
    is made by hand, and the daemon started again.
    """

    def writeRows(self, function, *args):
        connection = openVXDB(self.config.vxdbPath)
        try:
            runTransaction(connection, function, *args)
        finally:
            connection.close()

    def makeTree(self, path, files=("etc/passwd", "bin/sh")):
        for name in files:
            target = os.path.join(path, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as f:
                f.write("partial\n")

    @defer.inlineCallbacks
    def test_interruptedCreate(self):
        """
        A VPS left C{creating} with a partial directory and a staging
        sibling is discarded at start-up; a ready VPS beside it is kept.
        """
        yield self.makeVps("survivor")
        yield self.stopDaemon()
        vdir = self.defaultVdir("crashed")
        staging = os.path.join(self.config.vbasedir,
                               STAGING_PREFIX + "crashed")
        self.makeTree(os.path.join(vdir, "upper"))
        self.makeTree(staging)
        self.writeRows(_insertVps, 500, "crashed", "creating", vdir)
        yield self.startDaemon()
        yield self.assertGone("crashed", 500, vdir)
        self.assertEqual(os.listdir(self.config.vbasedir), ["survivor"])
        self.assertEqual((yield self.admin.call("vxdb.list")), ["survivor"])
        record = yield self.rootRecord("survivor")
        self.assertEqual(record["state"], "ready")
        self.assertTrue(os.path.isdir(os.path.join(
            self.defaultVdir("survivor"), "upper")))
        # The name is free again.
        yield self.admin.call("vx.create", name="crashed",
                              template="busybox")

    @defer.inlineCallbacks
    def test_interruptedBeforeRename(self):
        """
        A crash while the files were still being built: the row says
        C{creating}, only the staging directory exists.
        """
        yield self.stopDaemon()
        vdir = self.defaultVdir("early")
        staging = os.path.join(self.config.vbasedir, STAGING_PREFIX + "early")
        self.makeTree(os.path.join(staging, "rootfs"))
        self.writeRows(_insertVps, 600, "early", "creating", vdir)
        yield self.startDaemon()
        yield self.assertGone("early", 600, vdir)
        self.assertEqual(os.listdir(self.config.vbasedir), [])

    @defer.inlineCallbacks
    def test_interruptedAfterRename(self):
        """
        A crash after the directory was renamed into place but before the
        row was set C{ready}: the complete files go too.
        """
        yield self.makeVps("late", copy=True)
        xid = yield self.admin.call("vxdb.xid.get", name="late")
        yield self.stopDaemon()
        self.writeRows(_setState, "late", "creating")
        yield self.startDaemon()
        yield self.assertGone("late", xid, self.defaultVdir("late"))

    @defer.inlineCallbacks
    def test_interruptedRemove(self):
        """
        A VPS left C{removing} is removed at start-up, whether its files
        are all there, half gone (renamed to trash) or already gone.
        """
        for name in ("rmwhole", "rmtrash", "rmnone"):
            yield self.makeVps(name)
        xids = {}
        for name in ("rmwhole", "rmtrash", "rmnone"):
            xids[name] = yield self.admin.call("vxdb.xid.get", name=name)
        yield self.makeVps("keeper")
        yield self.stopDaemon()
        os.rename(self.defaultVdir("rmtrash"), os.path.join(
            self.config.vbasedir, TRASH_PREFIX + "rmtrash.0123456789ab"))
        os.rename(self.defaultVdir("rmnone"), os.path.join(
            self.base, "rmnone-elsewhere"))
        for name in ("rmwhole", "rmtrash", "rmnone"):
            self.writeRows(_setState, name, "removing")
        yield self.startDaemon()
        for name in ("rmwhole", "rmtrash", "rmnone"):
            yield self.assertGone(name, xids[name], self.defaultVdir(name))
        self.assertEqual(os.listdir(self.config.vbasedir), ["keeper"])
        self.assertEqual((yield self.admin.call("vxdb.list")), ["keeper"])

    @defer.inlineCallbacks
    def test_strayLeftovers(self):
        """
        Staging and trash leftovers with no row (in the base directory, in
        the parent of a VPS directory elsewhere, and among the shared lower
        layers) are swept at start-up; nothing else is touched.
        """
        elsewhere = os.path.join(self.config.vbasedir, "pool", "away")
        yield self.makeVps("away", vdir=elsewhere)
        yield self.stopDaemon()
        lowers = os.path.join(self.config.datadir, "lower")
        stray = [
            os.path.join(self.config.vbasedir, STAGING_PREFIX + "ghost"),
            os.path.join(self.config.vbasedir, TRASH_PREFIX + "ghost.abc"),
            os.path.join(os.path.dirname(elsewhere),
                         STAGING_PREFIX + "other"),
            os.path.join(lowers, STAGING_PREFIX + "busybox-x.0011"),
        ]
        for path in stray:
            self.makeTree(path)
        unrelated = os.path.join(self.config.vbasedir, "not-a-vps")
        self.makeTree(unrelated)
        yield self.startDaemon()
        for path in stray:
            self.assertFalse(os.path.lexists(path), "%s is left" % (path,))
        self.assertTrue(os.path.isfile(os.path.join(unrelated,
                                                    "etc/passwd")))
        self.assertTrue(os.path.isdir(os.path.join(elsewhere, "upper")))
        self.assertEqual(sorted(os.listdir(os.path.dirname(elsewhere))),
                         ["away"])
        self.assertEqual((yield self.admin.call("vxdb.list")), ["away"])

    @defer.inlineCallbacks
    def test_recoveryIsIdempotent(self):
        """
        A second restart after a recovery finds nothing more to do.
        """
        yield self.stopDaemon()
        vdir = self.defaultVdir("twice")
        self.makeTree(os.path.join(vdir, "upper"))
        self.writeRows(_insertVps, 700, "twice", "creating", vdir)
        yield self.startDaemon()
        yield self.restartDaemon()
        yield self.assertGone("twice", 700, vdir)
