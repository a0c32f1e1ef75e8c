"""
Authentication, capabilities and owner checks for every method of the
daemon (manual 9.2.4), over HTTP.

L{SAMPLES} holds valid arguments for each method; every method in the
daemon's method table (system.* aside) must have an entry, and gets its own
test calling it as:

  (a) a user with every capability except the method's: MEPERM;
  (b) a user with the capability who does not own the VPS: MENOVPS for the
      owner rules C{vps} and C{create} (and for methods that check
      ownership themselves), otherwise allowed;
  (c) the owner, with the capability: succeeds (or, for a few methods, a
      fault of the method's own, listed in L{ALLOWED});
  (d) an administrator who does not own the VPS: as (c), or MEPERM for
      the one capability an administrator lacks (HELPER).
"""

import subprocess

from twisted.internet import defer, threads

from tests.harness import ADMIN_PASSWORD, DaemonTestCase, Fault
from vcd.api import method as M
from vcd.faults import MEAUTH, MENOVPS, MEPERM, MESTOPPED
from vcd.kernel.hostfeatures import HostFeatures
from vcd.names import DAEMON_CAPS

PASSWORD = "user-secret-1"


class Case:
    """
    What one call of the matrix is about: the VPS (and its context id), a
    target user for the user-management methods, and a number that makes
    per-case values (addresses) unique.
    """

    def __init__(self, vps, xid, user, number):
        self.vps = vps
        self.xid = xid
        self.user = user
        self.number = number


def _vps(c, **more):
    return dict(name=c.vps, **more)


