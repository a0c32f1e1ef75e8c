"""
A daemon without root, LXC or real containers, for fast tests of the
dispatcher, the methods and the lifecycle rules: the built-in namespaces'
L{vcd.api.dispatch.Dispatcher} over a real VXDB in a temporary directory,
an in-memory L{vcd.kernel.fake.FakeKernel} and a
L{twisted.internet.task.Clock} as the reactor.

Nothing here runs on another thread: L{InlineVXDB} runs each write
transaction at once on the caller's thread, so a call's Deferred has fired
when the call returns unless it waits on the clock (a halt, a sleep, a
lock). Tests let time pass with C{fake.clock.advance(seconds)}.

Calls go through L{vcd.api.dispatch.Dispatcher.dispatch}, as the wire's
do, so authentication, capabilities, owner rules, argument checks and the
per-VPS lock all apply.
"""

import os
import shutil
import tempfile

from twisted.internet import defer
from twisted.internet.task import Clock

import vcd.methods
from vcd.api.call import ClientAddress, RequestCounters, Services
from vcd.api.dispatch import Dispatcher, collectMethods
from vcd.api.namespaces import loadNamespaces
from vcd.config import Configuration
from vcd.faults import VCDFault, faultName
from vcd.kernel.fake import FakeKernel
from vcd.kernel.hostfeatures import HostFeatures
from vcd.kernel.lxcconfig import HostPaths
from vcd.vps.loadavg import LoadTracker
from vcd.vps.stops import RequestedStops
from vcd.vps.rootfs import RootLayout
from vcd.vxdb import registry, roots, users, userns
from vcd.vxdb.database import VXDB
from vcd.vxdb.whirlpool import whirlpoolHex

ADMIN_PASSWORD = "admin-secret-1"
HELPER_SECRET = "helper-secret-0123456789"
#: What the generated configurations name as the post-stop hook.
HOOK = "/usr/bin/vshelper --socket /nonexistent"
#: A memory filesystem for scratch directories, if the host has one.
SHM = "/dev/shm"
#: The client address calls are made from.
CLIENT = ClientAddress("127.0.0.1", 40000)
#: The daemon's Unix socket for vshelper, and a client address on it.
HELPER_SOCKET = "/nonexistent/vcd.sock"
HELPER_CLIENT = ClientAddress("unix", localSocket=HELPER_SOCKET)


class InlineVXDB(VXDB):
    """
    L{VXDB} whose write transactions run at once on the calling thread (as
    L{VXDB.transactNow} does) instead of on the database thread: the same
    SQL, the same connections, the same commit or rollback, without a
    thread a Clock-driven test would have to wait for.
    """

    def transact(self, function, *args, **kwargs):
        """
        See L{VXDB.transact}; the Deferred has fired when this returns.
        """
        return defer.maybeDeferred(self.transactNow, function, *args,
                                   **kwargs)


def fakeFeatures():
    """
    The L{HostFeatures} of a made-up cgroup v2 host with the usual
    controllers, two CPUs, CFS burst and swap accounting, and no lxcfs,
    loop devices or seccomp (nothing is detected).
    """
    return HostFeatures(
        cgroupLayout="v2",
        controllers={"cpu", "cpuset", "io", "memory", "pids"},
        lxcfs=False, timeNamespace=True, seccomp=False, loopDevices=False,
        cpus=[0, 1], memNodes=[0], idRanges=[(1000000, 65536 * 64)],
        cpuBurst=True, swapAccounting=True)


