"""
Unit tests for L{vcd.api.arguments}: hostile values get MEINVAL naming the
argument; good values come out normalised.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.harness import DaemonTestCase
from vcd.api import arguments as A
from vcd.faults import MEINVAL, VCDFault


class ArgumentTypeTests(unittest.TestCase):

    def assertInvalid(self, argumentType, value, contains):
        error = self.assertRaises(VCDFault, argumentType.parse, "arg", value)
        self.assertEqual(error.faultCode, MEINVAL)
        self.assertIn("'arg'", error.faultString)
        self.assertIn(contains, error.faultString)

    def test_netmask(self):
        netmask = A.Netmask()
        self.assertEqual(netmask.parse("m", "255.255.0.0"), "255.255.0.0")
        self.assertEqual(netmask.parse("m", "/24"), "24")
        self.assertInvalid(netmask, "0.0.0.255", "contiguous")
        self.assertInvalid(netmask, "255.0.255.0", "contiguous")
        self.assertInvalid(netmask, "129", "over 128")

    def test_absolutePathNormalised(self):
        path = A.AbsolutePath()
        self.assertEqual(path.parse("p", "/mnt/"), "/mnt")
        self.assertEqual(path.parse("p", "//srv//www/"), "/srv/www")
        self.assertInvalid(path, "mnt", "absolute")
        self.assertInvalid(path, "/a/../b", "'..'")

    def test_uint64(self):
        value = A.UInt64()
        self.assertEqual(value.parse("v", "18446744073709551615"), 2 ** 64 - 1)
        self.assertEqual(value.parse("v", 7), 7)
        self.assertInvalid(value, "-1", "negative")
        self.assertInvalid(value, -1, "range")
        self.assertInvalid(value, "18446744073709551616", "range")
        self.assertInvalid(value, "18446744073709551616k", "range")
        self.assertInvalid(value, True, "decimal string")

    def test_uint64LeadingDigits(self):
        """
        Manual 9.1: the leading digits are converted, the rest ignored;
        a string without a leading digit is refused.
        """
        value = A.UInt64()
        self.assertEqual(value.parse("v", "4096k"), 4096)
        self.assertEqual(value.parse("v", "12 KiB"), 12)
        self.assertEqual(value.parse("v", "007"), 7)
        self.assertEqual(value.parse("v", "18446744073709551615x"),
                         2 ** 64 - 1)
        self.assertEqual(value.parse("v", "0x10"), 0)
        for text in ("", "k", " 12", "+5", "x10", "\uff11"):
            self.assertInvalid(value, text, "starting with a digit")
        self.assertInvalid(value, "1\n", "NUL or newline")
        self.assertInvalid(value, "1" + "k" * 64, "longer than 64")

    def test_stringsRefuseControlCharacters(self):
        for value in ("a\x00b", "a\nb", "a\rb"):
            self.assertInvalid(A.String(), value, "NUL or newline")
        self.assertInvalid(A.String(maxLength=3), "abcd", "longer than 3")


class ValidationRegressionTests(DaemonTestCase):
    """
    Values that used to be accepted or mangled.
    """

    @defer.inlineCallbacks
    def test_mountOverRootRefused(self):
        yield self.makeVps("reg1")
        yield self.assertFault(MEINVAL, self.admin.call(
            "vxdb.mount.set", name="reg1", src="tmpfs", dst="/",
            type="tmpfs", opts=""), "root")
        yield self.admin.call("vxdb.mount.set", name="reg1", src="tmpfs",
                              dst="/mnt/", type="tmpfs", opts="")
        mounts = yield self.admin.call("vxdb.mount.get", name="reg1",
                                       dst="/mnt")
        self.assertEqual([m["dst"] for m in mounts], ["/mnt"])

    @defer.inlineCallbacks
    def test_broadcastMustBeUsable(self):
        yield self.makeVps("reg2")
        for bad in ("127.0.0.1", "224.0.0.1", "0.0.0.0"):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vxdb.nx.broadcast.set", name="reg2", broadcast=bad),
                "broadcast")

    @defer.inlineCallbacks
    def test_userSetWithoutAdminKeepsTheFlag(self):
        yield self.makeUser("boss", "boss-password", admin=True)
        yield self.admin.call("vcd.user.set", username="boss",
                              password="new-password")
        user = yield self.admin.call("vcd.user.get", username="boss")
        self.assertTrue(user["admin"])
        yield self.client("boss", "new-password").call("vcd.login")


class ReviewRegressionTests(DaemonTestCase):
    """
    Findings of the security review.
    """

    @defer.inlineCallbacks
    def test_mountFieldsCannotShift(self):
        yield self.makeVps("rev1")
        for args, argument in (
                (dict(src="/", dst="/mnt/h none bind,rw", type="none",
                      opts="defaults"), "dst"),
                (dict(src="/a\tb", dst="/mnt", type="none", opts=""), "src"),
                (dict(src="tmpfs", dst="/mnt", type="tmpfs", opts="bind"),
                 "opts"),
                (dict(src="none", dst="/mnt", type="none", opts="rbind,ro"),
                 "opts")):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vxdb.mount.set", name="rev1", **args), "'%s'" % (argument,))
        mounts = yield self.admin.call("vxdb.mount.get", name="rev1")
        self.assertEqual(sorted(m["dst"] for m in mounts),
                         ["/dev/pts", "/proc"])

    @defer.inlineCallbacks
    def test_pathSourcesForAdminsOnly(self):
        owner = yield self.makeUser("mounter", "mounter-pw", caps=["MOUNT"])
        yield self.makeVps("rev2", owner="mounter")
        yield self.assertFault(MEINVAL, owner.call(
            "vxdb.mount.set", name="rev2", src="/dev/sda1", dst="/mnt",
            type="ext4", opts=""), "administrators")
        yield owner.call("vxdb.mount.set", name="rev2", src="tmpfs",
                         dst="/tmp", type="tmpfs", opts="size=1m")
        yield self.admin.call("vxdb.mount.set", name="rev2", src="/dev/sdz",
                              dst="/data", type="ext4", opts="ro")

    @defer.inlineCallbacks
    def test_listHasNoUserOracle(self):
        user = yield self.makeUser("plain", "plain-pw")
        known = yield user.call("vxdb.list", username="admin")
        unknown = yield user.call("vxdb.list", username="nosuchuser")
        self.assertEqual(known, unknown)
        yield self.assertFault(102, self.admin.call("vxdb.list",
                                                    username="nosuchuser"))

    @defer.inlineCallbacks
    def test_namesStartWithLetterOrDigit(self):
        yield self.assertFault(MEINVAL, self.admin.call(
            "vx.create", name="--help", template="busybox"), "'name'")
        yield self.assertFault(MEINVAL, self.admin.call(
            "vx.create", name="_ab", template="busybox"), "'name'")

    @defer.inlineCallbacks
    def test_failedRebuildKeepsTheConfiguration(self):
        """
        A rebuild whose template turns out broken leaves the VPS known and
        configured (marked broken, refusing to start) for another rebuild.
        """
        import os
        with open(os.path.join(self.config.templatedir, "busybox.tar.gz"),
                  "rb") as f:
            head = f.read(4096)
        with open(os.path.join(self.config.templatedir, "cut.tar.gz"),
                  "wb") as f:
            f.write(head)
        yield self.makeVps("rev3")
        yield self.admin.call("vxdb.vx.limit.set", name="rev3",
                              limit="NOFILE", soft="100", max="200")
        yield self.assertFault(500, self.admin.call(
            "vx.create", name="rev3", template="cut", force=True, copy=True))
        import tarfile
        self.flushLoggedErrors(tarfile.ReadError)
        self.assertIn("rev3", (yield self.admin.call("vxdb.list")))
        limits = yield self.admin.call("vxdb.vx.limit.get", name="rev3")
        self.assertEqual(limits[0]["max"], "200")
        yield self.assertFault(MEINVAL, self.admin.call(
            "vx.start", name="rev3"), "broken")
        yield self.admin.call("vx.create", name="rev3", template="busybox",
                              force=True)
        limits = yield self.admin.call("vxdb.vx.limit.get", name="rev3")
        self.assertEqual(limits[0]["max"], "200")
