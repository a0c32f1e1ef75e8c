"""
The daemon administration methods (manual chapter 11) and the original's
vcd.hostinfo, called over a real connection.
"""

import sqlite3

from twisted.internet import defer

from tests.harness import ADMIN_PASSWORD, DaemonTestCase
from vcd import names
from vcd.faults import MEAUTH, MEINVAL, MENOUSER, MEPERM
from vcd.vxdb.whirlpool import whirlpoolHex

PASSWORD = "bob-password-1"


class LoginAndStatusTests(DaemonTestCase):
    """
    vcd.login, vcd.status and vcd.hostinfo.
    """

    @defer.inlineCallbacks
    def test_login(self):
        result = yield self.admin.call("vcd.login")
        self.assertIsNone(result)
        yield self.assertFault(MEAUTH, self.client(
            "admin", "not-the-password").call("vcd.login"))

    @defer.inlineCallbacks
    def test_loginNeedsNoCapability(self):
        bob = yield self.makeUser("bob", PASSWORD)
        result = yield bob.call("vcd.login")
        self.assertIsNone(result)

    @defer.inlineCallbacks
    def test_statusMembers(self):
        status = yield self.admin.call("vcd.status")
        for member in ("uptime", "requests", "flogins", "nomethod"):
            self.assertIsInstance(status[member], int, member)
        self.assertGreaterEqual(status["uptime"], 0)
        self.assertEqual(status["flogins"], 0)
        self.assertEqual(status["nomethod"], 0)
        # This very call is counted.
        self.assertEqual(status["requests"], 1)
        again = yield self.admin.call("vcd.status")
        self.assertEqual(again["requests"], 2)

    @defer.inlineCallbacks
    def test_statusCountsFailedLogins(self):
        for _ in range(3):
            yield self.assertFault(MEAUTH, self.client(
                "admin", "wrong-password").call("vcd.login"))
        yield self.assertFault(MEAUTH, self.client(
            "nobody", "wrong-password").call("vcd.status"))
        status = yield self.admin.call("vcd.status")
        self.assertEqual(status["flogins"], 4)
        self.assertEqual(status["requests"], 5)

    @defer.inlineCallbacks
    def test_statusAndHostinfoNeedInfo(self):
        bob = yield self.makeUser("bob", PASSWORD)
        for method in ("vcd.status", "vcd.hostinfo"):
            yield self.assertFault(MEPERM, bob.call(method), "INFO")
        yield self.admin.call("vcd.user.caps.add", username="bob",
                              cap="INFO")
        status = yield bob.call("vcd.status")
        self.assertIn("uptime", status)
        info = yield bob.call("vcd.hostinfo")
        self.assertIn("knobs", info)

    @defer.inlineCallbacks
    def test_hostinfo(self):
        features = self.daemon.parts.features
        info = yield self.admin.call("vcd.hostinfo")
        self.assertEqual(info["vbasedir"], self.config.vbasedir)
        self.assertEqual(info["cpus"], len(features.cpus))
        self.assertGreaterEqual(info["cpus"], 1)
        self.assertEqual(info["memnodes"], len(features.memNodes))
        self.assertGreaterEqual(info["memnodes"], 1)
        self.assertEqual(info["dlimits"], features.supportsDiskLimits())
        self.assertEqual(info["sched"], features.supportsScheduler())
        self.assertEqual(info["cpuset"], features.supportsCpuset())
        self.assertEqual(sorted(info["knobs"]),
                         ["bcap", "ccap", "flag", "limit", "uname"])
        for kind, knobs in info["knobs"].items():
            accepted, refused = knobs["accepted"], knobs["refused"]
            self.assertEqual(set(accepted) | set(refused),
                             set(names.KNOWN[kind]), kind)
            self.assertFalse(set(accepted) & set(refused), kind)
            for name, reason in refused.items():
                self.assertEqual((False, reason),
                                 features.support(kind, name))
            for name, how in accepted.items():
                self.assertEqual((True, how), features.support(kind, name))
        # Knobs no modern kernel can enforce are always refused.
        self.assertIn("NSOCK", info["knobs"]["limit"]["refused"])
        self.assertIn("RELEASE", info["knobs"]["uname"]["refused"])
        self.assertIn("VIRT_TIME", info["knobs"]["flag"]["refused"])
        self.assertIn("NODENAME", info["knobs"]["uname"]["accepted"])


