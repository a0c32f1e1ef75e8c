"""
The access restrictions of every XML-RPC method (the capability it needs
and its owner check), checked over HTTP against a real daemon with a table
typed from the manual, not taken from the daemon's own declarations.

L{ACCESS} is the oracle: Part V of the manual ("Access Restrictions" of
each method), plus the methods the original implementation registered
beyond the manual (original-implementation.md), each marked with where its
entry comes from. Fault codes are the manual's (9.3).

For every method, L{AccessTests} checks that:

  (a) a user holding every capability but the method's (and owning the
      VPS) gets MEPERM;
  (b) a user holding only the method's capability gets MENOVPS on a VPS
      it does not own for the owner rules C{vps} and C{create}, and is not
      refused for rules C{none} and C{exists}; a VPS that does not exist is
      MENOVPS under every rule that names one;
  (c) the same user, on a VPS it owns, passes the checks;
  (d) a user with the admin flag and only the method's capability passes
      the owner checks of a VPS it does not own (manual 9.2.4), and may
      name a VPS that does not exist to vx.create (manual 12.1).

Nothing starts a container: the VPSes are stopped, so methods needing a
running VPS fail with MESTOPPED after the checks, and for vx.start and
vx.restart the test holds the VPSes' locks so that they fail with MEBUSY
after the checks. Every test has its own daemon and VXDB, so the methods
that change things (vx.remove, vcd.user.remove...) cannot disturb another.
"""

from twisted.internet import defer

from tests.harness import DaemonTestCase, Fault
from vcd.kernel.hostfeatures import HostFeatures

# Fault codes, from the manual's table (9.3).
MEAUTH = 100
MEPERM = 101
MENOVPS = 202
MESTOPPED = 300
MEBUSY = 302

#: Faults that mean a caller was refused by the access checks.
REFUSALS = frozenset([MEAUTH, MEPERM, MENOVPS])

#: The capabilities of the manual (9.2.4).
CAPABILITIES = ("AUTH", "DLIM", "INIT", "MOUNT", "NET", "BCAP", "CCAP",
                "CFLAG", "RLIM", "SCHED", "UNAME", "CREATE", "EXEC", "INFO",
                "HELPER")

# Owner rules.
#: "does not need to pass owner checks", and names no VPS.
NONE = "none"
#: "needs to pass owner checks": the caller must own the VPS named by
#: C{name} (or have the admin flag), else MENOVPS.
VPS = "vps"
#: "does not need to pass owner checks", but the VPS named by C{name} must
#: exist (MENOVPS: "Virtual server does not exist").
EXISTS = "exists"
#: vx.create: owner checks, but "the administrator passes owner check even
#: if the specified virtual server does not exist".
CREATE = "create"

