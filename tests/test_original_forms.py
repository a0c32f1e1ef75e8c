"""
The original daemon's accepted forms (issue 10, items 1, 2, 3, 5 and 6),
over HTTP with a plain xmlrpc.client, and the really wrong forms beside
them, still refused with the manual's fault code and a message naming the
argument.

The oracles are the manual (chapter 9.1 for uint64, 9.3 for the fault
codes, 13.1 for vxdb.dx.limit.get's struct) and the original's sources
(linux-vserver/vcd: vxdb_dx_limit_get.c, vxdb_vx_cpuset_get.c answer
empty values; its vce sends timeout 0 and C{""} for "all"; its vcdadm sends
C{""} as the argument param), written here as literals.
"""

from twisted.internet import defer

from tests.harness import ADMIN_PASSWORD, DaemonTestCase
from tests.running import RunningHelpers
from vcd import names
from vcd.vxdb.connection import openVXDB

#: The manual's fault codes (9.3).
MEINVAL = 200
MENOVPS = 202
MESTOPPED = 300

#: What the original answered with nothing configured.
DISK_LIMIT_EMPTY = {"space": "", "inodes": "", "reserved": 0}
CPUSET_EMPTY = {"cpus": "", "mems": "", "virtualize": False}

AUTH = {"username": "admin", "password": ADMIN_PASSWORD}


class RefusalAssertions:
    """
    For L{DaemonTestCase}s: the manual's MEINVAL naming the argument.
    """

    def invalid(self, deferred, argument):
        """
        Assert MEINVAL (200) with a message naming C{argument}.
        """
        return self.assertFault(MEINVAL, deferred, repr(argument))