class FakeDaemon:
    """
    The daemon's parts on a L{FakeKernel} and a L{Clock}.

    @ivar clock: the reactor of everything (L{Clock}).
    @ivar kernel: the L{FakeKernel}; its VPSes' roots "exist" when their
        paths are in L{existingPaths}.
    @ivar existingPaths: the directories the kernel is told exist.
    @ivar stops: every VPS stop the kernel saw, as C{(name, target)}.
    @ivar filesystemCalls: the blocking file work asked of the filesystem
        pool, as C{(function name, arguments...)}; none is done.
    @ivar vshelperHook: whether a stop calls the helper methods as the
        post-stop hook (vshelper) would: C{helper.restart} for a reboot,
        then C{helper.shutdown}. Their results go to L{hookResults}.
    @ivar services: the L{Services} the methods see.
    @ivar dispatcher: the L{Dispatcher} of the built-in namespaces.
    """

    def __init__(self, base, vshelperHook=False,
                 adminPassword=ADMIN_PASSWORD):
        """
        @param base: a directory (created) for VXDB and the configuration's
            directories, which are not created: nothing but VXDB is
            written.
        @param adminPassword: the password set for admin, or None to
            leave a fresh VXDB's seed as it is.
        """
        os.makedirs(base, exist_ok=True)
        self.clock = Clock()
        self.config = Configuration(
            listen=[], datadir=os.path.join(base, "data"),
            vbasedir=os.path.join(base, "vservers"))
        self.db = InlineVXDB(self.config.vxdbPath, self.clock)
        self.db.open()
        self.existingPaths = set()
        self.filesystemCalls = []
        self.stops = []
        self.hookResults = []
        self.vshelperHook = vshelperHook
        self.kernel = FakeKernel(self.clock,
                                 rootExists=self.existingPaths.__contains__,
                                 onStop=self._stopped)
        self.loads = LoadTracker(self._sampleLoads, self.clock)
        self.services = Services(
            reactor=self.clock, db=self.db, kernel=self.kernel,
            features=fakeFeatures(), config=self.config,
            counters=RequestCounters(self.clock.seconds()),
            filesystem=self._filesystem, loads=self.loads,
            hostPaths=HostPaths(self.config.lxcpath, HOOK, "v2",
                                apparmor=False, seccomp=False),
            stops=RequestedStops(self.clock), helperSocket=HELPER_SOCKET)
        namespaces, problems = loadNamespaces(vcd.methods)
        if problems:
            raise AssertionError("namespace plugin problems: %r"
                                 % (problems,))
        self.dispatcher = Dispatcher(collectMethods(namespaces),
                                     self.services)
        if adminPassword is not None:
            self.setPassword("admin", adminPassword)
        self.setPassword("vshelper", HELPER_SECRET)

    def _filesystem(self, function, *args):
        """
        The filesystem pool of the fake: nothing is on disk, so blocking
        file work is only recorded in L{filesystemCalls}.
        """
        self.filesystemCalls.append((function.__name__,) + args)
        return defer.succeed(None)

    def close(self):
        """
        Close VXDB's connections.
        """
        self.db.stopService()

    def _sampleLoads(self):
        d = self.db.read(registry.vpsNames)
        return d.addCallback(self.kernel.activeTasks)

    def _stopped(self, name, target):
        self.stops.append((name, target))
        if not self.vshelperHook:
            return
        xid = self.db.transactNow(registry.findVps, name).xid
        if target == "reboot":
            self.hookResults.append(self.helper("helper.restart", xid=xid))
        self.hookResults.append(self.helper("helper.shutdown", xid=xid))

    # -- users and VPSes, written straight into VXDB ---------------------

    def setPassword(self, username, password):
        """
        Set the password of an existing user (as vxpasswd does).
        """
        self.db.transactNow(users.setPassword, username,
                            self.db.key.verifier(whirlpoolHex(password)))

    def addUser(self, username, password, caps=(), admin=False):
        """
        Add a user with capabilities C{caps}.

        @return: its uid.
        """
        def add(cursor):
            uid = users.addUser(cursor, username,
                                self.db.key.verifier(whirlpoolHex(password)),
                                admin)
            for cap in caps:
                users.grantCap(cursor, uid, cap)
            return uid
        return self.db.transactNow(add)

    def addVps(self, name, owner="admin", halt="", reboot="", timeout=15,
               init="", vdir=None):
        """
        Record a VPS in state C{ready} with a copy layout under vbasedir
        whose root directory the kernel is told exists (nothing is
        written to disk), owned by C{owner}.

        @param halt: its halt command (empty: the default /sbin/halt).
        @param timeout: its stop timeout (seconds).
        @param vdir: its directory (default: C{<vbasedir>/<name>}); its
            root is C{<vdir>/root}.
        @return: its xid.
        """
        if vdir is None:
            vdir = os.path.join(self.config.vbasedir, name)
        layout = RootLayout("copy", vdir, rootfs=os.path.join(vdir, "root"))
        defaults = roots.TemplateDefaults(
            bcaps=set(), ccaps=set(), flags=set(), mounts=[], init=init,
            halt=halt, reboot=reboot, timeout=timeout)

        def create(cursor):
            uid = users.findUid(cursor, owner)
            xid = roots.beginCreate(cursor, name, uid, "copy", vdir,
                                    "busybox", defaults,
                                    self.services.features.idRanges, 65536)
            # A copy owned by its range, as vx.create makes it.
            roots.finishCreate(cursor, xid, layout.toRecord(),
                               userns.usernsOf(cursor, xid).base)
            return xid
        xid = self.db.transactNow(create)
        self.existingPaths.add(layout.rootfs)
        return xid

    def rootOf(self, name):
        """
        @return: the root directory L{addVps} gives VPS C{name} by
            default.
        """
        return os.path.join(self.config.vbasedir, name, "root")

    # -- calls -------------------------------------------------------------

    def dispatch(self, method, params, client=CLIENT):
        """
        Hand raw params to the dispatcher, as the wire does, from
        C{client} (an L{vcd.api.interfaces.IClientAddress}).

        @return: what L{Dispatcher.dispatch} returns.
        """
        return self.dispatcher.dispatch(method, params, client)

    def call(self, method, username="admin", password=ADMIN_PASSWORD, /,
             **args):
        """
        Call C{method} as C{username} with C{args} as the argument struct
        (no struct when there are no C{args}). The caller's name and
        password are positional only, so C{args} may hold a C{username}.

        @return: a Deferred firing with the result or the L{VCDFault}
            (the dispatcher never fails).
        """
        params = ({"username": username, "password": password},)
        if args:
            params += (args,)
        return defer.maybeDeferred(self.dispatch, method, params)

    def helper(self, method, **args):
        """
        Call a C{helper.*} method as vshelper does, on the daemon's Unix
        socket for it.
        """
        params = ({"username": "vshelper", "password": HELPER_SECRET},
                  args)
        return defer.maybeDeferred(self.dispatch, method, params,
                                   HELPER_CLIENT)


