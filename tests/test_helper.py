"""
The helper namespace (manual chapter 10) and vshelper, the kernel helper
the VPSes' LXC hooks run: its secret, its Unix socket, and reboots and
halts requested from inside a VPS.

Needs root, liblxc with the compiled binding (Debian lxc, lxc-dev) and
busybox-static; a missing component fails the test saying what to install.
"""

import io
import os
import stat

from twisted.internet import defer, threads

from tests.harness import ADMIN_PASSWORD, DaemonTestCase
from tests.running import RunningHelpers, pause
from vcd.faults import MEAUTH, MENOVPS, MEPERM
from vcd.scripts import vshelper

HELPER_METHODS = ("helper.startup", "helper.netup", "helper.restart",
                  "helper.shutdown")


class HelperTests(RunningHelpers, DaemonTestCase):
    """
    helper.* over the daemon's Unix socket as user vshelper.
    """

    def secret(self):
        with open(self.daemon.helperSecretFile) as f:
            return f.read().strip()

    def vshelper(self, *argv, environ=None, secret=None):
        """
        Run vshelper's main (in a thread: it blocks on the daemon) against
        this daemon; fire with (exit status, what it wrote to stderr).
        """
        stderr = io.StringIO()
        options = ["--socket", self.daemon.helperSocket, "--secret",
                   secret or self.daemon.helperSecretFile]
        d = threads.deferToThread(vshelper.main, options + [str(a) for a in
                                                            argv],
                                  environ=environ or {}, stderr=stderr)
        return d.addCallback(lambda status: (status, stderr.getvalue()))

    @defer.inlineCallbacks
    def test_needsHelper(self):
        """
        Only the HELPER capability may call helper.*: the administrator,
        who has every other one, gets MEPERM; vshelper with its secret may.
        """
        name = yield self.newVps()
        xid = yield self.admin.call("vxdb.xid.get", name=name)
        for method in HELPER_METHODS:
            yield self.assertFault(MEPERM, self.admin.call(method, xid=xid))
        helper = self.helperClient("vshelper", self.secret())
        for method in ("helper.startup", "helper.netup"):
            self.assertIsNone((yield helper.call(method, xid=xid)))
            yield self.assertFault(MENOVPS, helper.call(method, xid=xid + 1))

    @defer.inlineCallbacks
    def test_onlyOnTheUnixSocket(self):
        """
        The vshelper user logs in only on the daemon's Unix socket for it;
        over TCP its right secret gets the fault of a wrong password.
        """
        secret = self.secret()
        self.assertIsNone((yield self.helperClient("vshelper", secret).call(
            "vcd.login")))
        overTCP = yield self.assertFault(MEAUTH, self.client(
            "vshelper", secret).call("vcd.login"))
        wrong = yield self.assertFault(MEAUTH, self.client(
            "vshelper", secret + "x").call("vcd.login"))
        self.assertEqual(overTCP.message, wrong.message)
        name = yield self.newVps()
        xid = yield self.admin.call("vxdb.xid.get", name=name)
        yield self.assertFault(MEAUTH, self.client("vshelper", secret).call(
            "helper.startup", xid=xid))
        self.assertIsNone((yield self.helperClient("vshelper", secret).call(
            "helper.startup", xid=xid)))
        # Other users may use the Unix socket too.
        self.assertIsNone((yield self.helperClient(
            "admin", ADMIN_PASSWORD).call("vcd.login")))

    @defer.inlineCallbacks
    def test_secret(self):
        """
        The secret file is private (0600), long, and kept across restarts;
        vshelper reaches the daemon with it over the Unix socket, and fails
        (exit 1, saying why) with another secret or an unknown context.
        """
        path = self.daemon.helperSecretFile
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        secret = self.secret()
        self.assertGreaterEqual(len(secret), 16)
        self.assertEqual(stat.S_IMODE(os.stat(
            self.daemon.helperSocket).st_mode) & 0o077, 0)
        yield self.stopDaemon()
        yield self.startDaemon()
        self.assertEqual(self.secret(), secret)
        name = yield self.newVps()
        xid = yield self.admin.call("vxdb.xid.get", name=name)
        for action in ("startup", "netup", "halt", "poweroff", "netdown"):
            self.assertEqual((yield self.vshelper(action, xid)), (0, ""))
        wrong = os.path.join(self.base, "wrong.secret")
        with open(wrong, "w") as f:
            f.write("not-the-secret-at-all\n")
        status, error = yield self.vshelper("startup", xid, secret=wrong)
        self.assertEqual(status, 1)
        self.assertIn("startup %d" % (xid,), error)
        status, error = yield self.vshelper("startup", xid + 1)
        self.assertEqual(status, 1)
        self.assertIn("202", error)

    @defer.inlineCallbacks
    def test_postStopHook(self):
        """
        The post-stop hook of a reboot (LXC_TARGET=reboot) records it,
        exits 1 so liblxc does not reboot the VPS itself, and the daemon
        starts it again; after a plain stop it stays stopped.
        """
        name = yield self.newVps()
        xid = yield self.admin.call("vxdb.xid.get", name=name)
        self.assertEqual((yield self.vshelper(
            "shutdown", xid, environ={"LXC_TARGET": "stop"})), (0, ""))
        yield pause(0.5)
        yield self.assertRunning(name, False)
        self.assertEqual((yield self.vshelper(
            "shutdown", xid, "lxc", "post-stop",
            environ={"LXC_TARGET": "reboot"})), (1, ""))
        yield self.waitRestarted(name, 0)

    @defer.inlineCallbacks
    def test_rebootAndHaltFromInside(self):
        """
        A reboot from inside comes back with a new init and with the
        configuration VXDB holds by then; a halt from inside leaves the VPS
        stopped.
        """
        name = yield self.newVps(start=True)
        before = yield self.status(name)
        yield self.admin.call("vxdb.vx.uname.set", name=name,
                              uname="NODENAME", value="rebooted-host")
        yield self.execIn(name, "reboot")
        yield self.waitRestarted(name, before["initpid"])
        self.assertEqual((yield self.execIn(name, "hostname")),
                         "rebooted-host\n")
        yield self.execIn(name, "halt")
        yield self.waitStopped(name)
        yield pause(1)
        yield self.assertRunning(name, False)