#: method name -> function of a L{Case} giving a valid argument struct.
SAMPLES = {
    "vcd.login": lambda c: {},
    "vcd.status": lambda c: {},
    "vcd.hostinfo": lambda c: {},
    "vcd.user.get": lambda c: {"username": c.user},
    "vcd.user.set": lambda c: {"username": c.user, "password": PASSWORD,
                               "admin": False},
    "vcd.user.remove": lambda c: {"username": c.user},
    "vcd.user.caps.add": lambda c: {"username": c.user, "cap": "INFO"},
    "vcd.user.caps.get": lambda c: {"username": c.user},
    "vcd.user.caps.remove": lambda c: {"username": c.user, "cap": "INFO"},
    "vg.add": lambda c: {"group": "grp", "name": c.vps},
    "vg.remove": lambda c: {"group": "grp", "name": c.vps},
    "vg.list": lambda c: {"group": "grp"},
    "vg.vx.start": lambda c: {"group": "grp"},
    "vg.vx.stop": lambda c: {"group": "grp"},
    "vg.vx.reboot": lambda c: {"group": "grp"},
    "vg.vx.restart": lambda c: {"group": "grp"},
    "vx.create": lambda c: _vps(c, template="busybox", force=True),
    "vx.remove": _vps,
    "vx.rename": lambda c: _vps(c, newname=c.vps + "-renamed"),
    "vx.templates": lambda c: {},
    "vx.start": _vps,
    "vx.stop": _vps,
    "vx.restart": _vps,
    "vx.reboot": _vps,
    "vx.exec": lambda c: _vps(c, command="/bin/true"),
    "vx.kill": lambda c: _vps(c, pid=1, sig=15),
    "vx.status": _vps,
    "vx.load": _vps,
    "helper.startup": lambda c: {"xid": c.xid},
    "helper.netup": lambda c: {"xid": c.xid},
    "helper.restart": lambda c: {"xid": c.xid},
    "helper.shutdown": lambda c: {"xid": c.xid},
    "vxdb.list": lambda c: {},
    "vxdb.name.get": lambda c: {"xid": c.xid},
    "vxdb.xid.get": _vps,
    "vxdb.vdir.get": _vps,
    "vxdb.owner.add": lambda c: _vps(c, username=c.user),
    "vxdb.owner.get": _vps,
    "vxdb.owner.remove": lambda c: _vps(c, username=c.user),
    "vxdb.init.get": _vps,
    "vxdb.init.set": lambda c: _vps(c, init="/sbin/init", timeout=20),
    "vxdb.dx.limit.get": _vps,
    "vxdb.dx.limit.remove": _vps,
    "vxdb.dx.limit.set": lambda c: _vps(c, space="100000", inodes="1000"),
    "vxdb.mount.get": _vps,
    "vxdb.mount.remove": lambda c: _vps(c, dst="/mnt/data"),
    "vxdb.mount.set": lambda c: _vps(c, dst="/mnt/data", type="tmpfs",
                                     opts="size=1m"),
    "vxdb.nx.addr.get": _vps,
    "vxdb.nx.addr.remove": lambda c: _vps(c, addr="192.0.2.%d" % c.number),
    "vxdb.nx.addr.set": lambda c: _vps(c, addr="192.0.2.%d" % c.number,
                                       netmask="24"),
    "vxdb.nx.broadcast.get": _vps,
    "vxdb.nx.broadcast.remove": _vps,
    "vxdb.nx.broadcast.set": lambda c: _vps(c, broadcast="192.0.2.255"),
    "vxdb.vx.bcaps.add": lambda c: _vps(c, bcap="NET_RAW"),
    "vxdb.vx.bcaps.get": _vps,
    "vxdb.vx.bcaps.remove": lambda c: _vps(c, bcap="NET_RAW"),
    "vxdb.vx.ccaps.add": lambda c: _vps(c, ccap="SET_UTSNAME"),
    "vxdb.vx.ccaps.get": _vps,
    "vxdb.vx.ccaps.remove": lambda c: _vps(c, ccap="SET_UTSNAME"),
    "vxdb.vx.flags.add": lambda c: _vps(c, flag="HIDE_MOUNT"),
    "vxdb.vx.flags.get": _vps,
    "vxdb.vx.flags.remove": lambda c: _vps(c, flag="HIDE_MOUNT"),
    "vxdb.vx.limit.get": _vps,
    "vxdb.vx.limit.remove": lambda c: _vps(c, limit="NOFILE"),
    "vxdb.vx.limit.set": lambda c: _vps(c, limit="NOFILE", soft="1024",
                                        max="2048"),
    "vxdb.vx.sched.get": _vps,
    "vxdb.vx.sched.remove": _vps,
    "vxdb.vx.sched.set": lambda c: _vps(c, cpuid=-1, interval=10,
                                        fillrate=5, tokensmax=100),
    "vxdb.vx.cpuset.get": _vps,
    "vxdb.vx.cpuset.remove": _vps,
    "vxdb.vx.cpuset.set": lambda c: _vps(c, cpus="0", mems="0"),
    "vxdb.vx.uname.get": _vps,
    "vxdb.vx.uname.remove": lambda c: _vps(c, uname="NODENAME"),
    "vxdb.vx.uname.set": lambda c: _vps(c, uname="NODENAME", value="node1"),
}

#: Methods with no owner rule of their own that check ownership of the VPS
#: they are given in their body.
OWNER_CHECKED_IN_BODY = frozenset(["vg.add", "vg.remove"])

#: The method-specific faults the owner and the administrator may get from
#: a sample (every other sample must succeed): the matrix VPSes are
#: stopped.
ALLOWED = {
    "vx.stop": {MESTOPPED},
    "vx.reboot": {MESTOPPED},
    "vx.restart": {MESTOPPED},
    "vx.exec": {MESTOPPED},
    "vx.kill": {MESTOPPED},
}

#: Methods that may start the matrix VPSes (stopped again in cleanup).
STARTING = frozenset(["vx.start", "vx.restart", "vg.vx.start",
                      "vg.vx.restart"])

