"""
The C{vx} namespace end to end (manual chapter 12): vx.create, vx.remove,
vx.rename and vx.templates against a real daemon, real VXDB, real files
and, for the MERUNNING cases, a real running busybox container.

Needs root, the LXC tools (Debian package lxc) and busybox-static; a
missing component fails the test saying what to install.
"""

import json
import os
import shutil
import subprocess
import time

from twisted.internet import defer, reactor, task, threads

from tests.harness import DaemonTestCase, Fault
from tests.test_kernel_lxc import lxcConfig
from vcd.faults import MEBUSY, MEEXIST, MEINVAL, MENOVPS, MEPERM, MERUNNING
from vcd.vps.rootfs import STAGING_PREFIX
from vcd.vps.rootlayout import RootLayout

USER_PASSWORD = "user-secret-1"


class VpsHelpers:
    """
    Looking at what the daemon did (VXDB rows, files) and making a VPS run,
    for L{DaemonTestCase}s.
    """

    def query(self, sql, *params):
        """
        Run one query in the daemon's VXDB; fire with the rows.
        """
        return self.daemon.db.transact(
            lambda cursor: cursor.execute(sql, params).fetchall())

    @defer.inlineCallbacks
    def rootRecord(self, name):
        """
        Fire with the vps_root row of VPS C{name} as a dict, or None.
        """
        rows = yield self.query(
            "SELECT r.xid, r.state, r.kind, r.vdir, r.template, r.layout"
            " FROM vps_root r JOIN xid_name_map m ON r.xid = m.xid"
            " WHERE m.name = ?", name)
        if not rows:
            return None
        keys = ("xid", "state", "kind", "vdir", "template", "layout")
        return dict(zip(keys, rows[0]))

    @defer.inlineCallbacks
    def rowsOf(self, xid):
        """
        Fire with {table: row count} for every VXDB table with rows for
        context id C{xid}.
        """
        tables = yield self.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
        found = {}
        for (table,) in tables:
            columns = yield self.query("PRAGMA table_info(%s)" % (table,))
            if "xid" not in [c[1] for c in columns]:
                continue
            ((count,),) = yield self.query(
                "SELECT COUNT(*) FROM %s WHERE xid = ?" % (table,), xid)
            if count:
                found[table] = count
        return found

    @defer.inlineCallbacks
    def assertGone(self, name, xid, vdir):
        """
        Assert that nothing is left of VPS C{name}: no VXDB row for C{xid},
        no directory C{vdir} and no staging sibling, and the name unknown.
        """
        rows = yield self.rowsOf(xid)
        self.assertEqual(rows, {}, "VXDB rows left for xid %d" % (xid,))
        self.assertFalse(os.path.lexists(vdir), "%s is left" % (vdir,))
        staging = os.path.join(os.path.dirname(vdir),
                               STAGING_PREFIX + os.path.basename(vdir))
        self.assertFalse(os.path.lexists(staging), "%s is left" % (staging,))
        names = yield self.admin.call("vxdb.list")
        self.assertNotIn(name, names)
        yield self.assertFault(MENOVPS, self.admin.call("vxdb.xid.get",
                                                        name=name))

    def defaultVdir(self, name):
        return os.path.join(self.config.vbasedir, name)

    @defer.inlineCallbacks
    def layoutOf(self, name):
        record = yield self.rootRecord(name)
        self.assertIsNotNone(record, "no vps_root row for %r" % (name,))
        return RootLayout.fromRecord(json.loads(record["layout"]))

    def lxcTool(self, *argv):
        """
        Run an LXC tool on the daemon's lxcpath in a thread (the reactor
        keeps serving meanwhile); fire with the completed process.
        """
        tool = argv[0]
        if shutil.which(tool) is None:
            self.fail("%s missing: install the Debian package lxc" % (tool,))
        return threads.deferToThread(
            subprocess.run, [tool, "-P", self.config.lxcpath] + list(argv[1:]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)

    @defer.inlineCallbacks
    def waitRunning(self, name, expected):
        deadline = time.monotonic() + 15
        while True:
            running = yield self.daemon.parts.kernel.isRunning(name)
            if running == expected or time.monotonic() > deadline:
                break
            yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(running, expected,
                         "%s: running is not %s" % (name, expected))

    @defer.inlineCallbacks
    def startVps(self, name, container=None):
        """
        Start VPS C{name} as the LXC container C{container} (default: its
        name) in the daemon's lxcpath, with the smallest configuration;
        stopped again in cleanup.
        """
        container = container or name
        layout = yield self.layoutOf(name)
        directory = os.path.join(self.config.lxcpath, container)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config"), "w") as f:
            f.write(lxcConfig(container, layout.lxcRootfsPath()))
        result = yield self.lxcTool("lxc-start", "-n", container, "-d")
        self.addCleanup(self.lxcTool, "lxc-stop", "-n", container, "-k")
        if result.returncode != 0:
            self.fail("lxc-start %s failed: %s" % (container, result.stderr))
        yield self.waitRunning(container, True)

    @defer.inlineCallbacks
    def stopVps(self, name):
        result = yield self.lxcTool("lxc-stop", "-n", name, "-k")
        self.assertEqual(result.returncode, 0, result.stderr)
        yield self.waitRunning(name, False)

    def mountTmpfs(self, point):
        """
        Mount a tmpfs at C{point} (unmounted in cleanup).
        """
        os.mkdir(point)
        result = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", point],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.assertEqual(result.returncode, 0, result.stdout)
        self.addCleanup(subprocess.run, ["umount", "-l", point])

    @defer.inlineCallbacks
    def restartDaemon(self):
        yield self.stopDaemon()
        yield self.startDaemon()

    def writeTemplate(self, name, cache=None, config=None):
        """
        Add template C{name} to the template directory: a copy of the
        busybox cache (or the bytes C{cache}) and a configuration text.
        """
        templatedir = self.config.templatedir
        target = os.path.join(templatedir, name + ".tar.gz")
        if cache is None:
            shutil.copy(os.path.join(templatedir, "busybox.tar.gz"), target)
        else:
            with open(target, "wb") as f:
                f.write(cache)
        if config is not None:
            with open(os.path.join(templatedir, name + ".conf"), "w") as f:
                f.write(config)

    def busyboxCache(self):
        with open(os.path.join(self.config.templatedir,
                               "busybox.tar.gz"), "rb") as f:
            return f.read()


def settle(deferreds):
    """
    Fire with a list of (True, result) or (False, Fault) for C{deferreds}.
    """
    def outcome(results):
        settled = []
        for ok, value in results:
            if not ok:
                value.trap(Fault)
                value = value.value
            settled.append((ok, value))
        return settled
    return defer.DeferredList(deferreds, consumeErrors=True).addCallback(
        outcome)


class CreateTests(VpsHelpers, DaemonTestCase):
    """
    vx.create.
    """

    @defer.inlineCallbacks
    def test_overlay(self):
        """
        Without copy a VPS is an empty upper and work directory over the
        template's shared lower layer: nothing is copied, and a second VPS
        of the same template shares the lower layer.
        """
        yield self.admin.call("vx.create", name="ovl1", template="busybox")
        first = yield self.layoutOf("ovl1")
        busybox = os.stat(os.path.join(first.lower, "bin/busybox"))
        yield self.admin.call("vx.create", name="ovl2", template="busybox")
        # The second VPS unpacked nothing: the same file, not a new copy.
        again = os.stat(os.path.join(first.lower, "bin/busybox"))
        self.assertEqual((again.st_ino, again.st_mtime_ns),
                         (busybox.st_ino, busybox.st_mtime_ns))
        for name in ("ovl1", "ovl2"):
            vdir = self.defaultVdir(name)
            self.assertEqual(sorted(os.listdir(vdir)), ["upper", "work"])
            self.assertEqual(os.listdir(os.path.join(vdir, "upper")), [])
            self.assertFalse(os.path.exists(os.path.join(vdir, "rootfs")))
            record = yield self.rootRecord(name)
            self.assertEqual((record["kind"], record["state"],
                              record["vdir"], record["template"]),
                             ("overlay", "ready", vdir, "busybox"))
            got = yield self.admin.call("vxdb.vdir.get", name=name)
            self.assertEqual(got, vdir)
        one = yield self.layoutOf("ovl1")
        two = yield self.layoutOf("ovl2")
        self.assertEqual(one.lower, two.lower)
        self.assertTrue(one.lower.startswith(self.config.datadir + "/"))
        self.assertTrue(os.path.isfile(os.path.join(one.lower,
                                                    "bin/busybox")))
        self.assertEqual(one.upper, os.path.join(self.defaultVdir("ovl1"),
                                                 "upper"))

    @defer.inlineCallbacks
    def test_copy(self):
        yield self.admin.call("vx.create", name="copy1", template="busybox",
                              copy=True)
        vdir = self.defaultVdir("copy1")
        self.assertEqual(os.listdir(vdir), ["rootfs"])
        self.assertTrue(os.path.isfile(os.path.join(vdir,
                                                    "rootfs/bin/busybox")))
        record = yield self.rootRecord("copy1")
        self.assertEqual((record["kind"], record["state"]), ("copy", "ready"))
        layout = yield self.layoutOf("copy1")
        self.assertEqual(layout.rootfs, os.path.join(vdir, "rootfs"))

    @defer.inlineCallbacks
    def test_templateDefaults(self):
        """
        A new VPS gets its template's bcaps, ccaps, flags, mounts and init
        commands, less the knobs no host can enforce.
        """
        self.writeTemplate("custom", config=(
            "[template]\n"
            "description = Custom\n"
            "init = /sbin/myinit\nhalt = /sbin/myhalt\n"
            "reboot = /sbin/myreboot\ntimeout = 42\n"
            "bcaps = CHOWN NET_RAW\n"
            "ccaps = RAW_ICMP ADMIN_CLOOP\n"
            "flags = HIDE_NETIF HIDE_MOUNT SCHED_PRIO\n"
            "mounts =\n    tmpfs /tmp tmpfs size=1m\n"))
        yield self.admin.call("vx.create", name="custom1", template="custom")
        get = lambda method: self.admin.call(method, name="custom1")
        self.assertEqual((yield get("vxdb.vx.bcaps.get")),
                         ["CHOWN", "NET_RAW"])
        self.assertEqual((yield get("vxdb.vx.ccaps.get")), ["RAW_ICMP"])
        self.assertEqual((yield get("vxdb.vx.flags.get")),
                         ["HIDE_MOUNT", "HIDE_NETIF"])
        self.assertEqual((yield get("vxdb.mount.get")), [
            {"dst": "/tmp", "src": "tmpfs", "type": "tmpfs",
             "opts": "size=1m"}])
        self.assertEqual((yield get("vxdb.init.get")), {
            "init": "/sbin/myinit", "halt": "/sbin/myhalt",
            "reboot": "/sbin/myreboot", "timeout": 42})
        record = yield self.rootRecord("custom1")
        self.assertEqual(record["template"], "custom")

    @defer.inlineCallbacks
    def test_callerBecomesOwner(self):
        boss = yield self.makeUser("boss", USER_PASSWORD, caps=["CREATE"],
                                   admin=True)
        yield boss.call("vx.create", name="bossvps", template="busybox")
        yield self.admin.call("vx.create", name="adminvps",
                              template="busybox")
        self.assertEqual((yield self.admin.call("vxdb.owner.get",
                                                name="bossvps")), ["boss"])
        self.assertEqual((yield self.admin.call("vxdb.owner.get",
                                                name="adminvps")), ["admin"])

    @defer.inlineCallbacks
    def test_existsWithoutForce(self):
        yield self.makeVps("dup1")
        marker = os.path.join(self.defaultVdir("dup1"), "upper", "marker")
        open(marker, "w").close()
        yield self.assertFault(MEEXIST, self.admin.call(
            "vx.create", name="dup1", template="busybox"), "force")
        yield self.assertFault(MEEXIST, self.admin.call(
            "vx.create", name="dup1", template="busybox", force=False))
        self.assertTrue(os.path.exists(marker))

    @defer.inlineCallbacks
    def rebuildKeeps(self, **flag):
        """
        Rebuild a configured VPS with C{flag} and check that its xid, owners
        and configuration survive while its files are new.
        """
        yield self.makeUser("alice", USER_PASSWORD, caps=["INFO"])
        yield self.makeVps("keep1", owner="alice")
        xid = yield self.admin.call("vxdb.xid.get", name="keep1")
        yield self.admin.call("vxdb.init.set", name="keep1", timeout=99)
        yield self.admin.call("vxdb.vx.bcaps.add", name="keep1",
                              bcap="NET_RAW")
        yield self.admin.call("vxdb.nx.addr.set", name="keep1",
                              addr="192.0.2.7")
        marker = os.path.join(self.defaultVdir("keep1"), "upper", "marker")
        open(marker, "w").close()
        yield self.admin.call("vx.create", name="keep1", template="busybox",
                              **flag)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual((yield self.admin.call("vxdb.xid.get",
                                                name="keep1")), xid)
        init = yield self.admin.call("vxdb.init.get", name="keep1")
        self.assertEqual(init["timeout"], 99)
        self.assertIn("NET_RAW", (yield self.admin.call(
            "vxdb.vx.bcaps.get", name="keep1")))
        addrs = yield self.admin.call("vxdb.nx.addr.get", name="keep1")
        self.assertEqual([a["addr"] for a in addrs], ["192.0.2.7"])
        self.assertEqual((yield self.admin.call("vxdb.owner.get",
                                                name="keep1")),
                         ["admin", "alice"])
        record = yield self.rootRecord("keep1")
        self.assertEqual(record["state"], "ready")
        self.assertEqual(record["vdir"], self.defaultVdir("keep1"))
        return record

    @defer.inlineCallbacks
    def test_force(self):
        record = yield self.rebuildKeeps(force=True)
        self.assertEqual(record["kind"], "overlay")

    @defer.inlineCallbacks
    def test_rebuildAlias(self):
        """
        C{rebuild} (the manual's name) is accepted for C{force}; here the
        rebuild also switches the VPS to a full copy.
        """
        record = yield self.rebuildKeeps(rebuild=True, copy=True)
        self.assertEqual(record["kind"], "copy")
        self.assertTrue(os.path.isfile(os.path.join(
            self.defaultVdir("keep1"), "rootfs/bin/busybox")))
        self.assertFalse(os.path.exists(os.path.join(
            self.defaultVdir("keep1"), "upper")))

    @defer.inlineCallbacks
    def test_forceAndRebuildTogether(self):
        yield self.makeVps("both1")
        yield self.assertFault(MEINVAL, self.admin.call(
            "vx.create", name="both1", template="busybox", force=True,
            rebuild=True), "rebuild")

    @defer.inlineCallbacks
    def test_rebuildKeepsVdir(self):
        """
        A rebuild without vdir keeps the VPS where it is (an administrator
        may have put it elsewhere; its owner cannot even name vdir).
        """
        elsewhere = os.path.join(self.config.vbasedir, "pool", "kv1")
        yield self.makeUser("alice", USER_PASSWORD, caps=["CREATE"])
        yield self.makeVps("kv1", owner="alice", vdir=elsewhere)
        alice = self.client("alice", USER_PASSWORD)
        yield alice.call("vx.create", name="kv1", template="busybox",
                         force=True)
        self.assertEqual((yield self.admin.call("vxdb.vdir.get",
                                                name="kv1")), elsewhere)
        self.assertTrue(os.path.isdir(os.path.join(elsewhere, "upper")))
        self.assertFalse(os.path.lexists(self.defaultVdir("kv1")))

    @defer.inlineCallbacks
    def test_rebuildIntoExistingDirectory(self):
        """
        A rebuild to a vdir that exists and belongs to no VPS is MEEXIST
        before anything is touched.
        """
        yield self.makeVps("kv2")
        stranger = os.path.join(self.config.vbasedir, "stranger")
        os.mkdir(stranger)
        marker = os.path.join(self.defaultVdir("kv2"), "upper", "marker")
        open(marker, "w").close()
        yield self.assertFault(MEEXIST, self.admin.call(
            "vx.create", name="kv2", template="busybox", force=True,
            vdir=stranger))
        self.assertTrue(os.path.exists(marker))
        self.assertEqual(os.listdir(stranger), [])
        record = yield self.rootRecord("kv2")
        self.assertEqual((record["state"], record["vdir"]),
                         ("ready", self.defaultVdir("kv2")))
        # Moving it to a free directory works.
        moved = os.path.join(self.config.vbasedir, "moved", "kv2")
        yield self.admin.call("vx.create", name="kv2", template="busybox",
                              force=True, vdir=moved)
        self.assertTrue(os.path.isdir(os.path.join(moved, "upper")))
        self.assertFalse(os.path.lexists(self.defaultVdir("kv2")))

    @defer.inlineCallbacks
    def test_forceRunning(self):
        yield self.makeVps("run1")
        yield self.startVps("run1")
        marker = os.path.join(self.defaultVdir("run1"), "upper", "marker")
        open(marker, "w").close()
        yield self.assertFault(MERUNNING, self.admin.call(
            "vx.create", name="run1", template="busybox", force=True))
        self.assertTrue(os.path.exists(marker))
        record = yield self.rootRecord("run1")
        self.assertEqual(record["state"], "ready")

    @defer.inlineCallbacks
    def test_rebuildBusyKeepsVps(self):
        """
        A rebuild that cannot remove the old files (something is mounted
        there) fails, and the VPS stays known, ready and intact.
        """
        yield self.makeVps("busy1")
        xid = yield self.admin.call("vxdb.xid.get", name="busy1")
        self.mountTmpfs(os.path.join(self.defaultVdir("busy1"), "upper",
                                     "mnt"))
        f = yield self.assertFault(MEEXIST, self.admin.call(
            "vx.create", name="busy1", template="busybox", force=True))
        self.assertIn("mounted", f.message)
        self.assertEqual((yield self.admin.call("vxdb.xid.get",
                                                name="busy1")), xid)
        record = yield self.rootRecord("busy1")
        self.assertEqual((record["state"], record["kind"]),
                         ("ready", "overlay"))
        layout = yield self.layoutOf("busy1")
        self.assertTrue(os.path.isdir(layout.upper))

    @defer.inlineCallbacks
    def test_badTemplate(self):
        """
        An empty, malformed or unknown template name is MEINVAL, and no
        trace of the VPS is left.
        """
        for template, contains in (("", "empty"), ("bad/name", "template"),
                                   ("../busybox", "template"),
                                   (".hidden", "template"),
                                   ("nosuch", "nosuch")):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vx.create", name="tmpl1", template=template), contains)
        self.assertEqual((yield self.admin.call("vxdb.list")), [])
        self.assertEqual(os.listdir(self.config.vbasedir), [])

    @defer.inlineCallbacks
    def test_vdirForAdmins(self):
        vdir = os.path.join(self.config.vbasedir, "deep", "er", "vd1")
        yield self.admin.call("vx.create", name="vd1", template="busybox",
                              vdir=vdir + "/")
        self.assertEqual((yield self.admin.call("vxdb.vdir.get",
                                                name="vd1")), vdir)
        self.assertTrue(os.path.isdir(os.path.join(vdir, "upper")))
        self.assertFalse(os.path.lexists(self.defaultVdir("vd1")))

    @defer.inlineCallbacks
    def test_vdirNotForUsers(self):
        bob = yield self.makeUser("bob", USER_PASSWORD, caps=["CREATE"])
        yield self.makeVps("vd2", owner="bob")
        yield self.assertFault(MEPERM, bob.call(
            "vx.create", name="vd2", template="busybox", force=True,
            vdir=os.path.join(self.config.vbasedir, "other")))
        self.assertFalse(os.path.lexists(os.path.join(self.config.vbasedir,
                                                      "other")))
        self.assertTrue(os.path.isdir(self.defaultVdir("vd2")))

    @defer.inlineCallbacks
    def test_vdirOutsideBase(self):
        base = self.config.vbasedir
        outside = os.path.join(self.base, "outside")
        os.mkdir(outside)
        os.symlink(outside, os.path.join(base, "escape"))
        os.mkdir(os.path.join(base, "real"))
        os.symlink(os.path.join(base, "real"), os.path.join(base, "inlink"))
        for vdir in (os.path.join(self.base, "elsewhere", "vd3"),
                     base, base + "/", "/",
                     base + "/../outside/vd3",
                     base + "/sub/../../outside/vd3",
                     "relative/vd3",
                     os.path.join(base, "escape", "vd3"),
                     os.path.join(base, "escape"),
                     os.path.join(base, "inlink"),
                     os.path.join(base, "co:lon")):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vx.create", name="vd3", template="busybox", vdir=vdir),
                "vdir")
        self.assertEqual(os.listdir(outside), [])
        self.assertEqual(os.listdir(os.path.join(base, "real")), [])
        self.assertEqual((yield self.admin.call("vxdb.list")), [])

    @defer.inlineCallbacks
    def test_badNames(self):
        for name in ("ab", "", "bad name", "bad.name", "bad/name", "ä" * 5,
                     "x" * 33):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vx.create", name=name, template="busybox"), "name")
        self.assertEqual((yield self.admin.call("vxdb.list")), [])
        yield self.admin.call("vx.create", name="x" * 32, template="busybox")
        yield self.admin.call("vx.create", name="a-_", template="busybox")
        self.assertEqual((yield self.admin.call("vxdb.list")),
                         ["a-_", "x" * 32])

    @defer.inlineCallbacks
    def test_usersCannotCreate(self):
        """
        A user with CREATE but no admin flag cannot create a new VPS (the
        owner check fails: MENOVPS), but can rebuild one they own.
        """
        carol = yield self.makeUser("carol", USER_PASSWORD, caps=["CREATE"])
        yield self.assertFault(MENOVPS, carol.call(
            "vx.create", name="new1", template="busybox"))
        self.assertFalse(os.path.lexists(self.defaultVdir("new1")))
        yield self.makeVps("mine1", owner="carol")
        yield self.makeVps("theirs1")
        marker = os.path.join(self.defaultVdir("mine1"), "upper", "marker")
        open(marker, "w").close()
        yield carol.call("vx.create", name="mine1", template="busybox",
                         force=True)
        self.assertFalse(os.path.exists(marker))
        yield self.assertFault(MENOVPS, carol.call(
            "vx.create", name="theirs1", template="busybox", force=True))
        self.assertEqual((yield carol.call("vxdb.list")), ["mine1"])

    @defer.inlineCallbacks
    def test_concurrentCreate(self):
        """
        Simultaneous creates of one name: exactly one succeeds, the others
        get MEBUSY or MEEXIST, and one consistent VPS results.
        """
        results = yield settle([
            self.admin.call("vx.create", name="race1", template="busybox",
                            copy=True)
            for _ in range(4)])
        succeeded = [value for ok, value in results if ok]
        failed = [value for ok, value in results if not ok]
        self.assertEqual(len(succeeded), 1, results)
        for fault in failed:
            self.assertIn(fault.code, (MEBUSY, MEEXIST), fault.message)
        self.assertEqual((yield self.admin.call("vxdb.list")), ["race1"])
        record = yield self.rootRecord("race1")
        self.assertEqual(record["state"], "ready")
        self.assertEqual(sorted(os.listdir(self.config.vbasedir)), ["race1"])
        self.assertEqual((yield self.admin.call("vcd.status"))["busy"], [])


