"""
The configuration database methods (manual chapter 13) and the original's
vxdb.vx.cpuset.*, called over a real connection: success paths, capability
and owner checks, argument validation and the knobs this host refuses.
"""

import os
import sqlite3

from twisted.internet import defer

from tests.harness import DaemonTestCase
from vcd import names
from vcd.faults import MEEXIST, MEINVAL, MENOUSER, MENOVPS, MEPERM

PASSWORD = "bob-password-1"
UINT64_MAX = "18446744073709551615"
#: What vxdb.dx.limit.get and vxdb.vx.cpuset.get answer with nothing set:
#: the original's empty values (its vxdb_dx_limit_get.c and
#: vxdb_vx_cpuset_get.c), where the manual (13.1) promises a struct.
DISK_LIMIT_EMPTY = {"space": "", "inodes": "", "reserved": 0}
CPUSET_EMPTY = {"cpus": "", "mems": "", "virtualize": False}

#: Every per-VPS vxdb method: (capability, owner checked, minimal valid
#: arguments besides the name).
PER_VPS = {
    "vxdb.dx.limit.get": ("DLIM", True, {}),
    "vxdb.dx.limit.remove": ("DLIM", True, {}),
    "vxdb.dx.limit.set": ("DLIM", True, {"space": "1000", "inodes": "100"}),
    "vxdb.init.get": ("INIT", True, {}),
    "vxdb.init.set": ("INIT", True, {}),
    "vxdb.mount.get": ("MOUNT", True, {}),
    "vxdb.mount.remove": ("MOUNT", True, {}),
    "vxdb.mount.set": ("MOUNT", True, {"dst": "/mnt/x"}),
    "vxdb.nx.addr.get": ("NET", True, {}),
    "vxdb.nx.addr.remove": ("NET", True, {}),
    "vxdb.nx.addr.set": ("NET", True, {"addr": "192.0.2.1"}),
    "vxdb.nx.broadcast.get": ("NET", True, {}),
    "vxdb.nx.broadcast.remove": ("NET", True, {}),
    "vxdb.nx.broadcast.set": ("NET", True, {"broadcast": "192.0.2.255"}),
    "vxdb.owner.add": ("AUTH", False, {"username": "admin"}),
    "vxdb.owner.get": ("AUTH", False, {}),
    "vxdb.owner.remove": ("AUTH", False, {"username": "admin"}),
    "vxdb.vdir.get": ("INFO", False, {}),
    "vxdb.xid.get": ("INFO", False, {}),
    "vxdb.vx.bcaps.add": ("BCAP", True, {"bcap": "CHOWN"}),
    "vxdb.vx.bcaps.get": ("BCAP", True, {}),
    "vxdb.vx.bcaps.remove": ("BCAP", True, {"bcap": "CHOWN"}),
    "vxdb.vx.ccaps.add": ("CCAP", True, {"ccap": "RAW_ICMP"}),
    "vxdb.vx.ccaps.get": ("CCAP", True, {}),
    "vxdb.vx.ccaps.remove": ("CCAP", True, {"ccap": "RAW_ICMP"}),
    "vxdb.vx.flags.add": ("CFLAG", True, {"flag": "HIDE_MOUNT"}),
    "vxdb.vx.flags.get": ("CFLAG", True, {}),
    "vxdb.vx.flags.remove": ("CFLAG", True, {"flag": "HIDE_MOUNT"}),
    "vxdb.vx.limit.get": ("RLIM", True, {}),
    "vxdb.vx.limit.remove": ("RLIM", True, {}),
    "vxdb.vx.limit.set": ("RLIM", True, {"limit": "NOFILE", "soft": "100"}),
    "vxdb.vx.sched.get": ("SCHED", True, {}),
    "vxdb.vx.sched.remove": ("SCHED", True, {}),
    "vxdb.vx.sched.set": ("SCHED", True, {"interval": 100, "fillrate": 10,
                                          "tokensmax": 100}),
    "vxdb.vx.uname.get": ("UNAME", True, {}),
    "vxdb.vx.uname.remove": ("UNAME", True, {}),
    "vxdb.vx.uname.set": ("UNAME", True, {"uname": "NODENAME",
                                          "value": "host"}),
    "vxdb.vx.cpuset.get": ("SCHED", True, {}),
    "vxdb.vx.cpuset.remove": ("SCHED", True, {}),
    "vxdb.vx.cpuset.set": ("SCHED", True, {"cpus": "0"}),
    "vxdb.vx.userns.get": ("INFO", True, {}),
    "vxdb.vx.userns.set": ("CFLAG", True, {"privileged": False}),
}

#: The vxdb methods that take no VPS name.
NAMELESS = {"vxdb.list": None, "vxdb.name.get": "INFO"}

GETTERS = sorted(m for m in PER_VPS if m.endswith(".get"))
GRANTABLE = [c for c in names.DAEMON_CAPS if c not in
             names.UNGRANTABLE_CAPS]