#: method -> (capability or None, owner rule). Manual Part V unless marked.
ACCESS = {
    # 10. Helper Methods
    "helper.netup": ("HELPER", NONE),
    "helper.restart": ("HELPER", NONE),
    "helper.shutdown": ("HELPER", NONE),
    "helper.startup": ("HELPER", NONE),
    # 11. Daemon Administration Methods
    "vcd.login": (None, NONE),
    "vcd.status": ("INFO", NONE),
    "vcd.user.caps.add": ("AUTH", NONE),
    "vcd.user.caps.get": ("AUTH", NONE),
    "vcd.user.caps.remove": ("AUTH", NONE),
    "vcd.user.get": ("AUTH", NONE),
    "vcd.user.remove": ("AUTH", NONE),
    "vcd.user.set": ("AUTH", NONE),
    # 12. General Maintenance Methods
    "vx.create": ("CREATE", CREATE),
    "vx.exec": ("EXEC", VPS),
    "vx.kill": ("INIT", VPS),
    "vx.load": ("INFO", VPS),
    "vx.reboot": ("INIT", VPS),
    "vx.remove": ("CREATE", VPS),
    "vx.rename": ("CREATE", VPS),
    "vx.restart": ("INIT", VPS),
    "vx.start": ("INIT", VPS),
    # The manual says INIT; the original had INFO. The manual wins.
    "vx.status": ("INIT", VPS),
    "vx.stop": ("INIT", VPS),
    # 13. Database Manipulation Methods
    "vxdb.dx.limit.get": ("DLIM", VPS),
    "vxdb.dx.limit.remove": ("DLIM", VPS),
    "vxdb.dx.limit.set": ("DLIM", VPS),
    "vxdb.init.get": ("INIT", VPS),
    # The manual's 13.5 has no Access Restrictions section; INIT and owner
    # checks as vxdb.init.get (and as the daemon does today).
    "vxdb.init.set": ("INIT", VPS),
    # "requires no capabilities and needs to pass owner checks. The owner
    # checks do not check the usual name parameter here, instead it
    # returns all virtual servers that would pass owner checks": a filter,
    # never a refusal. (The original required INFO; the manual wins.)
    "vxdb.list": (None, NONE),
    "vxdb.mount.get": ("MOUNT", VPS),
    "vxdb.mount.remove": ("MOUNT", VPS),
    "vxdb.mount.set": ("MOUNT", VPS),
    "vxdb.name.get": ("INFO", NONE),
    "vxdb.nx.addr.get": ("NET", VPS),
    "vxdb.nx.addr.remove": ("NET", VPS),
    "vxdb.nx.addr.set": ("NET", VPS),
    "vxdb.nx.broadcast.get": ("NET", VPS),
    "vxdb.nx.broadcast.remove": ("NET", VPS),
    "vxdb.nx.broadcast.set": ("NET", VPS),
    "vxdb.owner.add": ("AUTH", EXISTS),
    "vxdb.owner.get": ("AUTH", EXISTS),
    "vxdb.owner.remove": ("AUTH", EXISTS),
    "vxdb.vdir.get": ("INFO", EXISTS),
    "vxdb.vx.bcaps.add": ("BCAP", VPS),
    "vxdb.vx.bcaps.get": ("BCAP", VPS),
    "vxdb.vx.bcaps.remove": ("BCAP", VPS),
    "vxdb.vx.ccaps.add": ("CCAP", VPS),
    "vxdb.vx.ccaps.get": ("CCAP", VPS),
    "vxdb.vx.ccaps.remove": ("CCAP", VPS),
    "vxdb.vx.flags.add": ("CFLAG", VPS),
    "vxdb.vx.flags.get": ("CFLAG", VPS),
    "vxdb.vx.flags.remove": ("CFLAG", VPS),
    "vxdb.vx.limit.get": ("RLIM", VPS),
    "vxdb.vx.limit.remove": ("RLIM", VPS),
    "vxdb.vx.limit.set": ("RLIM", VPS),
    "vxdb.vx.sched.get": ("SCHED", VPS),
    "vxdb.vx.sched.remove": ("SCHED", VPS),
    "vxdb.vx.sched.set": ("SCHED", VPS),
    "vxdb.vx.uname.get": ("UNAME", VPS),
    "vxdb.vx.uname.remove": ("UNAME", VPS),
    "vxdb.vx.uname.set": ("UNAME", VPS),
    "vxdb.xid.get": ("INFO", EXISTS),

    # Beyond the manual: the original's vcd.hostinfo, vg.*, vx.templates,
    # vx.limstatus and vx.netstatus, and vcd's own.
    # original: INFO, no owner check.
    "vcd.hostinfo": ("INFO", NONE),
    # original: AUTH. daemon: ownership of the VPS in name is checked (in
    # the method's body), MENOVPS otherwise.
    "vg.add": ("AUTH", VPS),
    "vg.remove": ("AUTH", VPS),
    # original: AUTH; daemon: lists only the members the caller owns.
    "vg.list": ("AUTH", NONE),
    # original: INIT; daemon: acts only on the members the caller owns.
    "vg.vx.reboot": ("INIT", NONE),
    "vg.vx.restart": ("INIT", NONE),
    "vg.vx.start": ("INIT", NONE),
    "vg.vx.stop": ("INIT", NONE),
    # original: INFO; daemon: owner checks too, as vx.load.
    "vx.netstatus": ("INFO", VPS),
    # original: CREATE; name is a template, no owner check.
    "vx.templates": ("CREATE", NONE),
    # original: INFO and owner checks.
    "vx.limstatus": ("INFO", VPS),
    # original: SCHED. daemon: owner checks, as the manual's
    # vxdb.vx.sched.*.
    "vxdb.vx.cpuset.get": ("SCHED", VPS),
    "vxdb.vx.cpuset.remove": ("SCHED", VPS),
    "vxdb.vx.cpuset.set": ("SCHED", VPS),
    # vcd's own: the kind of a VPS (privileged only by an administrator).
    "vxdb.vx.userns.get": ("INFO", VPS),
    "vxdb.vx.userns.set": ("CFLAG", VPS),
}