class RemoveTests(VpsHelpers, DaemonTestCase):
    """
    vx.remove.
    """

    @defer.inlineCallbacks
    def test_remove(self):
        yield self.makeUser("dave", USER_PASSWORD)
        yield self.makeVps("rm1", owner="dave")
        yield self.makeVps("rm2")
        yield self.admin.call("vxdb.nx.addr.set", name="rm1",
                              addr="192.0.2.9")
        yield self.admin.call("vg.add", group="onboot", name="rm1")
        xid = yield self.admin.call("vxdb.xid.get", name="rm1")
        rows = yield self.rowsOf(xid)
        for table in ("xid_name_map", "vps_root", "xid_uid_map", "vx_bcaps",
                      "init_method", "mount", "nx_addr", "xid_gid_map"):
            self.assertIn(table, rows)
        yield self.admin.call("vx.remove", name="rm1")
        yield self.assertGone("rm1", xid, self.defaultVdir("rm1"))
        self.assertEqual(os.listdir(self.config.vbasedir), ["rm2"])
        self.assertEqual((yield self.admin.call("vg.list", group="onboot")),
                         [])
        # The lower layer rm2 uses is left alone; the name is free again.
        layout = yield self.layoutOf("rm2")
        self.assertTrue(os.path.isfile(os.path.join(layout.lower,
                                                    "bin/busybox")))
        yield self.admin.call("vx.create", name="rm1", template="busybox")
        yield self.assertFault(MENOVPS, self.admin.call("vx.remove",
                                                        name="nosuch"))

    @defer.inlineCallbacks
    def test_running(self):
        yield self.makeVps("rmrun")
        yield self.startVps("rmrun")
        yield self.assertFault(MERUNNING, self.admin.call("vx.remove",
                                                          name="rmrun"))
        record = yield self.rootRecord("rmrun")
        self.assertEqual(record["state"], "ready")
        self.assertTrue(os.path.isdir(self.defaultVdir("rmrun")))
        yield self.stopVps("rmrun")
        yield self.admin.call("vx.remove", name="rmrun")
        self.assertFalse(os.path.lexists(self.defaultVdir("rmrun")))

    @defer.inlineCallbacks
    def test_symlinksNotFollowed(self):
        """
        Symlinks inside a VPS that point outside it (absolute, relative,
        and at the top of its root) are removed, never followed.
        """
        outside = os.path.join(self.base, "precious")
        os.mkdir(outside)
        with open(os.path.join(outside, "keep"), "w") as f:
            f.write("keep me")
        yield self.makeVps("sym1")
        yield self.makeVps("sym2", copy=True)
        for root in (os.path.join(self.defaultVdir("sym1"), "upper"),
                     os.path.join(self.defaultVdir("sym2"), "rootfs")):
            os.symlink(outside, os.path.join(root, "abs"))
            os.symlink(os.path.relpath(outside, root),
                       os.path.join(root, "rel"))
            os.symlink(os.path.join(outside, "keep"),
                       os.path.join(root, "file"))
        yield self.admin.call("vx.remove", name="sym1")
        yield self.admin.call("vx.remove", name="sym2")
        self.assertEqual(os.listdir(outside), ["keep"])
        with open(os.path.join(outside, "keep")) as f:
            self.assertEqual(f.read(), "keep me")
        self.assertEqual(os.listdir(self.config.vbasedir), [])

    @defer.inlineCallbacks
    def test_mountedIsMEEXIST(self):
        """
        Files still mounted: MEEXIST (manual check needed); the VPS stays.
        """
        yield self.makeVps("rmbusy")
        point = os.path.join(self.defaultVdir("rmbusy"), "upper", "mnt")
        self.mountTmpfs(point)
        yield self.assertFault(MEEXIST, self.admin.call("vx.remove",
                                                        name="rmbusy"))
        record = yield self.rootRecord("rmbusy")
        self.assertEqual(record["state"], "ready")
        subprocess.run(["umount", point], check=True)
        yield self.admin.call("vx.remove", name="rmbusy")
        self.assertFalse(os.path.lexists(self.defaultVdir("rmbusy")))


