"""
Groups of VPSes (the original's vg.add, vg.list and vg.remove), called over
a real connection.
"""

from twisted.internet import defer

from tests.harness import DaemonTestCase
from vcd.faults import MEINVAL, MENOVG, MENOVPS, MEPERM

PASSWORD = "bob-password-1"


class GroupTests(DaemonTestCase):
    """
    A daemon with three VPSes: vps1 and vps2 owned by bob (who has AUTH but
    no admin flag), vps3 owned by admin only.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield DaemonTestCase.setUp(self)
        self.bob = yield self.makeUser("bob", PASSWORD, caps=["AUTH"])
        yield self.makeVps("vps1", owner="bob")
        yield self.makeVps("vps2", owner="bob")
        yield self.makeVps("vps3")

    def groups(self, client=None):
        return (client or self.admin).call("vg.list", group="")

    def members(self, group, client=None):
        return (client or self.admin).call("vg.list", group=group)

    @defer.inlineCallbacks
    def test_listGroups(self):
        self.assertEqual((yield self.groups()), ["onboot"])
        self.assertEqual((yield self.admin.call("vg.list")), ["onboot"])
        self.assertEqual((yield self.members("onboot")), [])
        self.assertEqual((yield self.members("all")),
                         ["vps1", "vps2", "vps3"])

    @defer.inlineCallbacks
    def test_add(self):
        yield self.admin.call("vg.add", group="web", name="vps3")
        yield self.admin.call("vg.add", group="web", name="vps1")
        yield self.admin.call("vg.add", group="web", name="vps1")
        self.assertEqual((yield self.groups()), ["onboot", "web"])
        self.assertEqual((yield self.members("web")), ["vps1", "vps3"])
        # An empty name creates the group alone.
        yield self.admin.call("vg.add", group="db", name="")
        yield self.admin.call("vg.add", group="mail")
        self.assertEqual((yield self.groups()),
                         ["db", "mail", "onboot", "web"])
        self.assertEqual((yield self.members("db")), [])
        yield self.admin.call("vg.add", group="onboot", name="vps2")
        self.assertEqual((yield self.members("onboot")), ["vps2"])

    @defer.inlineCallbacks
    def test_addRefusals(self):
        for group in ("all", "bad group", "", "x" * 33, "a.b"):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vg.add", group=group, name="vps1"), "group")
        yield self.assertFault(MENOVPS, self.admin.call(
            "vg.add", group="web", name="ghost"), "ghost")
        yield self.assertFault(MEINVAL, self.admin.call(
            "vg.add", group="web", name="x"), "name")
        # A failed add creates no group.
        self.assertEqual((yield self.groups()), ["onboot"])

    @defer.inlineCallbacks
    def test_listUnknownGroup(self):
        yield self.assertFault(MENOVG, self.members("nosuch"), "nosuch")
        yield self.assertFault(MEINVAL, self.members("no such"), "group")

    @defer.inlineCallbacks
    def test_removeMember(self):
        yield self.admin.call("vg.add", group="web", name="vps1")
        yield self.admin.call("vg.add", group="web", name="vps2")
        yield self.admin.call("vg.remove", group="web", name="vps1")
        self.assertEqual((yield self.members("web")), ["vps2"])
        # Removing a VPS that is not a member is not an error.
        yield self.admin.call("vg.remove", group="web", name="vps3")
        yield self.assertFault(MENOVPS, self.admin.call(
            "vg.remove", group="web", name="ghost"), "ghost")
        self.assertEqual((yield self.members("web")), ["vps2"])

    @defer.inlineCallbacks
    def test_removeGroup(self):
        yield self.admin.call("vg.add", group="web", name="vps1")
        yield self.admin.call("vg.remove", group="web", name="")
        self.assertEqual((yield self.groups()), ["onboot"])
        yield self.assertFault(MENOVG, self.members("web"))
        yield self.assertFault(MENOVG, self.admin.call(
            "vg.remove", group="web"), "web")
        yield self.assertFault(MENOVG, self.admin.call(
            "vg.remove", group="web", name="vps1"), "web")
        # A new group of the same name starts empty.
        yield self.admin.call("vg.add", group="web")
        self.assertEqual((yield self.members("web")), [])

    @defer.inlineCallbacks
    def test_builtinAndReservedGroups(self):
        yield self.admin.call("vg.add", group="onboot", name="vps1")
        yield self.assertFault(MEINVAL, self.admin.call(
            "vg.remove", group="onboot", name=""), "onboot")
        self.assertEqual((yield self.members("onboot")), ["vps1"])
        yield self.admin.call("vg.remove", group="onboot", name="vps1")
        self.assertEqual((yield self.members("onboot")), [])
        self.assertEqual((yield self.groups()), ["onboot"])
        for name in ("", "vps1"):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vg.remove", group="all", name=name), "all")
        self.assertEqual(len((yield self.members("all"))), 3)

    @defer.inlineCallbacks
    def test_nonAdminSeesOwnVpses(self):
        yield self.admin.call("vg.add", group="web", name="vps1")
        yield self.admin.call("vg.add", group="web", name="vps3")
        self.assertEqual((yield self.members("all", self.bob)),
                         ["vps1", "vps2"])
        self.assertEqual((yield self.members("web", self.bob)), ["vps1"])
        self.assertEqual((yield self.groups(self.bob)), ["onboot", "web"])
        self.assertEqual((yield self.members("onboot", self.bob)), [])
        yield self.assertFault(MENOVG, self.members("nosuch", self.bob))

    @defer.inlineCallbacks
    def test_nonAdminAddsOwnVpsesOnly(self):
        yield self.bob.call("vg.add", group="mine", name="vps2")
        self.assertEqual((yield self.members("mine")), ["vps2"])
        not_owned = yield self.assertFault(MENOVPS, self.bob.call(
            "vg.add", group="mine", name="vps3"))
        missing = yield self.assertFault(MENOVPS, self.bob.call(
            "vg.add", group="mine", name="ghost"))
        self.assertEqual(not_owned.message,
                         missing.message.replace("ghost", "vps3"))
        yield self.assertFault(MENOVPS, self.bob.call(
            "vg.add", group="other", name="vps3"))
        self.assertEqual((yield self.groups()), ["mine", "onboot"])
        self.assertEqual((yield self.members("mine")), ["vps2"])

    @defer.inlineCallbacks
    def test_nonAdminRemoves(self):
        yield self.admin.call("vg.add", group="web", name="vps1")
        yield self.admin.call("vg.add", group="web", name="vps3")
        yield self.assertFault(MENOVPS, self.bob.call(
            "vg.remove", group="web", name="vps3"))
        yield self.bob.call("vg.remove", group="web", name="vps1")
        self.assertEqual((yield self.members("web")), ["vps3"])
        # Only an administrator deletes a whole group.
        yield self.assertFault(MEINVAL, self.bob.call(
            "vg.remove", group="web"), "administrator")
        self.assertEqual((yield self.groups()), ["onboot", "web"])

    @defer.inlineCallbacks
    def test_needsAuth(self):
        carol = yield self.makeUser("carol", PASSWORD, caps=["INFO"])
        for method, args in (("vg.add", {"group": "web"}),
                             ("vg.remove", {"group": "onboot"}),
                             ("vg.list", {"group": ""})):
            yield self.assertFault(MEPERM, carol.call(method, **args),
                                   "AUTH")
        self.assertEqual((yield self.groups()), ["onboot"])