class UserTests(DaemonTestCase):
    """
    vcd.user.get, vcd.user.set and vcd.user.remove.
    """

    @defer.inlineCallbacks
    def test_getOne(self):
        user = yield self.admin.call("vcd.user.get", username="admin")
        self.assertEqual(user, {"username": "admin", "uid": user["uid"],
                                "password": user["password"],
                                "admin": True})
        self.assertIsInstance(user["uid"], int)
        # The manual's "password hash" is the salted, keyed verifier of the
        # WHIRLPOOL digest, not the digest (which would log in).
        self.assertNotIn(whirlpoolHex(ADMIN_PASSWORD), user["password"])
        self.assertTrue(self.daemon.db.key.matches(
            user["password"], whirlpoolHex(ADMIN_PASSWORD)))

    @defer.inlineCallbacks
    def test_getAll(self):
        yield self.makeUser("bob", PASSWORD)
        users = yield self.admin.call("vcd.user.get", username="")
        self.assertIsInstance(users, list)
        self.assertEqual([u["username"] for u in users],
                         ["admin", "bob", "vshelper"])
        bob = [u for u in users if u["username"] == "bob"][0]
        self.assertTrue(self.daemon.db.key.matches(bob["password"],
                                                   whirlpoolHex(PASSWORD)))
        self.assertIs(bob["admin"], False)
        self.assertEqual(len({u["uid"] for u in users}), 3)
        # A missing member means "all" as well.
        again = yield self.admin.call("vcd.user.get")
        self.assertEqual(again, users)

    @defer.inlineCallbacks
    def test_getUnknown(self):
        yield self.assertFault(MENOUSER, self.admin.call(
            "vcd.user.get", username="ghost"), "ghost")

    @defer.inlineCallbacks
    def test_userMethodsNeedAuth(self):
        bob = yield self.makeUser("bob", PASSWORD, caps=["INFO"])
        calls = [("vcd.user.get", {"username": ""}),
                 ("vcd.user.set", {"username": "carol",
                                   "password": PASSWORD}),
                 ("vcd.user.remove", {"username": "admin"}),
                 ("vcd.user.caps.add", {"username": "bob", "cap": "AUTH"}),
                 ("vcd.user.caps.get", {"username": "bob"}),
                 ("vcd.user.caps.remove", {"username": "bob",
                                           "cap": "INFO"})]
        for method, args in calls:
            yield self.assertFault(MEPERM, bob.call(method, **args), "AUTH")
        caps = yield self.admin.call("vcd.user.caps.get", username="bob")
        self.assertEqual(caps, ["INFO"])
        yield self.assertFault(MENOUSER, self.admin.call(
            "vcd.user.get", username="carol"))

    @defer.inlineCallbacks
    def test_setCreates(self):
        yield self.admin.call("vcd.user.set", username="bob",
                              password=PASSWORD, admin=False)
        result = yield self.client("bob", PASSWORD).call("vcd.login")
        self.assertIsNone(result)
        user = yield self.admin.call("vcd.user.get", username="bob")
        self.assertIs(user["admin"], False)

    @defer.inlineCallbacks
    def test_setChangesAdminFlagKeepingPassword(self):
        bob = yield self.makeUser("bob", PASSWORD)
        before = yield self.admin.call("vcd.user.get", username="bob")
        yield self.admin.call("vcd.user.set", username="bob", password="",
                              admin=True)
        user = yield self.admin.call("vcd.user.get", username="bob")
        self.assertIs(user["admin"], True)
        self.assertEqual(user["password"], before["password"])
        # The old password still works.
        self.assertIsNone((yield bob.call("vcd.login")))
        # A missing password member keeps it as well.
        yield self.admin.call("vcd.user.set", username="bob", admin=False)
        user = yield self.admin.call("vcd.user.get", username="bob")
        self.assertIs(user["admin"], False)
        self.assertIsNone((yield bob.call("vcd.login")))

    @defer.inlineCallbacks
    def test_setChangesPassword(self):
        bob = yield self.makeUser("bob", PASSWORD)
        yield self.admin.call("vcd.user.set", username="bob",
                              password="another-password", admin=False)
        yield self.assertFault(MEAUTH, bob.call("vcd.login"))
        self.assertIsNone((yield self.client(
            "bob", "another-password").call("vcd.login")))

    @defer.inlineCallbacks
    def test_setRefusals(self):
        cases = [
            ({"username": "newbie", "password": ""}, "password"),
            ({"username": "newbie"}, "password"),
            ({"username": "newbie", "password": "short"}, "8 characters"),
            ({"username": "bad-name", "password": PASSWORD}, "username"),
            ({"username": "bad name", "password": PASSWORD}, "username"),
            ({"username": "", "password": PASSWORD}, "username"),
            ({"username": "x" * 65, "password": PASSWORD}, "username"),
        ]
        for args, contains in cases:
            yield self.assertFault(MEINVAL, self.admin.call(
                "vcd.user.set", **args), contains)
        users = yield self.admin.call("vcd.user.get", username="")
        self.assertEqual([u["username"] for u in users],
                         ["admin", "vshelper"])

    @defer.inlineCallbacks
    def test_shortPasswordForExistingUser(self):
        bob = yield self.makeUser("bob", PASSWORD)
        yield self.assertFault(MEINVAL, self.admin.call(
            "vcd.user.set", username="bob", password="1234567"))
        self.assertIsNone((yield bob.call("vcd.login")))

    @defer.inlineCallbacks
    def test_removeTakesCapsAndOwnerships(self):
        yield self.makeUser("bob", PASSWORD, caps=["INFO", "MOUNT"])
        yield self.makeVps("vps1", owner="bob")
        owners = yield self.admin.call("vxdb.owner.get", name="vps1")
        self.assertEqual(owners, ["admin", "bob"])
        user = yield self.admin.call("vcd.user.get", username="bob")
        yield self.admin.call("vcd.user.remove", username="bob")
        owners = yield self.admin.call("vxdb.owner.get", name="vps1")
        self.assertEqual(owners, ["admin"])
        yield self.assertFault(MEAUTH, self.client(
            "bob", PASSWORD).call("vcd.login"))
        yield self.assertFault(MENOUSER, self.admin.call(
            "vcd.user.caps.get", username="bob"))
        connection = sqlite3.connect(self.config.vxdbPath)
        try:
            for table in ("user", "user_caps", "xid_uid_map"):
                rows = connection.execute(
                    "SELECT COUNT(*) FROM %s WHERE uid = ?" % (table,),
                    (user["uid"],)).fetchone()[0]
                self.assertEqual(rows, 0, table)
        finally:
            connection.close()
        # A new bob starts with nothing.
        yield self.makeUser("bob", PASSWORD)
        caps = yield self.admin.call("vcd.user.caps.get", username="bob")
        self.assertEqual(caps, [])

    @defer.inlineCallbacks
    def test_removeYourself(self):
        yield self.assertFault(MEINVAL, self.admin.call(
            "vcd.user.remove", username="admin"), "logged in")
        self.assertIsNone((yield self.admin.call("vcd.login")))

    @defer.inlineCallbacks
    def test_removeUnknown(self):
        yield self.assertFault(MENOUSER, self.admin.call(
            "vcd.user.remove", username="ghost"), "ghost")


