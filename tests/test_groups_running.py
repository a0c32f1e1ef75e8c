"""
Groups of running VPSes: vg.vx.start, vg.vx.stop, vg.vx.restart and
vg.vx.reboot act on every VPS of a group, one failure not stopping the
others, and the VPSes of group onboot start with the daemon.

Needs root, liblxc with the compiled binding (Debian lxc, lxc-dev) and
busybox-static; a missing component fails the test saying what to install.
"""

import secrets
import time

from twisted.internet import defer

from tests.harness import DaemonTestCase
from tests.running import RunningHelpers, pause
from vcd.faults import MERUNNING, MESTOPPED, MESYS, VCDFault

USER_PASSWORD = "user-secret-1"
#: The manual's names (9.3) of the codes a group action's message shows.
CODE_NAMES = {MESYS: "MESYS", MESTOPPED: "MESTOPPED",
              MERUNNING: "MERUNNING"}


class GroupActionTests(RunningHelpers, DaemonTestCase):
    """
    vg.vx.*: {ok: [names], failed: []} when every VPS succeeded; else, once
    every VPS was tried, a fault with the first failure's code naming each
    failed VPS and why.
    """

    @defer.inlineCallbacks
    def group(self, **init):
        """
        Create three VPSes with names in order and put them in a new group.

        @return: a Deferred firing with (group, [names]).
        """
        group = "g" + secrets.token_hex(4)
        base = self.vpsName()
        names = [base] + [base + suffix for suffix in ("b", "c")]
        for name in names[1:]:
            self.addCleanup(self.discardContainer, name)
        for name in names:
            yield self.newVps(name=name, **init)
            yield self.admin.call("vg.add", group=group, name=name)
        return group, names

    @defer.inlineCallbacks
    def assertFailed(self, method, group, expected, ok):
        """
        Call C{method} on C{group} over HTTP and assert that it faults with
        the first failure's code, its message naming each VPS of
        C{expected} (name to fault code, in the order tried) with its
        fault code, and the VPSes of C{ok} as succeeded.

        @return: a Deferred firing with the fault's message.
        """
        first = list(expected.values())[0]
        fault = yield self.assertFault(first, self.admin.call(
            method, group=group))
        message = fault.message
        lines = message.split("\n")
        self.assertEqual(lines[0], "%s %s: %d of %d failed" % (
            method, group, len(expected), len(expected) + len(ok)))
        self.assertEqual(len(lines), len(expected) + 2, message)
        for line, (name, code) in zip(lines[1:], expected.items()):
            self.assertRegex(line, r"^%s: .*'%s'.* \(%s %d\)$" % (
                name, name, CODE_NAMES[code], code))
        self.assertEqual(lines[-1], "succeeded: %s" % (", ".join(ok),))
        return message

    @defer.inlineCallbacks
    def test_startAndStop(self):
        """
        One VPS with its files gone and one already running do not keep
        the third from starting; each failure is named. Then stopping the
        group stops the two running and names the stopped one.
        """
        group, (good, broken, running) = yield self.group(halt="/bin/true",
                                                          timeout=1)
        self.removeRoot(broken)
        yield self.admin.call("vx.start", name=running)
        message = yield self.assertFailed("vg.vx.start", group,
                                          {broken: MESYS, running: MERUNNING},
                                          [good])
        self.assertIn("root filesystem is missing", message)
        for name in (good, running):
            yield self.assertRunning(name)
        yield self.assertFailed("vg.vx.stop", group, {broken: MESTOPPED},
                                [good, running])
        for name in (good, running):
            yield self.assertRunning(name, False)

    @defer.inlineCallbacks
    def test_restartAndReboot(self):
        """
        vg.vx.restart restarts the running VPSes (new inits, waited for);
        vg.vx.reboot runs each one's reboot command, and they come back;
        a stopped VPS is a named MESTOPPED for both.
        """
        group, (first, second, stopped) = yield self.group(halt="/bin/true",
                                                           timeout=1)
        for name in (first, second):
            yield self.admin.call("vx.start", name=name)
        before = {}
        for name in (first, second):
            before[name] = (yield self.status(name))["initpid"]
        yield self.assertFailed("vg.vx.restart", group, {stopped: MESTOPPED},
                                [first, second])
        for name in (first, second):
            status = yield self.status(name)
            self.assertTrue(status["running"])
            self.assertNotEqual(status["initpid"], before[name])
            before[name] = status["initpid"]
        yield self.assertFailed("vg.vx.reboot", group, {stopped: MESTOPPED},
                                [first, second])
        for name in (first, second):
            yield self.waitRestarted(name, before[name])
        yield self.assertRunning(stopped, False)

    @defer.inlineCallbacks
    def test_ownedOnly(self):
        """
        A user acts only on the VPSes of the group that it owns; the others
        are neither touched nor named.
        """
        group, (mine, other, third) = yield self.group()
        yield self.makeUser("carol", USER_PASSWORD, ["INIT"])
        yield self.admin.call("vxdb.owner.add", name=mine, username="carol")
        carol = self.client("carol", USER_PASSWORD)
        result = yield carol.call("vg.vx.start", group=group)
        self.assertEqual(result, {"ok": [mine], "failed": []})
        yield self.assertRunning(mine)
        for name in (other, third):
            yield self.assertRunning(name, False)


class OnbootTests(RunningHelpers, DaemonTestCase):
    """
    Group onboot.
    """

    @defer.inlineCallbacks
    def test_startedWithTheDaemon(self):
        """
        At daemon start the VPSes of group onboot start; one that cannot
        (its files are gone) is logged and does not keep the others from
        starting, and the daemon serves.
        """
        log = self.captureLog()
        name = yield self.newVps()
        broken = yield self.newVps()
        self.removeRoot(broken)
        outside = yield self.newVps()
        for member in (name, broken):
            yield self.admin.call("vg.add", group="onboot", name=member)
        yield self.stopDaemon()
        yield self.startDaemon()
        yield self.waitRestarted(name, 0)
        deadline = time.monotonic() + 10
        while not [t for t in log if "onboot" in t and broken in t]:
            self.assertLess(time.monotonic(), deadline, log)
            yield pause(0.05)
        self.assertEqual(len(self.flushLoggedErrors(VCDFault)), 1)
        yield self.assertRunning(broken, False)
        yield self.assertRunning(outside, False)
        self.assertEqual((yield self.execIn(name, "echo up")), "up\n")