class Case:
    """
    What one call is about: the VPS, its context id, a group holding it
    (and nothing else), and a target user for the user-management methods.
    """

    def __init__(self, vps, xid, group, user):
        self.vps = vps
        self.xid = xid
        self.group = group
        self.user = user


def _vps(c, **more):
    return dict(name=c.vps, **more)


def _address(c):
    # One address per VPS: two VPSes may not share one.
    return "198.18.0.%d" % (c.xid % 250 + 1,)


#: method -> function of a L{Case} giving valid arguments.
SAMPLES = {
    "helper.netup": lambda c: {"xid": c.xid},
    "helper.restart": lambda c: {"xid": c.xid},
    "helper.shutdown": lambda c: {"xid": c.xid},
    "helper.startup": lambda c: {"xid": c.xid},
    "vcd.hostinfo": lambda c: {},
    "vcd.login": lambda c: {},
    "vcd.status": lambda c: {},
    "vcd.user.caps.add": lambda c: {"username": c.user, "cap": "INFO"},
    "vcd.user.caps.get": lambda c: {"username": c.user},
    "vcd.user.caps.remove": lambda c: {"username": c.user, "cap": "INFO"},
    "vcd.user.get": lambda c: {"username": c.user},
    "vcd.user.remove": lambda c: {"username": c.user},
    "vcd.user.set": lambda c: {"username": c.user,
                               "password": "other-secret-2", "admin": False},
    "vg.add": lambda c: {"group": "grpnew", "name": c.vps},
    "vg.list": lambda c: {"group": c.group},
    "vg.remove": lambda c: {"group": c.group, "name": c.vps},
    # Start and restart would start the members: a group with none.
    "vg.vx.reboot": lambda c: {"group": c.group},
    "vg.vx.restart": lambda c: {"group": "grpempty"},
    "vg.vx.start": lambda c: {"group": "grpempty"},
    "vg.vx.stop": lambda c: {"group": c.group},
    "vx.create": lambda c: _vps(c, template="busybox", force=True),
    "vx.exec": lambda c: _vps(c, command="/bin/true"),
    "vx.kill": lambda c: _vps(c, pid=1, sig=15),
    "vx.limstatus": _vps,
    "vx.load": _vps,
    "vx.netstatus": _vps,
    "vx.reboot": _vps,
    "vx.remove": _vps,
    "vx.rename": lambda c: _vps(c, newname=c.vps + "-renamed"),
    "vx.restart": _vps,
    "vx.start": _vps,
    "vx.status": _vps,
    "vx.stop": _vps,
    "vx.templates": lambda c: {},
    "vxdb.dx.limit.get": _vps,
    "vxdb.dx.limit.remove": _vps,
    "vxdb.dx.limit.set": lambda c: _vps(c, space="100000", inodes="1000"),
    "vxdb.init.get": _vps,
    "vxdb.init.set": lambda c: _vps(c, init="/sbin/init"),
    "vxdb.list": lambda c: {},
    "vxdb.mount.get": _vps,
    "vxdb.mount.remove": lambda c: _vps(c, dst="/mnt/data"),
    "vxdb.mount.set": lambda c: _vps(c, dst="/mnt/data", type="tmpfs",
                                     opts="size=1m"),
    "vxdb.name.get": lambda c: {"xid": c.xid},
    "vxdb.nx.addr.get": _vps,
    "vxdb.nx.addr.remove": lambda c: _vps(c, addr=_address(c)),
    "vxdb.nx.addr.set": lambda c: _vps(c, addr=_address(c), netmask="24"),
    "vxdb.nx.broadcast.get": _vps,
    "vxdb.nx.broadcast.remove": _vps,
    "vxdb.nx.broadcast.set": lambda c: _vps(c, broadcast="198.18.0.255"),
    "vxdb.owner.add": lambda c: _vps(c, username=c.user),
    "vxdb.owner.get": _vps,
    "vxdb.owner.remove": lambda c: _vps(c, username=c.user),
    "vxdb.vdir.get": _vps,
    "vxdb.vx.bcaps.add": lambda c: _vps(c, bcap="NET_RAW"),
    "vxdb.vx.bcaps.get": _vps,
    "vxdb.vx.bcaps.remove": lambda c: _vps(c, bcap="NET_RAW"),
    "vxdb.vx.ccaps.add": lambda c: _vps(c, ccap="SET_UTSNAME"),
    "vxdb.vx.ccaps.get": _vps,
    "vxdb.vx.ccaps.remove": lambda c: _vps(c, ccap="SET_UTSNAME"),
    "vxdb.vx.cpuset.get": _vps,
    "vxdb.vx.cpuset.remove": _vps,
    "vxdb.vx.cpuset.set": lambda c: _vps(c, cpus="0", mems="0"),
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
    "vxdb.vx.uname.get": _vps,
    "vxdb.vx.uname.remove": lambda c: _vps(c, uname="NODENAME"),
    "vxdb.vx.uname.set": lambda c: _vps(c, uname="NODENAME", value="node1"),
    "vxdb.vx.userns.get": _vps,
    "vxdb.vx.userns.set": lambda c: _vps(c, privileged=False),
    "vxdb.xid.get": _vps,
}