def scratchDirectory(testCase):
    """
    A new directory for a test's VXDB, removed after the test: in
    /dev/shm when there is one (SQLite's syncs to a disk take most of a
    test's time otherwise), else under the test's temporary directory.
    """
    if os.path.isdir(SHM) and os.access(SHM, os.W_OK | os.X_OK):
        path = tempfile.mkdtemp(prefix="vcd-test-", dir=SHM)
        testCase.addCleanup(shutil.rmtree, path, ignore_errors=True)
        return path
    return os.path.abspath(testCase.mktemp())


class FakeDaemonMixin:
    """
    A TestCase mix-in: C{self.fake} is a new L{FakeDaemon} per test, plus
    assertions on calls' answers.
    """

    vshelperHook = False

    def setUp(self):
        self.fake = FakeDaemon(scratchDirectory(self),
                               vshelperHook=self.vshelperHook)
        self.addCleanup(self.fake.close)
        self.clock = self.fake.clock
        self.kernel = self.fake.kernel

    def answer(self, d):
        """
        @return: the result C{d} has fired with, which must be no fault.
        """
        result = self.successResultOf(d)
        if isinstance(result, VCDFault):
            self.fail("unexpected fault %r" % (result,))
        return result

    def assertFault(self, code, d, contains=None):
        """
        Assert that C{d} has fired with fault C{code}, whose message holds
        C{contains}.

        @return: the fault.
        """
        result = self.successResultOf(d)
        if not isinstance(result, VCDFault):
            self.fail("expected fault %d (%s), got result %r"
                      % (code, faultName(code), result))
        self.assertEqual(result.faultCode, code, "fault %r, expected %d"
                         % (result, code))
        if contains is not None:
            self.assertIn(contains, result.faultString)
        return result

    def assertRunning(self, name, running=True):
        """
        Assert whether the kernel runs VPS C{name}.
        """
        self.assertEqual(self.kernel.vps(name).running, running,
                         "%s %s" % (name, "stopped" if running
                                    else "running"))
