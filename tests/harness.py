"""
End-to-end test harness: a real vcd service listening on 127.0.0.1 (an
ephemeral port) in the test's reactor, real VXDB, real LXC kernel layer,
a real busybox template, and a real XML-RPC client over HTTP.
"""

import os
import shutil
import xmlrpc.client

from twisted.internet import defer, reactor, threads
from twisted.trial import unittest

from vcd.config import Configuration
from vcd.kernel import lxcfs
from vcd.scripts import vtemplate
from vcd.scripts.vshelper import UnixTransport
from vcd.tap import VCDService
from vcd.vxdb.connection import openVXDB, runTransaction
from vcd.vxdb.credentials import loadKey
from vcd.vxdb import users
from vcd.vxdb.whirlpool import whirlpoolHex

ADMIN_PASSWORD = "admin-secret-1"
_TEMPLATE_CACHE = {}
#: Where liblxc keeps its container locks when run as root.
LXC_LOCK_ROOT = "/run/lxc/lock"


def busyboxTemplate(templatedir):
    """
    Put a busybox template called C{busybox} into C{templatedir}, building
    it once per test run and copying it afterwards.
    """
    os.makedirs(templatedir, exist_ok=True)
    if "busybox" not in _TEMPLATE_CACHE:
        if shutil.which("busybox") is None and not os.path.exists(
                "/bin/busybox"):
            raise AssertionError("busybox is missing: apt-get install"
                                 " busybox-static")
        source = os.path.abspath("_busybox_template")
        status = vtemplate.main(["--templatedir", source, "build", "busybox",
                                 "busybox"])
        if status != 0:
            raise AssertionError("vtemplate build busybox failed (%s)"
                                 % (status,))
        _TEMPLATE_CACHE["busybox"] = source
    source = _TEMPLATE_CACHE["busybox"]
    for entry in os.listdir(source):
        shutil.copy2(os.path.join(source, entry),
                     os.path.join(templatedir, entry))


class Fault(Exception):
    """
    A fault as the test client saw it.
    """

    def __init__(self, code, message):
        Exception.__init__(self, code, message)
        self.code = code
        self.message = message


class Client:
    """
    A real XML-RPC client (Python's xmlrpc.client, a new connection per
    request, as the original clients did) run in a thread so the reactor
    keeps serving.
    """

    def __init__(self, url, username, password, transport=None):
        self.url = url
        self.username = username
        self.password = password
        self.transport = transport

    def _blocking(self, method, args, raw):
        params = ({"username": self.username, "password": self.password},)
        if args is not None:
            params += (args,)
        if raw is not None:
            params = raw
        # Close the connection whatever happens: after a fault the client
        # would keep it alive and leave the reactor dirty.
        with xmlrpc.client.ServerProxy(self.url, allow_none=True,
                                       transport=self.transport) as proxy:
            try:
                return getattr(proxy, method)(*params)
            except xmlrpc.client.Fault as f:
                fault = Fault(f.faultCode, f.faultString)
        raise fault

    def call(self, method, _raw=None, **args):
        """
        Call C{method} with C{args} as the argument struct.

        @return: a Deferred firing with the result or failing with
            L{Fault}.
        """
        return threads.deferToThread(self._blocking, method, args, _raw)

    def callBare(self, method):
        """
        Call C{method} with only the authentication param.
        """
        return threads.deferToThread(self._blocking, method, None, None)


def searchableTemp(testCase):
    """
    Make a new temporary directory for C{testCase} that the root of an
    unprivileged VPS (a host id of its own) can pass through to its root
    filesystem, as through /var/lib on a real host (trial makes the test's
    own directory 0700).

    @return: its absolute path.
    """
    path = os.path.abspath(testCase.mktemp())
    os.makedirs(path)
    os.chmod(os.path.dirname(path), 0o711)
    return path