#: The fault a call that passed the checks gets instead of a result: the
#: VPSes are stopped, and vx.start and vx.restart find them locked.
AFTER_CHECKS = {
    "vx.exec": MESTOPPED,
    "vx.kill": MESTOPPED,
    "vx.netstatus": MESTOPPED,
    "vx.limstatus": MESTOPPED,
    "vx.reboot": MESTOPPED,
    "vx.restart": MEBUSY,
    "vx.start": MEBUSY,
    "vx.stop": MESTOPPED,
}

#: Methods called with the test VPSes' locks held (they would start them).
LOCKED = frozenset(["vx.start", "vx.restart"])

PASSWORD = "user-secret-1"
MINE = "vpsmine"
THEIRS = "vpstheirs"
MISSING = "vpsmissing"
FRESH = "vpsfresh"


def everythingHost():
    """
    A host that can enforce every knob, so that every sample passes
    whatever this machine offers.
    """
    return HostFeatures(
        cgroupLayout="v2",
        controllers={"cpu", "cpuset", "memory", "pids", "io", "freezer"},
        lxcfs=True, timeNamespace=True, seccomp=True, loopDevices=True,
        cpus=[0], memNodes=[0], idRanges=[(1000000, 65536 * 64)])


class AccessTests(DaemonTestCase):
    """
    One test per method of L{ACCESS} (added below the class), and the
    table against the daemon's method list.
    """

    timeout = 60

    def daemonArguments(self):
        return {"features": everythingHost()}

    @defer.inlineCallbacks
    def setUp(self):
        yield DaemonTestCase.setUp(self)
        self.xids = {}
        for name, group in ((MINE, "grpmine"), (THEIRS, "grptheirs")):
            yield self.makeVps(name)
            self.xids[name] = yield self.admin.call("vxdb.xid.get",
                                                    name=name)
            yield self.admin.call("vg.add", group=group, name=name)
        yield self.admin.call("vg.add", group="grpempty", name="")
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
    def user(self, username, caps, admin=False, owns=()):
        """
        Make a user with exactly C{caps}, owning the VPSes C{owns}.

        @return: a Deferred firing with a client for it.
        """
        client = yield self.makeUser(username, PASSWORD, admin=admin)
        yield self.grant(username, caps)
        for name in owns:
            yield self.admin.call("vxdb.owner.add", name=name,
                                  username=username)
        return client

    def case(self, vps, user):
        group = {MINE: "grpmine", THEIRS: "grptheirs"}.get(vps, "grpempty")
        return Case(vps, self.xids.get(vps, 65000), group, user)

    @defer.inlineCallbacks
    def outcome(self, client, name, case):
        """
        Call C{name} with its sample for C{case}.

        @return: a Deferred firing with ("ok", result) or (fault code,
            message).
        """
        try:
            result = yield client.call(name, **SAMPLES[name](case))
        except Fault as f:
            return f.code, f.message
        return "ok", result

    def assertPassed(self, name, who, outcome):
        """
        Assert that a call passed the access checks: it gave a result, or
        the one fault L{AFTER_CHECKS} expects; a group method refused none
        of its members (its fault, when some failed, names no refusal).
        """
        code, message = outcome
        if name.startswith("vg.vx.") and code != "ok":
            # Some members failed (a stopped VPS for vg.vx.stop): the fault
            # has the first failure's code and a line for each; none may
            # be a refusal.
            refusals = [line for line in message.split("\n")[1:-1]
                        if any(line.endswith(" %d)" % (refusal,))
                               for refusal in REFUSALS)]
            self.assertEqual((code in REFUSALS, refusals), (False, []),
                             "%s by %s: %s" % (name, who, message))
            return
        self.assertEqual(code, AFTER_CHECKS.get(name, "ok"),
                         "%s by %s: %s" % (name, who, message))
        if isinstance(message, dict) and "failed" in message:
            self.assertEqual([f for f in message["failed"]
                              if f["faultCode"] in REFUSALS], [],
                             "%s by %s: %s" % (name, who, message))

    def assertRefused(self, name, who, code, outcome):
        self.assertEqual(outcome[0], code, "%s by %s: %s, expected fault %d"
                         % (name, who, outcome[1], code))

    def holdLocks(self):
        locks = self.daemon.parts.locks
        for name in (MINE, THEIRS):
            self.assertTrue(locks.acquire(name))
            self.addCleanup(locks.release, name)

    @defer.inlineCallbacks
    def checkMethod(self, name):
        capability, rule = ACCESS[name]
        granted = [capability] if capability else []
        lacking = yield self.user(
            "lacking", [c for c in CAPABILITIES if c != capability],
            owns=[MINE])
        # For vcd.login and vxdb.list this user has no capability at all.
        holder = yield self.user("holder", granted, owns=[MINE])
        boss = yield self.user("boss", granted, admin=True)
        if name in LOCKED:
            self.holdLocks()

        # (a) every capability but the method's, on an owned VPS
        if capability is not None:
            self.assertRefused(
                name, "a user without %s" % (capability,), MEPERM,
                (yield self.outcome(lacking, name, self.case(MINE, "ta"))))

        # (b) only the capability, on a VPS the user does not own...
        outcome = yield self.outcome(holder, name, self.case(THEIRS, "tb"))
        if rule in (VPS, CREATE):
            self.assertRefused(name, "a non-owner", MENOVPS, outcome)
        else:
            self.assertPassed(name, "a non-owner (rule %s)" % (rule,),
                              outcome)
        # ...or on one that does not exist.
        if rule != NONE:
            self.assertRefused(
                name, "a user naming a missing VPS", MENOVPS,
                (yield self.outcome(holder, name, self.case(MISSING, "tb"))))

        # (d) the admin flag passes owner checks
        self.assertPassed(
            name, "an administrator not owning the VPS",
            (yield self.outcome(boss, name, self.case(THEIRS, "td"))))
        if rule == CREATE:
            self.assertPassed(
                name, "an administrator naming a new VPS",
                (yield self.outcome(boss, name, self.case(FRESH, "td"))))

        # (c) only the capability, on an owned VPS (last: it may remove or
        # rename it)
        self.assertPassed(
            name, "the owner",
            (yield self.outcome(holder, name, self.case(MINE, "tc"))))

    @defer.inlineCallbacks
    def test_tableIsTheMethodList(self):
        """
        L{ACCESS} names exactly the methods C{system.listMethods} lists
        (introspection aside), and each has a sample and a test.
        """
        listed = yield self.admin.call("system.listMethods", _raw=())
        self.assertEqual(
            sorted(set(n for n in listed if not n.startswith("system."))),
            sorted(ACCESS))
        self.assertEqual(sorted(SAMPLES), sorted(ACCESS))
        for name in ACCESS:
            self.assertTrue(hasattr(self, "test_" + name.replace(".", "_")))


def _accessTest(name):
    def test(self):
        return self.checkMethod(name)
    test.__name__ = "test_" + name.replace(".", "_")
    test.__doc__ = "The access restrictions of %s: %s, owner rule %s." % (
        name, ACCESS[name][0] or "no capability", ACCESS[name][1])
    return test


for _name in ACCESS:
    setattr(AccessTests, "test_" + _name.replace(".", "_"),
            _accessTest(_name))
del _name