#: Group methods act only on the members the caller passes owner checks
#: for: the non-owner's call succeeds and touches nothing.
NONOWNER_RESULT = {
    "vg.vx.start": {"ok": [], "failed": []},
    "vg.vx.stop": {"ok": [], "failed": []},
    "vg.vx.reboot": {"ok": [], "failed": []},
    "vg.vx.restart": {"ok": [], "failed": []},
    "vg.list": [],
}


def everythingHost():
    """
    A host that can enforce every knob, so that every sample succeeds
    whatever this machine offers.
    """
    return HostFeatures(
        cgroupLayout="v2",
        controllers={"cpu", "cpuset", "memory", "pids", "io", "freezer"},
        lxcfs=True, timeNamespace=True, seccomp=True, loopDevices=True,
        cpus=[0], memNodes=[0])


class PermissionTestCase(DaemonTestCase):

    def daemonArguments(self):
        return {"features": everythingHost()}

    @defer.inlineCallbacks
    def outcome(self, deferred):
        """
        Fire with ("ok", result) or (fault code, message).
        """
        try:
            result = yield deferred
        except Fault as f:
            return f.code, f.message
        return "ok", result


class MatrixTests(PermissionTestCase):
    """
    One test per method (added below the class from L{SAMPLES}).
    """

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        yield DaemonTestCase.setUp(self)
        yield self.makeVps("vpsone")
        yield self.makeVps("vpstwo")
        self.xids = {}
        for name in ("vpsone", "vpstwo"):
            self.xids[name] = yield self.admin.call("vxdb.xid.get",
                                                    name=name)
            yield self.admin.call("vg.add", group="grp", name=name)
        for target in ("ta", "tb", "tc", "td"):
            yield self.makeUser(target, PASSWORD)

    def grant(self, username, caps):
        """
        Give C{username} capabilities straight in VXDB (HELPER cannot be
        granted over the API).
        """
        def insert(cursor):
            cursor.executemany(
                "INSERT OR IGNORE INTO user_caps (uid, cap) SELECT uid, ?"
                " FROM user WHERE name = ?", [(c, username) for c in caps])
        return self.daemon.db.transact(insert)

    @defer.inlineCallbacks
    def usersFor(self, method):
        """
        Make the users of the matrix for C{method}; the owner alone owns
        both VPSes.
        """
        cap = method.capability
        granted = [cap] if cap else []
        self.lacking = yield self.makeUser("lacking", PASSWORD)
        yield self.grant("lacking", [c for c in DAEMON_CAPS if c != cap])
        self.other = yield self.makeUser("other", PASSWORD)
        self.owner = yield self.makeUser("owner", PASSWORD)
        for username in ("other", "owner"):
            yield self.grant(username, granted)
        for name in ("vpsone", "vpstwo"):
            yield self.admin.call("vxdb.owner.remove", name=name,
                                  username="")
            yield self.admin.call("vxdb.owner.add", name=name,
                                  username="owner")
        self.adminCaps = yield self.admin.call("vcd.user.caps.get",
                                               username="admin")
        if method.name in STARTING:
            # In a thread: the VPS's stop hook calls back into the daemon.
            for name in ("vpsone", "vpstwo"):
                self.addCleanup(threads.deferToThread, subprocess.run, [
                    "lxc-stop", "-P", self.config.lxcpath, "-n", name, "-k"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def assertAllowed(self, name, who, code, message):
        """
        Assert that the owner or an administrator got a success or one of
        the method-specific faults of C{name}; a group method must have
        acted on both VPSes of the group.
        """
        allowed = ALLOWED.get(name, set())
        self.assertTrue(code == "ok" or code in allowed, "%s by %s: %s %s"
                        % (name, who, code, message))
        if name in NONOWNER_RESULT and isinstance(message, dict):
            acted = message["ok"] + [f["name"] for f in message["failed"]]
            self.assertEqual(sorted(acted), ["vpsone", "vpstwo"], message)

    def case(self, vps, user, number):
        return Case(vps, self.xids[vps], user, number)

    @defer.inlineCallbacks
    def checkMethod(self, name):
        method = self.daemon.dispatcher.methods.get(name)
        self.assertIsNotNone(method, "the daemon has no method %s" % (name,))
        yield self.usersFor(method)
        sample = SAMPLES[name]

        # (a) lacking the capability
        if method.capability is not None:
            code, message = yield self.outcome(self.lacking.call(
                name, **sample(self.case("vpsone", "ta", 1))))
            self.assertEqual(code, MEPERM, "%s without %s: %s" % (
                name, method.capability, message))
            self.assertIn(method.capability, message)

        # (b) the capability, not the owner
        code, message = yield self.outcome(self.other.call(
            name, **sample(self.case("vpsone", "tb", 2))))
        if method.owner in (M.OWNER_VPS, M.OWNER_CREATE) \
                or name in OWNER_CHECKED_IN_BODY:
            self.assertEqual(code, MENOVPS, "%s by a non-owner: %s"
                             % (name, message))
            self.assertIn("vpsone", message)
        else:
            self.assertEqual(code, "ok", "%s by a non-owner (owner rule %s):"
                             " %s" % (name, method.owner, message))
            if name in NONOWNER_RESULT:
                self.assertEqual(message, NONOWNER_RESULT[name])

        # (c) the owner
        code, message = yield self.outcome(self.owner.call(
            name, **sample(self.case("vpsone", "tc", 3))))
        self.assertAllowed(name, "the owner", code, message)

        # (d) an administrator who does not own the VPS: passes owner
        # checks, but has no capability beyond its own (the seed admin has
        # every one but HELPER)
        code, message = yield self.outcome(self.admin.call(
            name, **sample(self.case("vpstwo", "td", 4))))
        if method.capability is None or method.capability in self.adminCaps:
            self.assertAllowed(name, "an administrator", code, message)
        else:
            self.assertEqual(code, MEPERM, "%s by an administrator without"
                             " %s: %s" % (name, method.capability, message))

    def test_everyMethodCovered(self):
        """
        Every method of the daemon (system.* aside) has a sample, and every
        sample is a method of the daemon.
        """
        methods = {m for m in self.daemon.dispatcher.methods
                   if not m.startswith("system.")}
        self.assertEqual(sorted(methods - set(SAMPLES)), [],
                         "methods missing from SAMPLES")
        self.assertEqual(sorted(set(SAMPLES) - methods), [],
                         "SAMPLES for methods the daemon lacks")
        for name in methods:
            self.assertTrue(hasattr(self, "test_" + name.replace(".", "_")))


def _matrixTest(name):
    def test(self):
        return self.checkMethod(name)
    test.__name__ = "test_" + name.replace(".", "_")
    test.__doc__ = "The permission matrix for %s." % (name,)
    return test


for _name in SAMPLES:
    setattr(MatrixTests, "test_" + _name.replace(".", "_"), _matrixTest(_name))
del _name


class AuthenticationTests(PermissionTestCase):

    @defer.inlineCallbacks
    def test_unknownUserAndWrongPasswordAlike(self):
        yield self.makeUser("erin", PASSWORD, caps=["INFO"])
        for method in ("vcd.login", "vxdb.list", "vcd.status"):
            faults = []
            for username, password in (("nosuchuser", PASSWORD),
                                       ("erin", PASSWORD + "x"),
                                       ("admin", "wrong-password"),
                                       ("admin", "")):
                f = yield self.assertFault(MEAUTH, self.client(
                    username, password).call(method))
                faults.append((f.code, f.message))
            self.assertEqual(len(set(faults)), 1, faults)
            self.assertNotIn("nosuchuser", faults[0][1])
        # The right password works.
        yield self.client("erin", PASSWORD).call("vcd.login")
        yield self.client("admin", ADMIN_PASSWORD).call("vcd.login")

    @defer.inlineCallbacks
    def test_authenticationBeforeEverything(self):
        """
        A bad password is MEAUTH even where the method, the capability or
        the VPS would fail too.
        """
        stranger = self.client("admin", "wrong-password")
        yield self.assertFault(MEAUTH, stranger.call("vx.remove",
                                                     name="nosuch"))
        yield self.makeUser("frank", PASSWORD)
        yield self.assertFault(MEAUTH, self.client("frank", "nope-nope").call(
            "vcd.user.remove", username="admin"))

    @defer.inlineCallbacks
    def test_removedUserLocked(self):
        yield self.makeUser("gina", PASSWORD)
        gina = self.client("gina", PASSWORD)
        yield gina.call("vcd.login")
        yield self.admin.call("vcd.user.remove", username="gina")
        yield self.assertFault(MEAUTH, gina.call("vcd.login"))


class OwnerRuleTests(PermissionTestCase):

    @defer.inlineCallbacks
    def test_unownedLooksMissing(self):
        """
        Failing the owner check on an existing VPS gives the very fault of
        a VPS that does not exist.
        """
        yield self.makeVps("hidden1")
        henry = yield self.makeUser("henry", PASSWORD, caps=["INIT"])
        f1 = yield self.assertFault(MENOVPS, henry.call("vxdb.init.get",
                                                        name="hidden1"))
        f2 = yield self.assertFault(MENOVPS, henry.call("vxdb.init.get",
                                                        name="hidden2"))
        self.assertEqual(f1.message.replace("hidden1", "X"),
                         f2.message.replace("hidden2", "X"))
        self.assertEqual((yield henry.call("vxdb.list")), [])

    @defer.inlineCallbacks
    def test_capabilityNoOwnership(self):
        """
        vxdb.owner.* need AUTH, vxdb.xid.get and vxdb.vdir.get need INFO,
        and none of them needs ownership (only an existing VPS).
        """
        yield self.makeVps("shared1")
        ivy = yield self.makeUser("ivy", PASSWORD, caps=["AUTH", "INFO"])
        jack = yield self.makeUser("jack", PASSWORD, caps=["CREATE", "INIT"])
        xid = yield self.admin.call("vxdb.xid.get", name="shared1")
        self.assertEqual((yield ivy.call("vxdb.xid.get", name="shared1")),
                         xid)
        self.assertEqual((yield ivy.call("vxdb.vdir.get", name="shared1")),
                         (yield self.admin.call("vxdb.vdir.get",
                                                name="shared1")))
        yield ivy.call("vxdb.owner.add", name="shared1", username="jack")
        self.assertEqual((yield ivy.call("vxdb.owner.get", name="shared1")),
                         ["admin", "jack"])
        # jack owns it now, and passes owner checks...
        yield jack.call("vxdb.init.get", name="shared1")
        yield ivy.call("vxdb.owner.remove", name="shared1", username="jack")
        # ...and no longer.
        yield self.assertFault(MENOVPS, jack.call("vxdb.init.get",
                                                  name="shared1"))
        for method, args in (("vxdb.xid.get", {}), ("vxdb.vdir.get", {}),
                             ("vxdb.owner.get", {}),
                             ("vxdb.owner.add", {"username": "jack"}),
                             ("vxdb.owner.remove", {"username": "jack"})):
            yield self.assertFault(MEPERM, jack.call(method, name="shared1",
                                                     **args))
            # A VPS that does not exist is still MENOVPS.
            yield self.assertFault(MENOVPS, ivy.call(method, name="nosuch",
                                                     **args))

    @defer.inlineCallbacks
    def test_listShowsOwnedOnly(self):
        yield self.makeUser("kim", PASSWORD, caps=["AUTH"])
        yield self.makeVps("kims1", owner="kim")
        yield self.makeVps("notkims")
        kim = self.client("kim", PASSWORD)
        self.assertEqual((yield kim.call("vxdb.list")), ["kims1"])
        self.assertEqual((yield self.admin.call("vxdb.list")),
                         ["kims1", "notkims"])
        self.assertEqual((yield kim.call("vg.list", group="all")), ["kims1"])
