"""
Authentication and owner rules over HTTP (manual 9.2.4): failed logins
look alike, and an unowned VPS looks missing.

The capability and owner rule of every method are checked against the
manual in L{tests.test_manual_table}.
"""

from twisted.internet import defer

from tests.harness import ADMIN_PASSWORD, DaemonTestCase
from vcd.faults import MEAUTH, MENOVPS, MEPERM

PASSWORD = "user-secret-1"


class AuthenticationTests(DaemonTestCase):

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


class OwnerRuleTests(DaemonTestCase):

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