class DaemonTestCase(unittest.TestCase):
    """
    Starts a vcd service for each test, with an admin whose password is
    L{ADMIN_PASSWORD}.

    @ivar daemon: the L{vcd.tap.VCDService}.
    @ivar url: the URL of its C{/RPC2}.
    @ivar admin: a L{Client} for the admin.
    """

    timeout = 120

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the end-to-end tests need root")
        base = searchableTemp(self)
        self.base = base
        self.config = Configuration(
            listen=[], datadir=os.path.join(base, "data"),
            vbasedir=os.path.join(base, "vservers"))
        # After everything else: the lock directories liblxc made for this
        # test's lxcpath (it never removes them; a suite run makes
        # thousands).
        self.addCleanup(removeLxcLocks, self.config.lxcpath,
                        os.path.dirname(base))
        busyboxTemplate(self.config.templatedir)
        setPassword(self.config.vxdbPath, "admin", ADMIN_PASSWORD)
        # Last but one: an lxcfs this test's daemons left serving VPSes.
        self.addCleanup(stopLeftLxcfs, self.config.datadir)
        return self.startDaemon()

    def startDaemon(self):
        """
        Start (or restart) the daemon on a new ephemeral port.
        """
        self.daemon = VCDService(self.config, reactor,
                                 **self.daemonArguments())
        self.daemon.startService()
        self.port = reactor.listenTCP(0, self.daemon.site,
                                      interface="127.0.0.1")
        self.url = "http://127.0.0.1:%d/RPC2" % (self.port.getHost().port,)
        self.admin = Client(self.url, "admin", ADMIN_PASSWORD)
        self.addCleanup(self.stopDaemon)
        return defer.succeed(None)

    @defer.inlineCallbacks
    def stopDaemon(self):
        """
        Stop the daemon and its port (idempotent).
        """
        if self.port is not None:
            yield self.port.stopListening()
            self.port = None
        if self.daemon is not None and self.daemon.running:
            yield self.daemon.stopService()

    def daemonArguments(self):
        """
        Extra keyword arguments for L{VCDService}; override in subclasses.
        """
        return {}

    def client(self, username, password):
        """
        A L{Client} for another user.
        """
        return Client(self.url, username, password)

    def helperClient(self, username, password):
        """
        A L{Client} on the daemon's Unix socket for vshelper, as vshelper
        connects.
        """
        return Client("http://localhost/RPC2", username, password,
                      UnixTransport(self.daemon.helperSocket))

    @defer.inlineCallbacks
    def assertFault(self, code, deferred, contains=None):
        """
        Assert that C{deferred} fails with fault C{code} (and a message
        containing C{contains}).

        @return: a Deferred firing with the L{Fault}.
        """
        try:
            result = yield deferred
        except Fault as f:
            self.assertEqual(f.code, code, "fault %d (%s), expected %d"
                             % (f.code, f.message, code))
            if contains is not None:
                self.assertIn(contains, f.message)
            return f
        self.fail("expected fault %d, got result %r" % (code, result))

    @defer.inlineCallbacks
    def makeUser(self, username, password, caps=(), admin=False):
        """
        Create a user with capabilities, through the API.

        @return: a Deferred firing with a L{Client} for it.
        """
        yield self.admin.call("vcd.user.set", username=username,
                              password=password, admin=admin)
        for cap in caps:
            yield self.admin.call("vcd.user.caps.add", username=username,
                                  cap=cap)
        return self.client(username, password)

    @defer.inlineCallbacks
    def makeVps(self, name, owner=None, **options):
        """
        Create a VPS from the busybox template (and add C{owner}).
        """
        yield self.admin.call("vx.create", name=name, template="busybox",
                              **options)
        if owner is not None:
            yield self.admin.call("vxdb.owner.add", name=name,
                                  username=owner)


def stopLeftLxcfs(datadir):
    """
    Stop the lxcfs a daemon with this data directory started and left
    serving (a daemon stopped while its VPSes ran leaves it for them), once
    no VPS uses it: a test leaves no lxcfs of its own running.
    """
    pidFile = os.path.join(datadir, "lxcfs.pid")
    pid = lxcfs.lxcfsPid(pidFile, lxcfs.MOUNT_POINT)
    if pid is not None and not lxcfs.usedByOthers(lxcfs.MOUNT_POINT):
        lxcfs.terminate(pid, lxcfs.MOUNT_POINT, 10)
        os.unlink(pidFile)


def lxcLockDirectory(lxcpath):
    """
    The directory where liblxc, run as root, keeps the lock files of the
    containers in C{lxcpath} (C{/run/lxc/lock/<lxcpath>/.<name>}; it makes
    one, with its parents, for every lxcpath it is given and never removes
    it).

    @raise ValueError: if C{lxcpath} has a C{..} component (its directory
        could be outside L{LXC_LOCK_ROOT}).
    """
    if ".." in lxcpath.split("/"):
        raise ValueError("lxcpath %r has a '..'" % (lxcpath,))
    path = os.path.normpath(LXC_LOCK_ROOT + "/" + lxcpath)
    if not path.startswith(LXC_LOCK_ROOT + "/"):
        raise ValueError("lxcpath %r has no lock directory of its own"
                         % (lxcpath,))
    return path


def removeLxcLocks(lxcpath, own):
    """
    Remove the lock directory liblxc made for C{lxcpath} (see
    L{lxcLockDirectory}) and its parents made for C{own}, the test's own
    directory holding C{lxcpath}, once they are empty; the directories made
    for the parents of C{own} (shared with other tests) stay. Call it once
    no container of C{lxcpath} runs and no daemon uses it.

    @param lxcpath: an absolute path strictly inside C{own}.
    @raise AssertionError: if it is not, or the lock directory's path goes
        through a symbolic link (then nothing is removed).
    """
    own = os.path.normpath(own)
    if not (os.path.isabs(lxcpath) and os.path.isabs(own) and lxcpath != own
            and os.path.commonpath([lxcpath, own]) == own):
        raise AssertionError("lxcpath %r is not inside the test's own"
                             " directory %r" % (lxcpath, own))
    locks = lxcLockDirectory(lxcpath)
    top = lxcLockDirectory(own)
    if os.path.realpath(locks) != locks:
        raise AssertionError("%s goes through a symbolic link: not removed"
                             % (locks,))
    try:
        shutil.rmtree(locks)
    except FileNotFoundError:
        pass
    path = os.path.dirname(locks)
    while path == top or path.startswith(top + "/"):
        try:
            os.rmdir(path)
        except OSError:
            break
        path = os.path.dirname(path)


def setPassword(path, username, password):
    """
    Set a password directly in a VXDB file (creating it), as vxpasswd does.
    """
    connection = openVXDB(path)
    try:
        runTransaction(connection, users.setPassword, username,
                       loadKey(path).verifier(whirlpoolHex(password)))
    finally:
        connection.close()
