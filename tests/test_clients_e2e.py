"""
The command-line clients against a real daemon.
"""


from twisted.internet import defer

from tests.clientrunners import DaemonClientMixin
from tests.clientsamples import REAL_SAMPLES
from tests.harness import DaemonTestCase
from vcd.scripts import vcc, vcdadm, vce, vgc

TOOLS = {tool.TOOL.prog: tool for tool in (vcc, vce, vcdadm, vgc)}


class ClientsAgainstDaemonTests(DaemonClientMixin, DaemonTestCase):

    def run_(self, tool, *argv):
        return self.runClientThread(tool, *argv)

    @defer.inlineCallbacks
    def test_createConfigureList(self):
        code, out, err = yield self.run_(vcc, "templates")
        self.assertEqual(code, 0, err)
        self.assertIn("busybox", out)
        code, out, err = yield self.run_(vcc, "create", "cli1", "busybox")
        self.assertEqual(code, 0, err)
        code, out, err = yield self.run_(vce, "vx.limit.set", "cli1", "NOFILE",
                                         "1024")
        self.assertEqual(code, 0, err)
        code, out, err = yield self.run_(vce, "vx.limit.get", "cli1")
        self.assertEqual(code, 0, err)
        self.assertIn("NOFILE", out)
        self.assertIn("1024", out)
        code, out, err = yield self.run_(vgc, "add", "web", "cli1")
        self.assertEqual(code, 0, err)
        code, out, err = yield self.run_(vgc, "list", "web")
        self.assertEqual([line.split()[:2] for line in out.splitlines()],
                         [["NAME", "STATE"], ["cli1", "stopped"]])
        code, out, err = yield self.run_(vcc, "--json", "list")
        self.assertEqual(code, 0, err)
        self.assertIn('"cli1"', out)

    @defer.inlineCallbacks
    def test_faultsExitNonZero(self):
        code, out, err = yield self.run_(vcc, "remove", "nosuch")
        self.assertEqual(code, 1)
        self.assertIn("MENOVPS (202)", err)
        code, out, err = yield self.run_(vce, "vx.uname.set", "nosuch",
                                         "RELEASE", "x")
        self.assertEqual(code, 1)
        code, out, err = yield self.run_(vcdadm, "user.caps.add", "admin",
                                         "HELPER")
        self.assertEqual(code, 1)
        self.assertIn("MEPERM (101)", err)

    @defer.inlineCallbacks
    def test_realSamples(self):
        """
        The sample commands the fake daemon cannot serve (see
        L{tests.clientsamples}) exit as expected with the expected
        messages.
        """
        for (prog, name), (words, code, errors) in sorted(
                REAL_SAMPLES.items()):
            exit, out, err = yield self.run_(TOOLS[prog], name, *words)
            self.assertEqual(exit, code, (prog, name, err))
            if errors is None:
                self.assertEqual(err, "")
            for part in [errors] if isinstance(errors, str) else errors or ():
                self.assertIn(part, err)