class VXDBTestCase(DaemonTestCase):
    """
    A daemon with one VPS, C{vps1}, owned by admin only.

    @ivar features: the daemon's L{vcd.kernel.hostfeatures.HostFeatures}.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield DaemonTestCase.setUp(self)
        yield self.makeVps("vps1")
        self.features = self.daemon.parts.features

    def call(self, method, name="vps1", **args):
        """
        Call a per-VPS method as admin.
        """
        return self.admin.call(method, name=name, **args)

    def invalid(self, method, contains=None, name="vps1", **args):
        """
        Assert that a per-VPS call fails with MEINVAL.
        """
        return self.assertFault(MEINVAL, self.call(method, name, **args),
                                contains)

    @defer.inlineCallbacks
    def assertUnchanged(self, getter, attempt, getArgs=None):
        """
        Assert that C{attempt()} fails with MEINVAL and leaves what
        C{getter} returns unchanged.
        """
        getArgs = getArgs or {}
        before = yield self.call(getter, **getArgs)
        fault = yield self.assertFault(MEINVAL, attempt())
        after = yield self.call(getter, **getArgs)
        self.assertEqual(before, after)
        return fault

    @defer.inlineCallbacks
    def assertAllRefused(self, setter, getter, cases):
        """
        Assert that each case of C{setter} fails with MEINVAL and changes
        nothing; a case is the arguments, or (arguments, text the message
        contains).
        """
        for case in cases:
            args, contains = case if isinstance(case, tuple) else (case, None)
            fault = yield self.assertUnchanged(
                getter, lambda: self.call(setter, **args))
            if contains is not None:
                self.assertIn(contains, fault.message, args)

    @defer.inlineCallbacks
    def assertSingleRowSet(self, prefix, supported, args, expected, empty,
                           contains=None):
        """
        Assert that C{<prefix>.set} stores C{expected} if the host supports
        it, and is refused and stores nothing otherwise; C{.get} answers
        C{empty} (the original's empty values) before.
        """
        getter = prefix + ".get"
        self.assertEqual((yield self.call(getter)), empty)
        yield self.byHost(supported, self.call(prefix + ".set", **args),
                          contains)
        self.assertEqual((yield self.call(getter)),
                         expected if supported else empty)

    @defer.inlineCallbacks
    def assertSingleRowRemoved(self, prefix, empty):
        yield self.call(prefix + ".remove")
        self.assertEqual((yield self.call(prefix + ".get")), empty)

    def byHost(self, supported, deferred, contains=None):
        """
        Expect success if the host supports the feature, else MEINVAL.
        """
        if supported:
            return deferred
        return self.assertFault(MEINVAL, deferred, contains)


class GenericTests(VXDBTestCase):
    """
    What every vxdb method shares: its capability, its owner check, the
    MENOVPS fault and the refusal of NUL and newline characters.
    """

    def test_tableCoversEveryMethod(self):
        declared = {name for name in self.daemon.dispatcher.methods
                    if name.startswith("vxdb.")}
        self.assertEqual(declared, set(PER_VPS) | set(NAMELESS))
        self.assertEqual(len(declared), 39 + 3 + 2)
        for name, (capability, _, _) in PER_VPS.items():
            self.assertEqual(
                self.daemon.dispatcher.methods[name].capability,
                capability, name)

    @defer.inlineCallbacks
    def test_unknownVps(self):
        for method, (_, _, args) in sorted(PER_VPS.items()):
            fault = yield self.assertFault(MENOVPS, self.call(
                method, "ghost", **args), "ghost")
            self.assertEqual(fault.message,
                             "virtual server 'ghost' does not exist")

    @defer.inlineCallbacks
    def test_capabilities(self):
        bob = yield self.makeUser("bob", PASSWORD)
        yield self.admin.call("vxdb.owner.add", name="vps1", username="bob")
        for method, (capability, _, args) in sorted(PER_VPS.items()):
            yield self.assertFault(MEPERM, bob.call(
                method, name="vps1", **args), capability)
        yield self.assertFault(MEPERM, bob.call("vxdb.name.get", xid=2),
                               "INFO")
        # vxdb.list needs no capability.
        self.assertEqual((yield bob.call("vxdb.list")), ["vps1"])
        for method in GETTERS:
            capability = PER_VPS[method][0]
            yield self.admin.call("vcd.user.caps.add", username="bob",
                                  cap=capability)
            yield bob.call(method, name="vps1")
            yield self.admin.call("vcd.user.caps.remove", username="bob",
                                  cap=capability)

    @defer.inlineCallbacks
    def test_ownerCheck(self):
        """
        A user who fails the owner check gets exactly the fault of a
        missing VPS; the methods the manual exempts work for anyone.
        """
        bob = yield self.makeUser("bob", PASSWORD, caps=GRANTABLE)
        for method, (_, checked, args) in sorted(PER_VPS.items()):
            missing = yield self.assertFault(MENOVPS, bob.call(
                method, name="ghost", **args))
            if checked:
                denied = yield self.assertFault(MENOVPS, bob.call(
                    method, name="vps1", **args))
                self.assertEqual(denied.message,
                                 missing.message.replace("ghost", "vps1"))
        for method in GETTERS:
            if not PER_VPS[method][1]:
                yield bob.call(method, name="vps1")
        self.assertEqual((yield bob.call("vxdb.xid.get", name="vps1")), 2)
        self.assertEqual((yield bob.call("vxdb.name.get", xid=2)), "vps1")
        yield bob.call("vxdb.owner.add", name="vps1", username="bob")
        for method in GETTERS:
            yield bob.call(method, name="vps1")
        yield bob.call("vxdb.vx.bcaps.add", name="vps1", bcap="NET_RAW")
        self.assertIn("NET_RAW", (yield self.call("vxdb.vx.bcaps.get")))

    @defer.inlineCallbacks
    def test_nulAndNewline(self):
        for method, (_, _, args) in sorted(PER_VPS.items()):
            for member in ["name"] + sorted(
                    k for k, v in args.items() if isinstance(v, str)):
                for bad in ("a\nb", "a\x00b"):
                    given = dict(args, name="vps1")
                    given[member] = given[member][:1] + bad
                    yield self.assertFault(MEINVAL, self.admin.call(
                        method, **given),
                        member if bad == "a\nb" else None)
        for method, member in (("vxdb.list", "username"),
                               ("vxdb.vx.uname.set", "value"),
                               ("vxdb.mount.set", "src"),
                               ("vxdb.mount.set", "opts"),
                               ("vxdb.init.set", "halt")):
            args = dict(PER_VPS.get(method, (0, 0, {}))[2])
            if method != "vxdb.list":
                args["name"] = "vps1"
            args[member] = "/bin/x\nreboot"
            yield self.assertFault(MEINVAL, self.admin.call(method, **args),
                                   "NUL or newline")

    @defer.inlineCallbacks
    def test_refusedKnobsAreNotStored(self):
        """
        Every knob this host cannot enforce is refused with MEINVAL naming
        it and the reason, and is not stored.
        """
        families = [
            ("ccap", "vxdb.vx.ccaps.add", "vxdb.vx.ccaps.get",
             lambda knob: {"ccap": knob}),
            ("flag", "vxdb.vx.flags.add", "vxdb.vx.flags.get",
             lambda knob: {"flag": knob}),
            ("limit", "vxdb.vx.limit.set", "vxdb.vx.limit.get",
             lambda knob: {"limit": knob, "soft": "10"}),
            ("uname", "vxdb.vx.uname.set", "vxdb.vx.uname.get",
             lambda knob: {"uname": knob, "value": "x"}),
        ]
        for kind, setter, getter, args in families:
            refused = [n for n in sorted(names.KNOWN[kind])
                       if not self.features.support(kind, n)[0]]
            for knob in refused:
                reason = self.features.support(kind, knob)[1]
                fault = yield self.assertUnchanged(
                    getter, lambda: self.call(setter, **args(knob.lower())))
                self.assertIn(knob, fault.message)
                self.assertIn(reason, fault.message)
        for kind, knob in (("ccap", "SYSLOG"), ("flag", "VIRT_TIME"),
                           ("limit", "NSOCK"), ("uname", "RELEASE")):
            self.assertFalse(self.features.support(kind, knob)[0])
        self.assertEqual((yield self.call("vxdb.vx.limit.get")), [])
        self.assertEqual((yield self.call("vxdb.vx.uname.get")), [])


class KeyedFamilyTests(VXDBTestCase):
    """
    What vxdb.vx.limit.*, vxdb.vx.uname.*, vxdb.mount.* and vxdb.nx.addr.*
    share: get and remove of one key, in any spelling, or of every key
    when it is empty or missing.
    """

    #: (prefix, key, {key: other arguments of set}, a spelling of the
    #: second key).
    FAMILIES = [
        ("vxdb.vx.limit", "limit",
         {"CORE": {"soft": "1"}, "NOFILE": {"soft": "2"},
          "STACK": {"soft": "3"}}, "rlimit_nofile"),
        ("vxdb.vx.uname", "uname",
         {"DOMAINNAME": {"value": "a"}, "NODENAME": {"value": "b"}},
         "nodename"),
        ("vxdb.mount", "dst",
         {"/a": {}, "/b": {"type": "tmpfs"}, "/c": {"src": "/x"}}, "/b"),
        ("vxdb.nx.addr", "addr",
         {"192.0.2.1": {}, "192.0.2.2": {}, "2001:db8::1": {}},
         "192.0.2.2"),
        ("vxdb.nx.addr", "addr",
         {"192.0.2.1": {}, "2001:db8::1": {}}, "2001:DB8:0::1"),
    ]

    def keys(self, prefix, key, **args):
        d = self.call(prefix + ".get", **args)
        return d.addCallback(lambda rows: [row[key] for row in rows])

    @defer.inlineCallbacks
    def test_getAndRemove(self):
        for prefix, key, rows, spelling in self.FAMILIES:
            yield self.call(prefix + ".remove", **{key: ""})
            self.assertEqual((yield self.keys(prefix, key)), [], prefix)
            for value, others in rows.items():
                yield self.call(prefix + ".set",
                                **dict(others, **{key: value}))
            everything = yield self.call(prefix + ".get", **{key: ""})
            self.assertEqual([row[key] for row in everything], sorted(rows))
            self.assertEqual((yield self.call(prefix + ".get")), everything)
            second = sorted(rows)[1]
            self.assertEqual((yield self.keys(prefix, key, **{key: spelling})),
                             [second])
            yield self.call(prefix + ".remove", **{key: spelling})
            self.assertEqual((yield self.keys(prefix, key)),
                             [k for k in sorted(rows) if k != second])
            # Removing what is not there is not an error.
            yield self.call(prefix + ".remove", **{key: spelling})
            yield self.call(prefix + ".remove")
            self.assertEqual((yield self.keys(prefix, key)), [], prefix)


class NameSetTests(VXDBTestCase):
    """
    vxdb.vx.bcaps.*, vxdb.vx.ccaps.* and vxdb.vx.flags.*.
    """

    #: (prefix, argument, canonical name, spellings).
    FAMILIES = [
        ("vxdb.vx.bcaps", "bcap", "NET_RAW",
         ["cap_net_raw", "CAP_NET_RAW", "NET_RAW", "net_raw"]),
        ("vxdb.vx.ccaps", "ccap", "RAW_ICMP",
         ["vxc_raw_icmp", "VXC_RAW_ICMP", "RAW_ICMP", "raw_icmp"]),
        ("vxdb.vx.flags", "flag", "HIDE_MOUNT",
         ["vxf_hide_mount", "VXF_HIDE_MOUNT", "HIDE_MOUNT", "hide_mount"]),
    ]

    @defer.inlineCallbacks
    def test_spellings(self):
        for prefix, argument, canonical, spellings in self.FAMILIES:
            yield self.call(prefix + ".remove", **{argument: canonical})
            before = yield self.call(prefix + ".get")
            self.assertNotIn(canonical, before)
            self.assertEqual(before, sorted(before))
            for spelling in spellings:
                yield self.call(prefix + ".add", **{argument: spelling})
                after = yield self.call(prefix + ".get")
                self.assertEqual(after, sorted(before + [canonical]))
            yield self.call(prefix + ".remove", **{argument: spellings[0]})
            self.assertEqual((yield self.call(prefix + ".get")), before)
            # Removing what is not there is not an error.
            yield self.call(prefix + ".remove", **{argument: canonical})

    @defer.inlineCallbacks
    def test_templateDefaults(self):
        bcaps = yield self.call("vxdb.vx.bcaps.get")
        self.assertIn("CHOWN", bcaps)
        self.assertNotIn("SYS_ADMIN", bcaps)
        self.assertIn("SET_UTSNAME", (yield self.call("vxdb.vx.ccaps.get")))

    @defer.inlineCallbacks
    def test_unknownNames(self):
        for prefix, argument, _, _ in self.FAMILIES:
            for method in (prefix + ".add", prefix + ".remove"):
                # "" is refused by add only: for remove it means all (the
                # original's form, tests.test_original_forms).
                bads = ("NOT_A_KNOB", "cap_", "x" * 65)
                if method.endswith(".add"):
                    bads += ("",)
                for bad in bads:
                    yield self.assertUnchanged(
                        prefix + ".get",
                        lambda: self.call(method, **{argument: bad}))
        # A bcap is not a ccap.
        yield self.invalid("vxdb.vx.ccaps.add", "ccap", ccap="NET_RAW")

    @defer.inlineCallbacks
    def test_everyAcceptedBcap(self):
        for bcap in names.BCAPS:
            self.assertTrue(self.features.support("bcap", bcap)[0])
            yield self.call("vxdb.vx.bcaps.add", bcap=bcap)
        self.assertEqual((yield self.call("vxdb.vx.bcaps.get")),
                         sorted(names.BCAPS))


class LimitTests(VXDBTestCase):
    """
    vxdb.vx.limit.*: uint64 values, soft and hard limits.
    """

    def limits(self, limit=""):
        return self.call("vxdb.vx.limit.get", limit=limit)

    @defer.inlineCallbacks
    def test_setAndGet(self):
        yield self.call("vxdb.vx.limit.set", limit="nofile", soft="100",
                        max=200)
        self.assertEqual((yield self.limits("NOFILE")),
                         [{"limit": "NOFILE", "type": "NOFILE",
                           "soft": "100", "max": "200"}])
        # max defaults to soft; other spellings name the same limit.
        yield self.call("vxdb.vx.limit.set", limit="RLIMIT_NOFILE", soft=50)
        self.assertEqual((yield self.limits("rlimit_nofile")),
                         [{"limit": "NOFILE", "type": "NOFILE",
                           "soft": "50", "max": "50"}])
        self.assertEqual((yield self.limits("CORE")), [])

    @defer.inlineCallbacks
    def test_uint64Bounds(self):
        yield self.call("vxdb.vx.limit.set", limit="AS", soft=UINT64_MAX,
                        max=UINT64_MAX)
        self.assertEqual((yield self.limits("AS")),
                         [{"limit": "AS", "type": "AS", "soft": UINT64_MAX,
                           "max": UINT64_MAX}])
        yield self.call("vxdb.vx.limit.set", limit="AS", soft="0",
                        max=UINT64_MAX)
        self.assertEqual((yield self.limits("AS"))[0]["soft"], "0")
        # "12abc" and "1.5" are accepted since manual 9.1's leading-digit
        # rule (tests.test_original_forms).
        bad = ("-1", -1, "18446744073709551616", "", " 1", "abc", 1.5, True,
               "\u0661")
        yield self.assertAllRefused(
            "vxdb.vx.limit.set", "vxdb.vx.limit.get",
            [({"limit": "AS", "soft": b, "max": UINT64_MAX}, "soft")
             for b in bad]
            + [({"limit": "AS", "soft": "0", "max": b}, "max") for b in bad])

    @defer.inlineCallbacks
    def test_softAboveMax(self):
        fault = yield self.assertUnchanged("vxdb.vx.limit.get", lambda: (
            self.call("vxdb.vx.limit.set", limit="NOFILE", soft="200",
                      max="100")))
        self.assertIn("soft", fault.message)

    @defer.inlineCallbacks
    def test_nproc(self):
        fault = yield self.assertUnchanged("vxdb.vx.limit.get", lambda: (
            self.call("vxdb.vx.limit.set", limit="NPROC", soft="10",
                      max="20")))
        self.assertIn("NPROC", fault.message)
        supported = self.features.support("limit", "NPROC")[0]
        yield self.byHost(supported, self.call(
            "vxdb.vx.limit.set", limit="NPROC", soft="20", max="20"))
        expected = [{"limit": "NPROC", "type": "NPROC", "soft": "20",
                     "max": "20"}]
        self.assertEqual((yield self.limits("NPROC")),
                         expected if supported else [])

    @defer.inlineCallbacks
    def test_rssSoftOnlyWhereItThrottles(self):
        """
        A soft RSS limit apart from the hard one is stored only on cgroup
        v2 (memory.high throttles); elsewhere it is refused, saying why.
        """
        if not self.features.support("limit", "RSS")[0]:
            return
        attempt = self.call("vxdb.vx.limit.set", limit="RSS", soft="32768",
                            max="65536")
        if self.features.cgroupLayout == "v2":
            yield attempt
            return
        fault = yield self.assertFault(MEINVAL, attempt, "memory.high")
        self.assertIn("global memory pressure", fault.message)
        yield self.call("vxdb.vx.limit.set", limit="RSS", soft="65536",
                        max="65536")

    @defer.inlineCallbacks
    def test_nofileAboveNrOpen(self):
        """
        NOFILE above the host's fs.nr_open (read here from /proc), unlimited
        included, is refused when set: the kernel would refuse it at the
        start.
        """
        with open("/proc/sys/fs/nr_open") as f:
            nrOpen = int(f.read())
        for soft, hard in [(nrOpen + 1, nrOpen + 1), (1024, nrOpen + 1),
                           (1024, UINT64_MAX)]:
            fault = yield self.assertUnchanged(
                "vxdb.vx.limit.get", lambda: self.call(
                    "vxdb.vx.limit.set", limit="NOFILE", soft=str(soft),
                    max=str(hard)))
            self.assertIn("fs.nr_open (%d)" % (nrOpen,), fault.message)
        yield self.call("vxdb.vx.limit.set", limit="NOFILE", soft="1024",
                        max=str(nrOpen))

    @defer.inlineCallbacks
    def test_unknownLimit(self):
        for method in ("vxdb.vx.limit.get", "vxdb.vx.limit.remove"):
            yield self.invalid(method, "FOO", limit="FOO")
        yield self.invalid("vxdb.vx.limit.set", "FOO", limit="FOO",
                           soft="1")
        yield self.invalid("vxdb.vx.limit.set", "limit", limit="",
                           soft="1")


class SchedTests(VXDBTestCase):
    """
    vxdb.vx.sched.*: the original's bucket rules.
    """

    BUCKET = {"interval": 100, "fillrate": 10, "interval2": 0,
              "fillrate2": 0, "tokensmin": 5, "tokensmax": 200}

    def bucket(self, cpuid=-1, **changes):
        args = dict(self.BUCKET, cpuid=cpuid)
        args.update(changes)
        return args

    def buckets(self, cpuid=-2):
        return self.call("vxdb.vx.sched.get", cpuid=cpuid)

    @defer.inlineCallbacks
    def test_setGetRemove(self):
        supported = self.features.supportsScheduler()
        yield self.byHost(supported, self.call(
            "vxdb.vx.sched.set", **self.bucket()), "cpuid")
        if not supported:
            self.assertEqual((yield self.buckets()), [])
            return
        self.assertEqual((yield self.buckets()), [self.bucket()])
        self.assertEqual((yield self.call("vxdb.vx.sched.get")),
                         [self.bucket()])
        yield self.call("vxdb.vx.sched.set", **self.bucket(
            interval2=50, fillrate2=20, tokensmin=0))
        self.assertEqual((yield self.buckets(-1)), [self.bucket(
            interval2=50, fillrate2=20, tokensmin=0)])
        yield self.call("vxdb.vx.sched.remove", cpuid=-2)
        self.assertEqual((yield self.buckets()), [])

    @defer.inlineCallbacks
    def test_rules(self):
        offline = max(self.features.cpus) + 1
        cases = [
            ({"interval": 0, "fillrate": 0}, "interval"),
            ({"fillrate": 0}, "fillrate"),
            ({"tokensmax": 0, "tokensmin": 0}, "tokensmax"),
            ({"fillrate": 101}, "fillrate"),
            ({"tokensmax": 9, "tokensmin": 0}, "tokensmax"),
            ({"interval2": 50, "fillrate2": 30, "tokensmax": 20,
              "tokensmin": 0}, "tokensmax"),
            ({"tokensmin": 201}, "tokensmin"),
            ({"fillrate2": 5}, "fillrate2"),
            ({"interval2": 5}, "fillrate2"),
            ({"interval2": 5, "fillrate2": 6}, "fillrate2"),
            ({"cpuid": offline}, "cpuid"),
            ({"cpuid": -2}, "cpuid"),
            ({"interval": -1}, "interval"),
            ({"interval": "100"}, "interval"),
        ]
        yield self.assertAllRefused(
            "vxdb.vx.sched.set", "vxdb.vx.sched.get",
            [(self.bucket(**changes), contains)
             for changes, contains in cases])
        if self.features.supportsScheduler():
            fault = yield self.invalid("vxdb.vx.sched.set",
                                       **self.bucket(offline))
            self.assertIn("not online", fault.message)
            fault = yield self.invalid("vxdb.vx.sched.set", **self.bucket(
                self.features.cpus[0]))
            self.assertIn("no per-CPU buckets", fault.message)

    @defer.inlineCallbacks
    def test_largerThanCfsRefused(self):
        """
        A bucket CFS cannot hold (more than one period's quota plus as
        much burst, with periods up to 1 s) is refused, naming the most
        tokensmax it can hold at that rate; the largest it can hold is
        accepted.
        """
        if not self.features.supportsScheduler():
            return
        most = 500 if self.features.cpuBurst else 250
        fault = yield self.invalid("vxdb.vx.sched.set", **self.bucket(
            interval=4, fillrate=1, tokensmin=0, tokensmax=most + 1))
        self.assertIn("at most %d" % (most,), fault.message)
        yield self.call("vxdb.vx.sched.set", **self.bucket(
            interval=4, fillrate=1, tokensmin=0, tokensmax=most))
        for method in ("vxdb.vx.sched.get", "vxdb.vx.sched.remove"):
            yield self.invalid(method, "cpuid", cpuid=-3)


class CpusetTests(VXDBTestCase):
    """
    vxdb.vx.cpuset.*.
    """

    @defer.inlineCallbacks
    def test_setGetRemove(self):
        supported = self.features.supportsCpuset()
        cpus = ",".join(map(str, self.features.cpus))
        mems = str(self.features.memNodes[0])
        yield self.assertSingleRowSet(
            "vxdb.vx.cpuset", supported, {"cpus": cpus, "mems": mems},
            {"cpus": cpus, "mems": mems, "virtualize": False},
            CPUSET_EMPTY, "cpuset")
        lxcfs = self.features.lxcfsProblem() is None
        yield self.byHost(supported and lxcfs, self.call(
            "vxdb.vx.cpuset.set", cpus=cpus, virtualize=True))
        if supported and lxcfs:
            self.assertEqual((yield self.call("vxdb.vx.cpuset.get")),
                             {"cpus": cpus, "mems": "0",
                              "virtualize": True})
        yield self.assertSingleRowRemoved("vxdb.vx.cpuset", CPUSET_EMPTY)

    @defer.inlineCallbacks
    def test_refusals(self):
        offline = str(max(self.features.cpus) + 1)
        cases = [
            {"cpus": offline},
            {"cpus": "0-" + offline},
            {"cpus": "0", "mems": str(max(self.features.memNodes) + 1)},
            {"cpus": "abc"},
            {"cpus": "1-0"},
            {"cpus": "0,,1"},
            {"cpus": ""},
            {"cpus": "0-4096"},
        ]
        yield self.assertAllRefused("vxdb.vx.cpuset.set",
                                    "vxdb.vx.cpuset.get", cases)


class DiskLimitTests(VXDBTestCase):
    """
    vxdb.dx.limit.*.
    """

    @defer.inlineCallbacks
    def test_setGetRemove(self):
        supported = self.features.supportsDiskLimits()
        yield self.assertSingleRowSet(
            "vxdb.dx.limit", supported, {"space": "1000000", "inodes": 10000},
            {"space": "1000000", "inodes": "10000", "reserved": 5},
            DISK_LIMIT_EMPTY, "space")
        if supported:
            yield self.call("vxdb.dx.limit.set", space="4294967295",
                            inodes="1", reserved=0)
            self.assertEqual((yield self.call("vxdb.dx.limit.get")),
                             {"space": "4294967295", "inodes": "1",
                              "reserved": 0})
        yield self.assertSingleRowRemoved("vxdb.dx.limit", DISK_LIMIT_EMPTY)

    @defer.inlineCallbacks
    def test_refusals(self):
        cases = [
            ({"space": "0", "inodes": "10"}, "space"),
            ({"space": "10", "inodes": 0}, "inodes"),
            ({"space": "4294967296", "inodes": "10"}, "space"),
            ({"space": "-1", "inodes": "10"}, "space"),
            ({"space": "10", "inodes": "10", "reserved": 101}, "reserved"),
            ({"space": "10", "inodes": "10", "reserved": -1}, "reserved"),
            ({"space": "10"}, "inodes"),
        ]
        if not self.features.supportsDiskLimits():
            cases = [args for args, _ in cases]
        yield self.assertAllRefused("vxdb.dx.limit.set", "vxdb.dx.limit.get",
                                    cases)


class InitTests(VXDBTestCase):
    """
    vxdb.init.*.
    """

    DEFAULTS = {"init": "/sbin/init", "halt": "/sbin/halt",
                "reboot": "/sbin/reboot", "timeout": 15}

    @defer.inlineCallbacks
    def test_setAndGet(self):
        self.assertEqual((yield self.call("vxdb.init.get")), self.DEFAULTS)
        yield self.call("vxdb.init.set", init="/bin/sh /etc/rc start",
                        halt="/bin/halt -f", reboot="", timeout=30)
        self.assertEqual((yield self.call("vxdb.init.get")), dict(
            self.DEFAULTS, init="/bin/sh /etc/rc start",
            halt="/bin/halt -f", timeout=30))
        yield self.call("vxdb.init.set", init="", halt="", reboot="")
        self.assertEqual((yield self.call("vxdb.init.get")), self.DEFAULTS)

    @defer.inlineCallbacks
    def test_refusals(self):
        cases = [{"init": "sbin/init"}, {"halt": "/sbin/../bin/halt"},
                 {"reboot": "reboot now"}, {"timeout": -1},
                 {"timeout": 3601}, {"init": "/" + "x" * 1024},
                 {"init": "   "}, {"halt": "\t"}]
        yield self.assertAllRefused("vxdb.init.set", "vxdb.init.get", cases)


class MountTests(VXDBTestCase):
    """
    vxdb.mount.*.
    """

    TEMPLATE = [{"dst": "/dev/pts", "src": "devpts", "type": "devpts",
                 "opts": "gid=5,mode=620"},
                {"dst": "/proc", "src": "proc", "type": "proc",
                 "opts": "defaults"}]

    def mounts(self, dst=""):
        return self.call("vxdb.mount.get", dst=dst)

    @defer.inlineCallbacks
    def test_setAndGet(self):
        self.assertEqual((yield self.mounts()), self.TEMPLATE)
        data = {"src": "/srv/data", "dst": "/mnt/data", "type": "ext4",
                "opts": "ro,nosuid,uid=1000"}
        yield self.call("vxdb.mount.set", **data)
        self.assertEqual((yield self.mounts("/mnt/data")), [data])
        yield self.call("vxdb.mount.set", dst="/tmp")
        plain = {"src": "none", "dst": "/tmp", "type": "auto",
                 "opts": "defaults"}
        self.assertEqual((yield self.mounts("/tmp")), [plain])
        yield self.call("vxdb.mount.set", src="tmpfs", dst="/tmp",
                        type="tmpfs", opts="size=10m")
        self.assertEqual((yield self.mounts("/tmp"))[0]["src"], "tmpfs")
        self.assertEqual([m["dst"] for m in (yield self.mounts())],
                         ["/dev/pts", "/mnt/data", "/proc", "/tmp"])
        self.assertEqual((yield self.call("vxdb.mount.get")),
                         (yield self.mounts()))
        self.assertEqual((yield self.mounts("/nowhere")), [])

    @defer.inlineCallbacks
    def test_refusals(self):
        cases = [
            {"dst": "mnt/data"},
            {"dst": "/mnt/../etc"},
            {"dst": "/mnt/.."},
            {"dst": ""},
            {"dst": "/" + "x" * 255},
            {"dst": "/mnt", "src": "/srv/../etc"},
            {"dst": "/mnt", "src": "bad source"},
            {"dst": "/mnt", "opts": "ro, nosuid"},
            {"dst": "/mnt", "opts": "ro;rm"},
            {"dst": "/mnt", "type": "ext 4"},
            {"dst": "/mnt", "type": "EXT4"},
        ]
        yield self.assertAllRefused("vxdb.mount.set", "vxdb.mount.get", cases)
        for method in ("vxdb.mount.get", "vxdb.mount.remove"):
            yield self.invalid(method, "dst", dst="relative")
            yield self.invalid(method, "dst", dst="/a/../b")
        self.assertEqual((yield self.mounts()), self.TEMPLATE)


class AddressTests(VXDBTestCase):
    """
    vxdb.nx.addr.* and vxdb.nx.broadcast.*.
    """

    def addresses(self, addr="", name="vps1"):
        return self.call("vxdb.nx.addr.get", name=name, addr=addr)

    @defer.inlineCallbacks
    def test_netmasks(self):
        # (address, netmask given or None for none, stored address and
        # netmask)
        cases = [("192.0.2.10", "", "192.0.2.10", "255.255.255.0"),
                 ("192.0.2.11", "16", "192.0.2.11", "255.255.0.0"),
                 ("192.0.2.12", "/8", "192.0.2.12", "255.0.0.0"),
                 ("192.0.2.13", "255.255.255.128", "192.0.2.13",
                  "255.255.255.128"),
                 ("10.1.2.3", "32", "10.1.2.3", "255.255.255.255"),
                 ("192.0.2.14", None, "192.0.2.14", "255.255.255.0"),
                 ("2001:DB8:0:0::1", "", "2001:db8::1", "64"),
                 ("2001:db8::2", "/56", "2001:db8::2", "56"),
                 ("2001:db8::3", "128", "2001:db8::3", "128"),
                 ("2001:db8::4", None, "2001:db8::4", "64")]
        for addr, netmask, stored, storedMask in cases:
            args = {"addr": addr}
            if netmask is not None:
                args["netmask"] = netmask
            yield self.call("vxdb.nx.addr.set", **args)
            self.assertEqual((yield self.addresses(addr)),
                             [{"addr": stored, "netmask": storedMask}])
        self.assertEqual(len((yield self.addresses())), len(cases))
        # Setting again changes the netmask.
        yield self.call("vxdb.nx.addr.set", addr="192.0.2.14",
                        netmask="30")
        self.assertEqual((yield self.addresses("192.0.2.14")),
                         [{"addr": "192.0.2.14",
                           "netmask": "255.255.255.252"}])
        self.assertEqual(len((yield self.addresses())), len(cases))

    @defer.inlineCallbacks
    def test_refusals(self):
        cases = [
            ({"addr": "300.1.1.1"}, "addr"),
            ({"addr": "not-an-address"}, "addr"),
            ({"addr": "192.0.2.1/24"}, "addr"),
            ({"addr": ""}, "addr"),
            ({"addr": "127.0.0.1"}, "addr"),
            ({"addr": "0.0.0.0"}, "addr"),
            ({"addr": "224.0.0.1"}, "addr"),
            ({"addr": "::1"}, "addr"),
            ({"addr": "::"}, "addr"),
            ({"addr": "fe80::1%eth0"}, "zone"),
            ({"addr": "fe80::1%a b=c"}, "zone"),
            ({"addr": "192.0.2.1", "netmask": "255.0.255.0"}, "netmask"),
            ({"addr": "192.0.2.1", "netmask": "33"}, "netmask"),
            ({"addr": "192.0.2.1", "netmask": "255.255.255.256"}, "netmask"),
            ({"addr": "192.0.2.1", "netmask": "mask"}, "netmask"),
            ({"addr": "2001:db8::1", "netmask": "129"}, "netmask"),
            ({"addr": "2001:db8::1", "netmask": "255.255.255.0"},
             "netmask"),
        ]
        yield self.assertAllRefused("vxdb.nx.addr.set", "vxdb.nx.addr.get",
                                    cases)
        for method in ("vxdb.nx.addr.get", "vxdb.nx.addr.remove"):
            yield self.invalid(method, "addr", addr="nope")
        self.assertEqual((yield self.addresses()), [])

    @defer.inlineCallbacks
    def test_addressOfAnotherVps(self):
        yield self.makeVps("vps2")
        yield self.call("vxdb.nx.addr.set", addr="192.0.2.10")
        yield self.call("vxdb.nx.addr.set", addr="2001:db8::10")
        for addr in ("192.0.2.10", "2001:DB8:0::10"):
            yield self.assertFault(MEEXIST, self.call(
                "vxdb.nx.addr.set", "vps2", addr=addr), "already used")
        self.assertEqual((yield self.addresses(name="vps2")), [])
        # The same VPS may set it again.
        yield self.call("vxdb.nx.addr.set", addr="192.0.2.10", netmask="8")
        # Once it is released, another VPS may take it.
        yield self.call("vxdb.nx.addr.remove", addr="192.0.2.10")
        yield self.call("vxdb.nx.addr.set", "vps2", addr="192.0.2.10")
        self.assertEqual((yield self.addresses(name="vps2")),
                         [{"addr": "192.0.2.10", "netmask": "255.255.255.0"}])

    @defer.inlineCallbacks
    def test_broadcast(self):
        self.assertEqual((yield self.call("vxdb.nx.broadcast.get")), "")
        yield self.call("vxdb.nx.broadcast.set", broadcast="192.0.2.255")
        self.assertEqual((yield self.call("vxdb.nx.broadcast.get")),
                         "192.0.2.255")
        yield self.call("vxdb.nx.broadcast.set", broadcast="10.255.255.255")
        self.assertEqual((yield self.call("vxdb.nx.broadcast.get")),
                         "10.255.255.255")
        yield self.assertAllRefused(
            "vxdb.nx.broadcast.set", "vxdb.nx.broadcast.get",
            [({"broadcast": bad}, "broadcast") for bad in (
                "ff02::1", "2001:db8::ff", "fe80::1%eth0", "10.0.0.256", "",
                "x")])
        yield self.call("vxdb.nx.broadcast.remove")
        self.assertEqual((yield self.call("vxdb.nx.broadcast.get")), "")


class UnameTests(VXDBTestCase):
    """
    vxdb.vx.uname.*.
    """

    def unames(self, uname=""):
        return self.call("vxdb.vx.uname.get", uname=uname)

    @defer.inlineCallbacks
    def test_setAndGet(self):
        yield self.call("vxdb.vx.uname.set", uname="nodename", value="web1")
        self.assertEqual((yield self.unames("NODENAME")),
                         [{"uname": "NODENAME", "type": "NODENAME",
                           "value": "web1"}])
        longest = "d" * 64
        yield self.call("vxdb.vx.uname.set", uname="DOMAINNAME",
                        value=longest)
        yield self.call("vxdb.vx.uname.set", uname="NODENAME", value="web2")
        self.assertEqual((yield self.unames()), [
            {"uname": "DOMAINNAME", "type": "DOMAINNAME", "value": longest},
            {"uname": "NODENAME", "type": "NODENAME", "value": "web2"}])

    @defer.inlineCallbacks
    def test_refusals(self):
        cases = [
            ({"uname": "NODENAME", "value": "x" * 65}, "value"),
            ({"uname": "NODENAME", "value": "two words"}, "value"),
            ({"uname": "NODENAME", "value": ""}, "value"),
            ({"uname": "NODENAME", "value": "caf\u00e9"}, "value"),
            ({"uname": "RELEASE", "value": "2.6.22"}, "RELEASE"),
            ({"uname": "HOSTNAME", "value": "x"}, "HOSTNAME"),
            ({"uname": "", "value": "x"}, "uname"),
        ]
        yield self.assertAllRefused("vxdb.vx.uname.set", "vxdb.vx.uname.get",
                                    cases)
        self.assertEqual((yield self.unames()), [])


class OwnerTests(VXDBTestCase):
    """
    vxdb.owner.*.
    """

    def owners(self):
        return self.call("vxdb.owner.get")

    @defer.inlineCallbacks
    def test_addGetRemove(self):
        self.assertEqual((yield self.owners()), ["admin"])
        yield self.makeUser("bob", PASSWORD)
        yield self.makeUser("carol", PASSWORD)
        yield self.call("vxdb.owner.add", username="bob")
        yield self.call("vxdb.owner.add", username="bob")
        yield self.call("vxdb.owner.add", username="carol")
        self.assertEqual((yield self.owners()), ["admin", "bob", "carol"])
        yield self.call("vxdb.owner.remove", username="bob")
        self.assertEqual((yield self.owners()), ["admin", "carol"])
        yield self.call("vxdb.owner.remove", username="")
        self.assertEqual((yield self.owners()), [])
        # The admin flag still passes owner checks.
        self.assertEqual((yield self.call("vxdb.xid.get")), 2)
        yield self.call("vxdb.vx.bcaps.get")

    @defer.inlineCallbacks
    def test_unknownUser(self):
        for method in ("vxdb.owner.add", "vxdb.owner.remove"):
            yield self.assertFault(MENOUSER, self.call(
                method, username="ghost"), "ghost")
            yield self.invalid(method, "username", username="bad-name")
        yield self.invalid("vxdb.owner.add", "username", username="")
        self.assertEqual((yield self.owners()), ["admin"])


class LookupTests(VXDBTestCase):
    """
    vxdb.list, vxdb.name.get, vxdb.xid.get and vxdb.vdir.get.
    """

    @defer.inlineCallbacks
    def test_list(self):
        bob = yield self.makeUser("bob", PASSWORD)
        carol = yield self.makeUser("carol", PASSWORD)
        yield self.makeVps("vps3", owner="carol")
        yield self.makeVps("vps2", owner="bob")
        yield self.call("vxdb.owner.remove", "vps3", username="admin")
        self.assertEqual((yield self.admin.call("vxdb.list")),
                         ["vps1", "vps2", "vps3"])
        self.assertEqual((yield self.admin.call("vxdb.list", username="")),
                         ["vps1", "vps2", "vps3"])
        # Filtered by owner.
        for username, expected in (("admin", ["vps1", "vps2"]),
                                   ("bob", ["vps2"]), ("carol", ["vps3"]),
                                   ("vshelper", [])):
            self.assertEqual((yield self.admin.call(
                "vxdb.list", username=username)), expected, username)
        # A non-admin sees only what it owns, whatever the filter.
        self.assertEqual((yield bob.call("vxdb.list")), ["vps2"])
        self.assertEqual((yield bob.call("vxdb.list", username="bob")),
                         ["vps2"])
        self.assertEqual((yield bob.call("vxdb.list", username="carol")),
                         [])
        self.assertEqual((yield carol.call("vxdb.list")), ["vps3"])
        yield self.assertFault(MENOUSER, self.admin.call(
            "vxdb.list", username="ghost"), "ghost")
        # No user-existence oracle for non-admins: an unknown user owns
        # nothing.
        self.assertEqual((yield bob.call("vxdb.list", username="ghost")), [])
        yield self.assertFault(MEINVAL, self.admin.call(
            "vxdb.list", username="no such"), "username")

    @defer.inlineCallbacks
    def test_xidAndName(self):
        yield self.makeVps("vps2")
        xid1 = yield self.call("vxdb.xid.get")
        xid2 = yield self.call("vxdb.xid.get", "vps2")
        self.assertNotEqual(xid1, xid2)
        for xid, name in ((xid1, "vps1"), (xid2, "vps2")):
            self.assertTrue(2 <= xid <= 65534)
            self.assertEqual((yield self.admin.call("vxdb.name.get",
                                                    xid=xid)), name)
        yield self.assertFault(MENOVPS, self.admin.call(
            "vxdb.name.get", xid=65000), "65000")
        for bad in (0, 1, 65535, -5, "2"):
            yield self.assertFault(MEINVAL, self.admin.call(
                "vxdb.name.get", xid=bad), "xid")

    @defer.inlineCallbacks
    def test_vdir(self):
        vdir = yield self.call("vxdb.vdir.get")
        self.assertEqual(vdir, os.path.join(self.config.vbasedir, "vps1"))
        self.assertTrue(os.path.isdir(vdir))


class RemovalTests(VXDBTestCase):
    """
    vx.remove forgets every VXDB row that refers to the VPS.
    """

    @defer.inlineCallbacks
    def populate(self):
        """
        Give vps1 a row in every table that has an xid column.
        """
        yield self.makeUser("bob", PASSWORD)
        yield self.call("vxdb.owner.add", username="bob")
        yield self.call("vxdb.vx.bcaps.add", bcap="SYS_ADMIN")
        yield self.call("vxdb.vx.limit.set", limit="NOFILE", soft="100")
        yield self.call("vxdb.vx.uname.set", uname="NODENAME", value="x")
        yield self.call("vxdb.init.set", init="/bin/init")
        yield self.call("vxdb.mount.set", dst="/mnt")
        yield self.call("vxdb.nx.addr.set", addr="192.0.2.1")
        yield self.call("vxdb.nx.broadcast.set", broadcast="192.0.2.255")
        yield self.admin.call("vg.add", group="web", name="vps1")
        yield self.admin.call("vg.add", group="onboot", name="vps1")
        features = self.features
        if features.supportsDiskLimits():
            yield self.call("vxdb.dx.limit.set", space="1000", inodes="100")
        if features.supportsScheduler():
            yield self.call("vxdb.vx.sched.set", interval=10, fillrate=1,
                            tokensmax=10)
        if features.supportsCpuset():
            yield self.call("vxdb.vx.cpuset.set", cpus="0")

    def rowsReferring(self, xid):
        """
        Return {table: rows with this xid} for every table with an xid
        column.
        """
        connection = sqlite3.connect(self.config.vxdbPath)
        try:
            tables = [t for (t,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            counts = {}
            for table in tables:
                columns = [row[1] for row in connection.execute(
                    "PRAGMA table_info(%s)" % (table,))]
                if "xid" in columns:
                    counts[table] = connection.execute(
                        "SELECT COUNT(*) FROM %s WHERE xid = ?" % (table,),
                        (xid,)).fetchone()[0]
            return counts
        finally:
            connection.close()

    def addRestartRow(self, xid):
        # Only helper.restart writes this table; write it directly.
        connection = sqlite3.connect(self.config.vxdbPath)
        try:
            with connection:
                connection.execute("INSERT INTO restart (xid) VALUES (?)",
                                   (xid,))
        finally:
            connection.close()

    @defer.inlineCallbacks
    def test_removeForgetsEveryRow(self):
        yield self.makeVps("vps2")
        yield self.populate()
        xid = yield self.call("vxdb.xid.get")
        self.addRestartRow(xid)
        before = self.rowsReferring(xid)
        self.assertGreaterEqual(len(before), 15)
        hostDependent = {"dx_limit": self.features.supportsDiskLimits(),
                         "vx_sched": self.features.supportsScheduler(),
                         "vx_cpuset": self.features.supportsCpuset()}
        for table, count in before.items():
            if hostDependent.get(table, True):
                self.assertGreater(count, 0, table)
        other = yield self.call("vxdb.xid.get", "vps2")
        otherBefore = self.rowsReferring(other)

        yield self.admin.call("vx.remove", name="vps1")

        after = self.rowsReferring(xid)
        self.assertEqual(after, dict.fromkeys(before, 0))
        self.assertEqual(self.rowsReferring(other), otherBefore)
        yield self.assertFault(MENOVPS, self.call("vxdb.xid.get"))
        yield self.assertFault(MENOVPS, self.admin.call("vxdb.name.get",
                                                        xid=xid))
        self.assertEqual((yield self.admin.call("vg.list", group="web")), [])
        self.assertEqual((yield self.admin.call("vxdb.list")), ["vps2"])
        # The address is free again.
        yield self.call("vxdb.nx.addr.set", "vps2", addr="192.0.2.1")
        # The owner survives.
        user = yield self.admin.call("vcd.user.get", username="bob")
        self.assertEqual(user["username"], "bob")