class RenameTests(VpsHelpers, DaemonTestCase):
    """
    vx.rename: VXDB only.
    """

    @defer.inlineCallbacks
    def test_rename(self):
        yield self.makeVps("old1")
        xid = yield self.admin.call("vxdb.xid.get", name="old1")
        vdir = self.defaultVdir("old1")
        yield self.admin.call("vx.rename", name="old1", newname="new1")
        self.assertEqual((yield self.admin.call("vxdb.xid.get",
                                                name="new1")), xid)
        self.assertEqual((yield self.admin.call("vxdb.vdir.get",
                                                name="new1")), vdir)
        self.assertTrue(os.path.isdir(os.path.join(vdir, "upper")))
        self.assertFalse(os.path.lexists(self.defaultVdir("new1")))
        self.assertEqual((yield self.admin.call("vxdb.list")), ["new1"])
        self.assertEqual((yield self.admin.call("vxdb.name.get", xid=xid)),
                         "new1")
        yield self.assertFault(MENOVPS, self.admin.call("vxdb.xid.get",
                                                        name="old1"))
        # The old name's directory is taken, so a new VPS of that name
        # cannot reuse it.
        yield self.assertFault(MEEXIST, self.admin.call(
            "vx.create", name="old1", template="busybox"))

    @defer.inlineCallbacks
    def test_newnameExists(self):
        yield self.makeVps("ren1")
        yield self.makeVps("ren2")
        yield self.assertFault(MEEXIST, self.admin.call(
            "vx.rename", name="ren1", newname="ren2"))
        self.assertEqual((yield self.admin.call("vxdb.list")),
                         ["ren1", "ren2"])
        yield self.assertFault(MEINVAL, self.admin.call(
            "vx.rename", name="ren1", newname="ren1"))
        yield self.assertFault(MEINVAL, self.admin.call(
            "vx.rename", name="ren1", newname="b d"))
        yield self.assertFault(MENOVPS, self.admin.call(
            "vx.rename", name="nosuch", newname="ren3"))

    @defer.inlineCallbacks
    def test_running(self):
        yield self.makeVps("renrun")
        yield self.startVps("renrun")
        yield self.assertFault(MERUNNING, self.admin.call(
            "vx.rename", name="renrun", newname="renrun2"))
        self.assertEqual((yield self.admin.call("vxdb.list")), ["renrun"])

    @defer.inlineCallbacks
    def test_newnameRunning(self):
        """
        A container already running under the new name blocks the rename.
        """
        yield self.makeVps("ren5")
        yield self.makeVps("ren6")
        yield self.startVps("ren6", container="ren7")
        yield self.assertFault(MERUNNING, self.admin.call(
            "vx.rename", name="ren5", newname="ren7"))
        self.assertEqual((yield self.admin.call("vxdb.list")),
                         ["ren5", "ren6"])


class TemplatesTests(VpsHelpers, DaemonTestCase):
    """
    vx.templates.
    """

    @defer.inlineCallbacks
    def test_templates(self):
        self.writeTemplate("another", config=(
            "[template]\ndescription = Another one\n"))
        self.writeTemplate("plain")
        self.writeTemplate("broken", config="[template]\ntimeout = x\n")
        everything = yield self.admin.call("vx.templates")
        self.assertEqual(everything, [
            {"name": "another", "description": "Another one"},
            {"name": "busybox", "description": "Minimal busybox system"},
            {"name": "plain", "description": ""}])
        self.assertEqual((yield self.admin.call("vx.templates", name="")),
                         everything)
        self.assertEqual((yield self.admin.call("vx.templates",
                                                name="busybox")),
                         [{"name": "busybox",
                           "description": "Minimal busybox system"}])
        for name in ("nosuch", "broken", "bad/name"):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vx.templates", name=name))
