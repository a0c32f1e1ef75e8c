"""
Tests for C{vcc exec} (L{vcd.scripts._execution}): the argument vector
passes untouched, the command's output is the tool's and its exit status
the tool's; against the fake-kernel daemon, then a real VPS.
"""

import json

from twisted.internet import defer
from twisted.trial import unittest

from tests.clientrunners import DaemonClientMixin, FakeClientMixin
from tests.fakedaemon import FakeDaemonMixin
from tests.harness import DaemonTestCase
from tests.running import RunningHelpers
from vcd.scripts import vcc


class ExecFakeTests(FakeClientMixin, FakeDaemonMixin, unittest.TestCase):
    """
    vcc exec against the fake kernel's busybox.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.fake.addVps("web1")
        self.fake.call("vx.start", name="web1")

    def test_statusAndOutput(self):
        """
        The issue's example prints hi and exits 3.
        """
        code, out, err = self.runClient(vcc, "exec", "web1", "sh", "-c",
                                        "echo hi; exit 3")
        self.assertEqual((code, out, err), (3, "hi\n", ""))

    def test_wordsUntouched(self):
        code, out, err = self.runClient(vcc, "exec", "web1", "echo", "a  b",
                                        "it's", "$HOME;", "--json")
        self.assertEqual((code, out, err), (0, "a  b it's $HOME; --json\n",
                                            ""))

    def test_notFound(self):
        """
        A command the VPS lacks exits 127, as a shell's would, saying so.
        """
        code, out, err = self.runClient(vcc, "exec", "web1", "nosuch")
        self.assertEqual(code, 127)
        self.assertIn("not found", err)

    def test_signalled(self):
        """
        A command a signal ends exits 128 + the signal.
        """
        code, out, err = self.runClient(vcc, "exec", "web1", "sh", "-c",
                                        "echo x; kill -9 $$")
        self.assertEqual((code, out), (128 + 9, "x\n"))

    def test_cannotRun(self):
        """
        When the daemon cannot run the command at all, vcc exits 255 (as
        ssh does), out of the range of the command's own statuses.
        """
        self.fake.call("vx.stop", name="web1")
        self.clock.advance(60)
        code, out, err = self.runClient(vcc, "exec", "web1", "true")
        self.assertEqual((code, out), (255, ""))
        self.assertIn("MESTOPPED (300)", err)
        code, out, err = self.runClient(vcc, "exec", "web1")
        self.assertEqual(code, 2)
        self.assertIn("missing <command>", err)

    def test_json(self):
        code, out, err = self.runClient(vcc, "--json", "exec", "web1", "sh",
                                        "-c", "echo hi; exit 3")
        self.assertEqual(code, 3)
        result = json.loads(out)
        self.assertEqual((result["status"], result["output"]), (3, "hi\n"))


class ExecRunningTests(DaemonClientMixin, RunningHelpers, DaemonTestCase):
    """
    vcc exec in a real busybox VPS through a real daemon.
    """

    def vcc(self, *argv):
        return self.runClientThread(vcc, *argv)

    @defer.inlineCallbacks
    def test_quotingAndStatus(self):
        name = yield self.newVps(start=True)
        result = yield self.vcc("exec", name, "sh", "-c", "echo hi; exit 3")
        self.assertEqual(result, (3, "hi\n", ""))
        result = yield self.vcc("exec", name, "printf", "[%s]", "a  b",
                                "it's", "$HOME", "")
        self.assertEqual(result, (0, "[a  b][it's][$HOME][]", ""))
        result = yield self.vcc("exec", name, "sh", "-c", "kill -TERM $$")
        self.assertEqual(result[:2], (128 + 15, ""))