class CapabilityTests(DaemonTestCase):
    """
    vcd.user.caps.add, vcd.user.caps.get and vcd.user.caps.remove.
    """

    @defer.inlineCallbacks
    def test_addAnySpelling(self):
        bob = yield self.makeUser("bob", PASSWORD)
        yield self.admin.call("vcd.user.caps.add", username="bob",
                              cap="info")
        yield self.admin.call("vcd.user.caps.add", username="bob",
                              cap="INFO")
        yield self.admin.call("vcd.user.caps.add", username="bob",
                              cap="auth")
        caps = yield self.admin.call("vcd.user.caps.get", username="bob")
        # In the manual's order, once each.
        self.assertEqual(caps, ["AUTH", "INFO"])
        # The capability is effective.
        status = yield bob.call("vcd.status")
        self.assertIn("uptime", status)

    @defer.inlineCallbacks
    def test_getSeedUsers(self):
        caps = yield self.admin.call("vcd.user.caps.get", username="admin")
        self.assertEqual(caps, [c for c in names.DAEMON_CAPS
                                if c != "HELPER"])
        caps = yield self.admin.call("vcd.user.caps.get",
                                     username="vshelper")
        self.assertEqual(caps, ["HELPER"])

    @defer.inlineCallbacks
    def test_remove(self):
        bob = yield self.makeUser("bob", PASSWORD, caps=["INFO", "EXEC"])
        yield self.admin.call("vcd.user.caps.remove", username="bob",
                              cap="info")
        caps = yield self.admin.call("vcd.user.caps.get", username="bob")
        self.assertEqual(caps, ["EXEC"])
        yield self.assertFault(MEPERM, bob.call("vcd.status"))
        # Removing a capability the user lacks is not an error.
        yield self.admin.call("vcd.user.caps.remove", username="bob",
                              cap="INFO")

    @defer.inlineCallbacks
    def test_helperCannotBeGranted(self):
        yield self.makeUser("bob", PASSWORD)
        for spelling in ("HELPER", "helper"):
            yield self.assertFault(MEPERM, self.admin.call(
                "vcd.user.caps.add", username="bob", cap=spelling),
                "HELPER")
        caps = yield self.admin.call("vcd.user.caps.get", username="bob")
        self.assertEqual(caps, [])

    @defer.inlineCallbacks
    def test_unknownCapability(self):
        yield self.makeUser("bob", PASSWORD)
        for method in ("vcd.user.caps.add", "vcd.user.caps.remove"):
            yield self.assertFault(MEINVAL, self.admin.call(
                method, username="bob", cap="FLY"), "FLY")
        # An empty cap means "all" for vcd.user.caps.remove (the
        # original's vcdadm; tests.test_original_forms), not for add.
        yield self.assertFault(MEINVAL, self.admin.call(
            "vcd.user.caps.add", username="bob", cap=""), "cap")

    @defer.inlineCallbacks
    def test_unknownUser(self):
        for method, args in (("vcd.user.caps.add", {"cap": "INFO"}),
                             ("vcd.user.caps.get", {}),
                             ("vcd.user.caps.remove", {"cap": "INFO"})):
            yield self.assertFault(MENOUSER, self.admin.call(
                method, username="ghost", **args), "ghost")
