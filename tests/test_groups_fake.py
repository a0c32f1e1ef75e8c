"""
The group actions of L{vcd.methods.vg} (vg.vx.start, vg.vx.stop,
vg.vx.restart, vg.vx.reboot) on the in-memory kernel of
L{tests.fakedaemon}: every VPS of the group is tried; if any failed, the
call faults with the first failure's code and names each failed VPS, as
the original daemon did (its vgc reported failure from the fault). No
root, no LXC.

The fault codes are the manual's (9.3), written out here.
"""

from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin

MENOVG = 203
MESTOPPED = 300
MERUNNING = 301
MESYS = 500


class GroupActionTests(FakeDaemonMixin, unittest.TestCase):
    """
    Group C{g} holds C{alpha}, C{beta} and C{gamma} (tried in that order),
    all stopped.
    """

    vshelperHook = True
    names = ("alpha", "beta", "gamma")

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        for name in self.names:
            self.fake.addVps(name)
            self.answer(self.fake.call("vg.add", group="g", name=name))

    def vg(self, action, group="g"):
        return self.fake.call("vg.vx." + action, group=group)

    def start(self, name):
        self.answer(self.fake.call("vx.start", name=name))

    def test_allSucceed(self):
        """
        When every VPS succeeds the answer lists them, nothing failed.
        """
        self.assertEqual(self.answer(self.vg("start")),
                         {"ok": list(self.names), "failed": []})
        for name in self.names:
            self.assertRunning(name)
        d = self.vg("stop")
        for _ in self.names:
            # One after the other: each halt takes a second.
            self.clock.advance(1)
        self.assertEqual(self.answer(d), {"ok": list(self.names),
                                          "failed": []})
        for name in self.names:
            self.assertRunning(name, False)

    def test_emptyGroup(self):
        self.answer(self.fake.call("vg.add", group="empty"))
        self.assertEqual(self.answer(self.vg("start", "empty")),
                         {"ok": [], "failed": []})

    def test_unknownGroup(self):
        self.assertFault(MENOVG, self.vg("start", "nosuch"))

    def test_startFailures(self):
        """
        A running VPS (beta) and one whose root is missing (gamma) do not
        keep alpha from starting; the fault has the first failure's code
        (beta's MERUNNING) and names both failed VPSes with their reasons,
        and alpha as done.
        """
        self.start("beta")
        self.fake.existingPaths.discard(self.fake.rootOf("gamma"))
        fault = self.assertFault(MERUNNING, self.vg("start"))
        message = fault.faultString
        lines = message.split("\n")
        self.assertEqual(lines[:2], [
            "vg.vx.start g: 2 of 3 failed",
            "beta: virtual server 'beta' is already running"
            " (MERUNNING 301)"])
        self.assertTrue(lines[2].startswith(
            "gamma: cannot start 'gamma': its root filesystem is missing"),
            lines[2])
        self.assertTrue(lines[2].endswith("(MESYS 500)"), lines[2])
        self.assertEqual(lines[3:], ["succeeded: alpha"])
        self.assertRunning("alpha")
        self.assertRunning("beta")
        self.assertRunning("gamma", False)

    def test_firstFailureCode(self):
        """
        The code is the first failure's in the order tried (by name):
        alpha's MESYS before gamma's MERUNNING.
        """
        self.fake.existingPaths.discard(self.fake.rootOf("alpha"))
        self.start("gamma")
        fault = self.assertFault(MESYS, self.vg("start"))
        lines = fault.faultString.split("\n")
        self.assertEqual(lines[0], "vg.vx.start g: 2 of 3 failed")
        self.assertTrue(lines[1].startswith("alpha: cannot start 'alpha'"))
        self.assertEqual(lines[2:], [
            "gamma: virtual server 'gamma' is already running"
            " (MERUNNING 301)", "succeeded: beta"])
        self.assertRunning("beta")

    def test_stopFailure(self):
        """
        vg.vx.stop stops the running VPSes and faults MESTOPPED naming the
        stopped one.
        """
        self.start("alpha")
        self.start("gamma")
        d = self.vg("stop")
        self.clock.advance(1)
        self.assertNoResult(d)
        self.clock.advance(1)
        fault = self.assertFault(MESTOPPED, d)
        self.assertEqual(fault.faultString, "vg.vx.stop g: 1 of 3 failed\n"
                         "beta: virtual server 'beta' is not running"
                         " (MESTOPPED 300)\nsucceeded: alpha, gamma")
        for name in self.names:
            self.assertRunning(name, False)

    def test_allFail(self):
        fault = self.assertFault(MESTOPPED, self.vg("restart"))
        self.assertEqual(fault.faultString.split("\n"), [
            "vg.vx.restart g: 3 of 3 failed"] + [
            "%s: virtual server %r is not running (MESTOPPED 300)"
            % (name, name) for name in self.names] + ["succeeded: none"])

    def test_rebootFailure(self):
        """
        vg.vx.reboot reboots the running VPSes (they come back through the
        hook) and faults naming the stopped one.
        """
        self.start("alpha")
        self.start("beta")
        fault = self.assertFault(MESTOPPED, self.vg("reboot"))
        self.assertEqual(fault.faultString, "vg.vx.reboot g: 1 of 3 failed\n"
                         "gamma: virtual server 'gamma' is not running"
                         " (MESTOPPED 300)\nsucceeded: alpha, beta")
        self.clock.advance(1)
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertRunning("beta")
        self.assertRunning("gamma", False)
        self.assertEqual(self.fake.stops, [("alpha", "reboot"),
                                           ("beta", "reboot")])