class OriginalFormsTestCase(RefusalAssertions, DaemonTestCase):
    """
    A daemon with one stopped VPS, C{vps1}.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield DaemonTestCase.setUp(self)
        yield self.makeVps("vps1")
        self.features = self.daemon.parts.features

    def call(self, method, name="vps1", **args):
        return self.admin.call(method, name=name, **args)

    def supported(self, kind, count=2):
        """
        Up to C{count} knob names of C{kind} this host can enforce.
        """
        found = [n for n in sorted(names.KNOWN[kind])
                 if self.features.support(kind, n)[0]][:count]
        if not found:
            self.fail("this host enforces no %s at all" % (kind,))
        return found


class EmptyStructTests(OriginalFormsTestCase):
    """
    Item 1: vxdb.dx.limit.get and vxdb.vx.cpuset.get answer a struct (the
    original's empty values) when nothing is set, never nil.
    """

    @defer.inlineCallbacks
    def test_diskLimitNothingSet(self):
        self.assertEqual((yield self.call("vxdb.dx.limit.get")),
                         DISK_LIMIT_EMPTY)
        if self.features.supportsDiskLimits():
            yield self.call("vxdb.dx.limit.set", space="1000", inodes="100")
            self.assertEqual((yield self.call("vxdb.dx.limit.get")),
                             {"space": "1000", "inodes": "100",
                              "reserved": 5})
        yield self.call("vxdb.dx.limit.remove")
        self.assertEqual((yield self.call("vxdb.dx.limit.get")),
                         DISK_LIMIT_EMPTY)

    @defer.inlineCallbacks
    def test_cpusetNothingSet(self):
        self.assertEqual((yield self.call("vxdb.vx.cpuset.get")),
                         CPUSET_EMPTY)
        if self.features.supportsCpuset():
            cpu = str(self.features.cpus[0])
            yield self.call("vxdb.vx.cpuset.set", cpus=cpu)
            self.assertEqual((yield self.call("vxdb.vx.cpuset.get")),
                             {"cpus": cpu, "mems": "0", "virtualize": False})
        yield self.call("vxdb.vx.cpuset.remove")
        self.assertEqual((yield self.call("vxdb.vx.cpuset.get")),
                         CPUSET_EMPTY)

    @defer.inlineCallbacks
    def test_stillChecked(self):
        """
        The owner check and the name still apply to the empty answer.
        """
        yield self.assertFault(MENOVPS, self.call("vxdb.dx.limit.get",
                                              name="ghost"))
        yield self.invalid(self.call("vxdb.vx.cpuset.get", name="a b"),
                           "name")


class UInt64Tests(OriginalFormsTestCase):
    """
    Item 2: manual 9.1, "converts all leading digit characters".
    """

    def limit(self, limit):
        return self.call("vxdb.vx.limit.get", limit=limit)

    @defer.inlineCallbacks
    def test_suffixIgnored(self):
        yield self.call("vxdb.vx.limit.set", limit="NOFILE", soft="4096k",
                        max="8192 KiB")
        self.assertEqual((yield self.limit("NOFILE")), [
            {"limit": "NOFILE", "type": "NOFILE", "soft": "4096",
             "max": "8192"}])
        # (CORE: NOFILE may not be unlimited, above fs.nr_open.)
        yield self.call("vxdb.vx.limit.set", limit="CORE", soft="10.9",
                        max="18446744073709551615x")
        self.assertEqual((yield self.limit("CORE")), [
            {"limit": "CORE", "type": "CORE", "soft": "10",
             "max": "18446744073709551615"}])

    @defer.inlineCallbacks
    def test_diskLimitSuffix(self):
        if not self.features.supportsDiskLimits():
            yield self.invalid(self.call("vxdb.dx.limit.set", space="1000k",
                                         inodes="100"), "space")
            return
        yield self.call("vxdb.dx.limit.set", space="1000000k",
                        inodes="10000 inodes")
        self.assertEqual((yield self.call("vxdb.dx.limit.get")),
                         {"space": "1000000", "inodes": "10000",
                          "reserved": 5})

    @defer.inlineCallbacks
    def test_reallyWrongRefused(self):
        """
        No leading digit, a sign, a value above 2^64-1, or a control
        character is MEINVAL naming the argument, and stores nothing.
        """
        yield self.call("vxdb.vx.limit.set", limit="NOFILE", soft="7")
        bad = ["", "k", "k4096", " 12", "+5", "-1", "-1k", -1,
               "18446744073709551616", "18446744073709551616k",
               "99999999999999999999999", "1\n", "1\r", "1" + "k" * 64,
               1.5, True, "\u0661"]
        for value in bad:
            for argument in ("soft", "max"):
                args = {"soft": "7", "max": "7", argument: value}
                yield self.invalid(self.call("vxdb.vx.limit.set",
                                             limit="NOFILE", **args),
                                   argument)
        self.assertEqual((yield self.limit("NOFILE")), [
            {"limit": "NOFILE", "type": "NOFILE", "soft": "7", "max": "7"}])

    @defer.inlineCallbacks
    def test_help(self):
        help = yield self.admin.call("system.methodHelp",
                                     _raw=("vxdb.vx.limit.set",))
        self.assertIn("leading", help)


class TypeAliasTests(OriginalFormsTestCase):
    """
    Item 3: the original's member C{type} for C{limit} and C{uname}, and
    both names in the results.
    """

    @defer.inlineCallbacks
    def test_limitByType(self):
        yield self.call("vxdb.vx.limit.set", type="nofile", soft="100",
                        max="200")
        expected = [{"limit": "NOFILE", "type": "NOFILE", "soft": "100",
                     "max": "200"}]
        self.assertEqual((yield self.call("vxdb.vx.limit.get",
                                          type="NOFILE")), expected)
        self.assertEqual((yield self.call("vxdb.vx.limit.get",
                                          limit="NOFILE")), expected)
        yield self.call("vxdb.vx.limit.remove", type="NOFILE")
        self.assertEqual((yield self.call("vxdb.vx.limit.get", type="")), [])

    @defer.inlineCallbacks
    def test_unameByType(self):
        yield self.call("vxdb.vx.uname.set", type="NODENAME", value="web1")
        expected = [{"uname": "NODENAME", "type": "NODENAME",
                     "value": "web1"}]
        self.assertEqual((yield self.call("vxdb.vx.uname.get",
                                          type="nodename")), expected)
        self.assertEqual((yield self.call("vxdb.vx.uname.get")), expected)
        yield self.call("vxdb.vx.uname.remove", type="NODENAME")
        self.assertEqual((yield self.call("vxdb.vx.uname.get")), [])

    @defer.inlineCallbacks
    def test_reallyWrongRefused(self):
        # Both names at once, an unknown knob under the alias, an alias
        # other methods do not have.
        yield self.invalid(self.call("vxdb.vx.limit.set", limit="NOFILE",
                                     type="NOFILE", soft="1"), "type")
        yield self.invalid(self.call("vxdb.vx.uname.set", type="HOSTNAME",
                                     value="x"), "type")
        yield self.invalid(self.call("vxdb.vx.limit.set", type="",
                                     soft="1"), "type")
        yield self.invalid(self.call("vxdb.vx.bcaps.add", type="CHOWN"),
                           "type")
        self.assertEqual((yield self.call("vxdb.vx.limit.get")), [])
        self.assertEqual((yield self.call("vxdb.vx.uname.get")), [])

    @defer.inlineCallbacks
    def test_help(self):
        for method in ("vxdb.vx.limit.get", "vxdb.vx.limit.set",
                       "vxdb.vx.limit.remove", "vxdb.vx.uname.get",
                       "vxdb.vx.uname.set", "vxdb.vx.uname.remove"):
            help = yield self.admin.call("system.methodHelp", _raw=(method,))
            self.assertIn("type: accepted as another name of", help)


class InitTimeoutTests(OriginalFormsTestCase):
    """
    Item 5: vxdb.init.set with timeout 0, as the original's vce sent it,
    means the default (15 seconds, the original's default).
    """

    @defer.inlineCallbacks
    def test_zeroIsDefault(self):
        yield self.call("vxdb.init.set", timeout=30)
        self.assertEqual((yield self.call("vxdb.init.get"))["timeout"], 30)
        # What vce sends: every member, empty or zero when left out.
        yield self.call("vxdb.init.set", init="", halt="", reboot="",
                        timeout=0)
        self.assertEqual((yield self.call("vxdb.init.get")), {
            "init": "/sbin/init", "halt": "/sbin/halt",
            "reboot": "/sbin/reboot", "timeout": 15})

    @defer.inlineCallbacks
    def test_reallyWrongRefused(self):
        yield self.call("vxdb.init.set", timeout=30)
        for value in (-1, 3601, "0", "", True):
            yield self.invalid(self.call("vxdb.init.set", timeout=value),
                               "timeout")
        self.assertEqual((yield self.call("vxdb.init.get"))["timeout"], 30)


class RemoveAllTests(OriginalFormsTestCase):
    """
    Item 5: C{""} means "all" for vcd.user.caps.remove and
    vxdb.vx.{bcaps,ccaps,flags}.remove.
    """

    @defer.inlineCallbacks
    def test_userCaps(self):
        for user in ("bob", "carol"):
            yield self.makeUser(user, "password-1", caps=["INFO", "CREATE"])
        yield self.admin.call("vcd.user.caps.remove", username="bob", cap="")
        self.assertEqual((yield self.admin.call("vcd.user.caps.get",
                                                username="bob")), [])
        # Only bob's.
        self.assertEqual(sorted((yield self.admin.call(
            "vcd.user.caps.get", username="carol"))), ["CREATE", "INFO"])

    @defer.inlineCallbacks
    def test_userCapsKeepsHelper(self):
        """
        "All" is all the API can give back: the vshelper user keeps HELPER,
        which no call can grant again; removing it takes naming it.
        """
        self.assertEqual(self.capsInVxdb("vshelper"), ["HELPER"])
        yield self.admin.call("vcd.user.caps.remove", username="vshelper",
                              cap="")
        # Read from VXDB: vcd.user.caps.get lists only grantable caps.
        self.assertEqual(self.capsInVxdb("vshelper"), ["HELPER"])
        yield self.admin.call("vcd.user.caps.remove", username="vshelper",
                              cap="HELPER")
        self.assertEqual(self.capsInVxdb("vshelper"), [])

    def capsInVxdb(self, username):
        connection = openVXDB(self.config.vxdbPath)
        try:
            return sorted(cap for (cap,) in connection.execute(
                "SELECT c.cap FROM user_caps c JOIN user u ON u.uid = c.uid"
                " WHERE u.name = ?", (username,)))
        finally:
            connection.close()

    @defer.inlineCallbacks
    def test_vpsSetsOfOthersRefused(self):
        """
        A non-admin with BCAP cannot empty the bcaps of a VPS it does not
        own: the owner rule comes first (MENOVPS), and nothing is removed.
        """
        yield self.makeVps("theirs")
        knob = self.supported("bcap")[0]
        yield self.admin.call("vxdb.vx.bcaps.add", name="theirs", bcap=knob)
        before = yield self.admin.call("vxdb.vx.bcaps.get", name="theirs")
        self.assertIn(knob, before)
        mallory = yield self.makeUser("mallory", "password-1", caps=["BCAP"])
        yield self.assertFault(MENOVPS, mallory.call(
            "vxdb.vx.bcaps.remove", name="theirs", bcap=""))
        self.assertEqual((yield self.admin.call("vxdb.vx.bcaps.get",
                                                name="theirs")), before)

    @defer.inlineCallbacks
    def test_userCapsReallyWrong(self):
        yield self.makeUser("bob", "password-1", caps=["INFO"])
        yield self.invalid(self.admin.call("vcd.user.caps.remove",
                                           username="bob", cap="FLY"), "cap")
        yield self.invalid(self.admin.call("vcd.user.caps.remove",
                                           username="bob", cap=" "), "cap")
        # "" means all only on remove.
        yield self.invalid(self.admin.call("vcd.user.caps.add",
                                           username="bob", cap=""), "cap")
        self.assertEqual((yield self.admin.call("vcd.user.caps.get",
                                                username="bob")), ["INFO"])

    @defer.inlineCallbacks
    def test_vpsSets(self):
        yield self.makeVps("vps2")
        for family, kind, argument in (("bcaps", "bcap", "bcap"),
                                       ("ccaps", "ccap", "ccap"),
                                       ("flags", "flag", "flag")):
            prefix = "vxdb.vx." + family
            knobs = self.supported(kind)
            for vps in ("vps1", "vps2"):
                for knob in knobs:
                    yield self.call(prefix + ".add", name=vps,
                                    **{argument: knob})
            other = yield self.call(prefix + ".get", name="vps2")
            self.assertTrue(set(knobs) <= set(other), prefix)
            yield self.call(prefix + ".remove", **{argument: ""})
            self.assertEqual((yield self.call(prefix + ".get")), [], prefix)
            # Only vps1's.
            self.assertEqual((yield self.call(prefix + ".get", name="vps2")),
                             other, prefix)
            # Refused: an unknown name; "" on add.
            yield self.invalid(self.call(prefix + ".remove",
                                         **{argument: "NO_SUCH"}), argument)
            yield self.invalid(self.call(prefix + ".add",
                                         **{argument: ""}), argument)

    @defer.inlineCallbacks
    def test_help(self):
        for method in ("vcd.user.caps.remove", "vxdb.vx.bcaps.remove",
                       "vxdb.vx.ccaps.remove", "vxdb.vx.flags.remove"):
            help = yield self.admin.call("system.methodHelp", _raw=(method,))
            self.assertIn("empty for all", help)


class KillSignalZeroTests(RefusalAssertions, RunningHelpers,
                          DaemonTestCase):
    """
    Item 5: vx.kill with signal 0 checks that the processes exist, as
    kill(2) does with 0, and signals nothing.
    """

    @defer.inlineCallbacks
    def test_signalZero(self):
        name = yield self.newVps(start=True)
        yield self.execIn(name,
                          "start-stop-daemon -S -b -x /bin/sleep -- 300")
        sleepPid = int((yield self.execIn(name, "pidof sleep")))
        before = yield self.status(name)
        for pid in (sleepPid, 1, 0):
            self.assertIsNone((yield self.admin.call(
                "vx.kill", name=name, pid=pid, sig=0)))
        # Nothing was signalled: the same sleep, the same processes.
        self.assertEqual(int((yield self.execIn(name, "pidof sleep"))),
                         sleepPid)
        after = yield self.status(name)
        self.assertTrue(after["running"])
        self.assertEqual((after["initpid"], after["nproc"]),
                         (before["initpid"], before["nproc"]))
        # A pid that does not exist is still refused, naming it.
        yield self.invalid(self.admin.call("vx.kill", name=name,
                                           pid=4000000, sig=0), "pid")

    @defer.inlineCallbacks
    def test_reallyWrongRefused(self):
        stopped = yield self.newVps()
        yield self.assertFault(MESTOPPED, self.admin.call(
            "vx.kill", name=stopped, pid=1, sig=0))
        for sig in (-1, 65, "0", ""):
            yield self.invalid(self.admin.call("vx.kill", name=stopped,
                                               pid=1, sig=sig), "sig")


class EmptyArgumentParamTests(OriginalFormsTestCase):
    """
    Item 6: an empty string (the original's vcdadm) or an empty array
    (PHP, which cannot encode an empty struct) as param 2 stands for no
    arguments; a non-empty non-struct is still refused.
    """

    def raw(self, method, second):
        return self.admin.call(method, _raw=(AUTH, second))

    @defer.inlineCallbacks
    def test_methodsWithoutParameters(self):
        for empty in ("", []):
            self.assertIsNone((yield self.raw("vcd.login", empty)))
            status = yield self.raw("vcd.status", empty)
            self.assertIn("uptime", status)
            info = yield self.raw("vcd.hostinfo", empty)
            self.assertIn("vbasedir", info)

    @defer.inlineCallbacks
    def test_optionalParameters(self):
        """
        Where every parameter is optional, the empty param means their
        defaults, as a missing param 2 does.
        """
        for empty in ("", []):
            self.assertEqual((yield self.raw("vxdb.list", empty)), ["vps1"])

    @defer.inlineCallbacks
    def test_requiredParameterNamed(self):
        for empty in ("", []):
            yield self.invalid(self.raw("vxdb.xid.get", empty), "name")

    @defer.inlineCallbacks
    def test_reallyWrongRefused(self):
        for method in ("vcd.login", "vcd.status", "vxdb.list"):
            for second in ("x", " ", ["vps1"], [""], [{}], 0, 1, False,
                           1.5):
                fault = yield self.assertFault(MEINVAL,
                                               self.raw(method, second))
                self.assertIn("param 2", fault.message)
                self.assertIn(method, fault.message)
        # And a struct is still checked member by member.
        yield self.invalid(self.raw("vcd.login", {"name": "vps1"}), "name")

    @defer.inlineCallbacks
    def test_help(self):
        help = yield self.admin.call("system.methodHelp", _raw=("vcd.login",))
        self.assertIn("empty string or array", help)
