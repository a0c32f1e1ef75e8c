"""
Unprivileged and privileged VPSes through the API, on the fake-kernel
daemon: ranges of ids handed out, the admin-only privileged switch, what
vx.status and vcd.hostinfo say, the ceiling in a privileged VPS, and the
ranges' allocation and the host's subordinate ids as plain functions.
"""

from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.faults import MEPERM, MESYS, VCDFault
from vcd.kernel.subids import intersect, parseSubids
from vcd.vxdb import userns

IDS = 65536


class UserNamespaceMethodTests(FakeDaemonMixin, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.fake.addUser("bob", "bob-secret", caps=["INFO", "CFLAG", "BCAP",
                                                      "INIT"])
        self.fake.addVps("web1", owner="bob")
        self.fake.addVps("web2", owner="bob")

    def bob(self, method, **args):
        return self.fake.call(method, "bob", "bob-secret", **args)

    def test_unprivilegedByDefault(self):
        """
        A new VPS is unprivileged, with 65536 ids of its own, aligned,
        inside the host's subordinate ids, not overlapping another's.
        """
        one = self.answer(self.bob("vxdb.vx.userns.get", name="web1"))
        two = self.answer(self.bob("vxdb.vx.userns.get", name="web2"))
        for info in (one, two):
            self.assertEqual((info["kind"], info["privileged"],
                              info["idcount"]), ("unprivileged", False, IDS))
            self.assertEqual(info["idbase"] % IDS, 0)
            first, count = self.fake.services.features.idRanges[0]
            self.assertTrue(first <= info["idbase"]
                            and info["idbase"] + IDS <= first + count)
        self.assertNotEqual(one["idbase"], two["idbase"])
        self.assertEqual(abs(one["idbase"] - two["idbase"]) % IDS, 0)

    def test_onlyAdminsMakeItPrivileged(self):
        """
        An owner may not make a VPS privileged (MEPERM), and may make it
        unprivileged; an administrator may do both.
        """
        self.assertFault(MEPERM, self.bob("vxdb.vx.userns.set", name="web1",
                                          privileged=True), "administrators")
        self.answer(self.bob("vxdb.vx.userns.set", name="web1",
                             privileged=False))
        self.answer(self.fake.call("vxdb.vx.userns.set", name="web1",
                                   privileged=True))
        self.assertEqual(self.answer(self.bob("vxdb.vx.userns.get",
                                              name="web1"))["kind"],
                         "privileged")

    def test_statusAndHostinfoSayTheKind(self):
        """
        vx.status says each VPS's kind; vcd.hostinfo counts them, and
        names the privileged ones to administrators.
        """
        self.answer(self.fake.call("vxdb.vx.userns.set", name="web2",
                                   privileged=True))
        kinds = {name: self.answer(self.bob("vx.status", name=name))["kind"]
                 for name in ("web1", "web2")}
        self.assertEqual(kinds, {"web1": "unprivileged",
                                 "web2": "privileged"})
        info = self.answer(self.fake.call("vcd.hostinfo"))["userns"]
        self.assertEqual((info["unprivileged"], info["privileged"],
                          info["privilegedNames"], info["idsPerVps"]),
                         (1, 1, ["web2"], IDS))

    def test_privilegedStartsWithoutIdMap(self):
        """
        A privileged VPS starts without an id map (and its copy is given
        back to host root first); an unprivileged one with its range.
        """
        self.answer(self.fake.call("vxdb.vx.userns.set", name="web2",
                                   privileged=True))
        self.answer(self.fake.call("vx.start", name="web1"))
        self.answer(self.fake.call("vx.start", name="web2"))
        base = self.answer(self.bob("vxdb.vx.userns.get",
                                    name="web1"))["idbase"]
        self.assertIn("lxc.idmap = u 0 %d 65536\n" % (base,),
                      self.kernel.vps("web1").config)
        self.assertNotIn("lxc.idmap", self.kernel.vps("web2").config)
        self.assertEqual((self.kernel.vps("web1").root.idBase,
                          self.kernel.vps("web2").root.idCount), (base, 0))
        other = self.answer(self.bob("vxdb.vx.userns.get",
                                     name="web2"))["idbase"]
        self.assertEqual([c[0] for c in self.fake.filesystemCalls],
                         ["shiftOwners"])
        self.assertEqual(self.fake.filesystemCalls[0][2:], (other, 0, IDS))

    def test_ceilingInAPrivilegedVps(self):
        """
        SYS_ADMIN is under the ceiling for an unprivileged VPS, and
        refused to an owner in a privileged one, where it acts on the host.
        """
        self.answer(self.bob("vxdb.vx.bcaps.add", name="web1",
                             bcap="SYS_ADMIN"))
        self.answer(self.fake.call("vxdb.vx.userns.set", name="web2",
                                   privileged=True))
        self.assertFault(MEPERM, self.bob("vxdb.vx.bcaps.add", name="web2",
                                          bcap="SYS_ADMIN"), "SYS_ADMIN")
        self.answer(self.fake.call("vxdb.vx.bcaps.add", name="web2",
                                   bcap="SYS_ADMIN"))


class AllocationTests(unittest.TestCase):
    """
    L{userns.allocate} on a real (in-memory) VXDB.
    """

    def setUp(self):
        import sqlite3
        from vcd.vxdb import schema
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.execute("PRAGMA foreign_keys = ON")
        schema.migrate(self.db)
        self.cursor = self.db.cursor()
        for xid in range(2, 10):
            self.cursor.execute("INSERT INTO xid_name_map VALUES (?, ?)",
                                (xid, "v%d" % (xid,)))

    def test_fillsRangesInOrder(self):
        """
        Blocks are aligned to their size, start in the first range, move
        to the next when it is full, and fail with MESYS when all are.
        """
        ranges = [(100000, 3 * IDS), (10 * IDS, IDS)]
        bases = [userns.allocate(self.cursor, xid, ranges, IDS).base
                 for xid in (2, 3, 4)]
        # 100000 rounded up to 131072 (2 * 65536): room for two blocks.
        self.assertEqual(bases, [2 * IDS, 3 * IDS, 10 * IDS])
        e = self.assertRaises(VCDFault, userns.allocate, self.cursor, 5,
                              ranges, IDS)
        self.assertEqual(e.faultCode, MESYS)

    def test_freedBlockReused(self):
        """
        A removed VPS's block goes to the next VPS; a VPS that has one
        keeps it.
        """
        ranges = [(IDS, 10 * IDS)]
        first = userns.allocate(self.cursor, 2, ranges, IDS).base
        userns.allocate(self.cursor, 3, ranges, IDS)
        self.assertEqual(userns.allocate(self.cursor, 2, ranges, IDS).base,
                         first)
        self.cursor.execute("DELETE FROM xid_name_map WHERE xid = 2")
        self.assertEqual(userns.allocate(self.cursor, 4, ranges, IDS).base,
                         first)

    def test_assignMissing(self):
        """
        The VPSes of an older vcd get ranges, reported by name.
        """
        userns.allocate(self.cursor, 2, [(IDS, 100 * IDS)], IDS)
        assigned = userns.assignMissing(self.cursor, [(IDS, 100 * IDS)], IDS)
        self.assertEqual([name for name, _ in assigned],
                         ["v%d" % (xid,) for xid in range(3, 10)])
        self.assertEqual(userns.withoutRange(self.cursor), [])


class SubordinateIdTests(unittest.TestCase):
    """
    Reading subuid(5) files.
    """

    def test_parse(self):
        text = ("# comment\nroot:100000:65536\nbob:200000:65536\n"
                "0:300000:10\nroot:bad:1\nroot:400000:0\n\n")
        self.assertEqual(parseSubids(text, "root", 0),
                         [(100000, 65536), (300000, 10)])

    def test_intersect(self):
        self.assertEqual(intersect([(0, 100), (200, 100)], [(50, 200)]),
                         [(50, 50), (200, 50)])


class SearchableTests(unittest.TestCase):
    """
    L{unsearchableAncestors}: where an unprivileged VPS's root would be
    stopped on the way to its root filesystem.
    """

    def test_found(self):
        import os
        from vcd.kernel.idmap import unsearchableAncestors
        base = os.path.abspath(self.mktemp())
        closed = os.path.join(base, "closed")
        os.makedirs(os.path.join(closed, "open"))
        os.chmod(base, 0o711)
        os.chmod(closed, 0o700)
        found = unsearchableAncestors(os.path.join(closed, "open", "vps"))
        self.assertIn(closed, found)
        self.assertNotIn(base, found)
        self.assertNotIn(os.path.join(closed, "open"), found)
