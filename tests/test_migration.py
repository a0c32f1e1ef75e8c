"""
Upgrading to unprivileged VPSes: a VXDB and VPSes made by the previous
vcd (schema version 1, no user namespaces, copies owned by host root)
start and run after the upgrade, unprivileged, and the log says what was
done. Real daemon, real containers, as root.

The previous version's state is made from the current one by undoing what
this version adds (its table, its schema version, the copy's owners), so
the test needs no old vcd installed.
"""

import os
import sqlite3

from twisted.internet import defer

from tests.harness import DaemonTestCase
from tests.running import RunningHelpers


def _unshift(root, base):
    """
    Give the files under C{root} back to host root's ids, as the previous
    vcd extracted them (its own walk, not vcd's).
    """
    for directory, dirs, files in os.walk(root):
        for name in dirs + files + [None]:
            path = directory if name is None else os.path.join(directory,
                                                               name)
            st = os.lstat(path)
            if base <= st.st_uid < base + 65536:
                os.chown(path, st.st_uid - base, st.st_gid - base,
                         follow_symlinks=False)


class MigrationTests(RunningHelpers, DaemonTestCase):

    @defer.inlineCallbacks
    def test_olderVpsesRunUnprivileged(self):
        overlay, copy = self.vpsName(), self.vpsName()
        yield self.makeVps(overlay)
        yield self.makeVps(copy, copy=True)
        info = yield self.admin.call("vxdb.vx.userns.get", name=copy)
        yield self.stopDaemon()
        rootfs = os.path.join(self.config.vbasedir, copy, "rootfs")
        _unshift(rootfs, info["idbase"])
        self.assertEqual(os.lstat(os.path.join(rootfs, "bin")).st_uid, 0)
        db = sqlite3.connect(self.config.vxdbPath, isolation_level=None)
        db.execute("DROP TABLE vps_userns")
        db.execute("PRAGMA user_version = 1")
        db.close()

        log = self.captureLog()
        yield self.startDaemon()
        migrated = [line for line in log if "migration:" in line]
        self.assertEqual(len(migrated), 2, log)
        for name in (overlay, copy):
            self.assertTrue(any(name in line for line in migrated), migrated)
            self.assertEqual(
                (yield self.admin.call("vxdb.vx.userns.get",
                                       name=name))["kind"], "unprivileged")
            yield self.admin.call("vx.start", name=name)
            yield self.waitBooted(name)
            inside = yield self.execIn(name, "cat /proc/self/uid_map")
            first, host, count = (int(f) for f in inside.split())
            self.assertEqual((first, count), (0, 65536))
            self.assertNotEqual(host, 0)
            if name == copy:
                self.assertEqual(
                    os.lstat(os.path.join(rootfs, "bin")).st_uid, host)
            self.assertEqual((yield self.execIn(name, "echo ok")), "ok\n")
