"""
Tests for how the clients behave as command-line tools
(L{vcd.scripts._commandline}, L{vcd.scripts._listing}): "did you mean",
C{--json} anywhere, C{--version}, tables for listings, a closed pipe,
the manual pages and the bash completion; vxpasswd's and vshelper's help.
"""

import configparser
import io
import json
import os
import shlex
import subprocess
import sys

from twisted.trial import unittest

from tests.clientrunners import FakeClientMixin
from tests.fakedaemon import FakeDaemonMixin
from vcd.scripts import vcc, vcdadm, vce, vgc, vshelper, vxpasswd

TOOLS = (vcc, vce, vcdadm, vgc)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def packageVersion():
    """
    The version setup.cfg gives the package.
    """
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    return parser["metadata"]["version"]


class LineTests(FakeClientMixin, FakeDaemonMixin, unittest.TestCase):
    """
    Typos, options anywhere, the version.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.fake.addVps("web1")

    def test_didYouMean(self):
        for tool, argv, meant in [
                (vcc, ["strat", "web1"], "did you mean start"),
                (vce, ["vx.limit.sett", "web1"], "did you mean vx.limit.set"),
                (vcdadm, ["user.caps.gte", "bob"], "user.caps.get"),
                (vce, ["vx.bcaps.add", "web1", "CHWON"],
                 "<bcap>: unknown system capability 'CHWON'; did you mean"
                 " CHOWN?"),
                (vcdadm, ["user.caps.add", "bob", "inof"], "did you mean INFO"),
                (vcc, ["--jsno", "list"], "did you mean --json"),
                (vcc, ["list", "--jsno"], "did you mean --json")]:
            code, out, err = self.runClient(tool, *argv)
            self.assertEqual((code, out), (2, ""), argv)
            self.assertIn(meant, err, argv)
            self.assertLess(len(err.splitlines()), 4, err)
            self.assertEqual(self.transport.calls, [])

    def test_jsonAnywhere(self):
        """
        C{--json} and the connection options may stand before the
        command, after it, or between its arguments.
        """
        outputs = []
        for argv in (["--json", "status", "web1"], ["status", "web1", "--json"],
                     ["status", "--json", "web1"],
                     ["-u", "admin", "status", "--json", "-u", "admin",
                      "web1"]):
            code, out, err = self.runClient(vcc, *argv)
            self.assertEqual((code, err), (0, ""), argv)
            outputs.append(json.loads(out))
        self.assertEqual(outputs[0]["running"], False)
        self.assertEqual(outputs[1:], outputs[:1] * 3)

    def test_version(self):
        for tool in TOOLS:
            code, out, err = self.runClient(tool, "--version")
            self.assertEqual((code, out, err), (0, "%s (vcd) %s\n" % (
                tool.TOOL.prog, packageVersion()), ""))

    def test_commandHelp(self):
        code, out, err = self.runClient(vce, "vx.limit.set", "--help")
        self.assertEqual((code, err), (0, ""))
        self.assertIn("vce [options] vx.limit.set <name> <limit> <soft>"
                      " [<max>]", out)
        self.assertIn("Hard limit", out)
        self.assertEqual(self.transport.calls, [])

    def test_noCommand(self):
        code, out, err = self.runClient(vgc)
        self.assertEqual((code, out), (2, ""))
        self.assertIn("no command given", err)


class TableTests(FakeClientMixin, FakeDaemonMixin, unittest.TestCase):
    """
    Listings print tables; a query that fails shows '-'.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.fake.addVps("web1")
        self.fake.addVps("db1")
        self.fake.call("vx.start", name="web1")
        self.fake.call("vxdb.nx.addr.set", name="web1", addr="198.18.4.13",
                       netmask="24")
        self.fake.call("vg.add", group="web", name="web1")

    def lines(self, tool, *argv, user=None, password=None):
        kwargs = {"user": user}
        if password:
            kwargs["password"] = password
        code, out, err = self.runClient(tool, *argv, **kwargs)
        self.assertEqual((code, err), (0, ""))
        return [line.split() for line in out.splitlines()]

    def test_vccList(self):
        self.assertEqual(self.lines(vcc, "list"), [
            ["NAME", "STATE", "KIND", "XID", "UPTIME", "ADDRESSES", "OWNERS"],
            ["db1", "stopped", "unprivileged", "3", "0", "admin"],
            ["web1", "running", "unprivileged", "2", "0", "198.18.4.13/24",
             "admin"]])

    def test_failingQueryShowsDash(self):
        """
        An owner without the INIT and AUTH capabilities cannot read
        vx.status and vxdb.owner.get: state, uptime and owners show '-',
        the rest is there.
        """
        self.fake.addUser("bob", "bob-password-1", caps=["INFO", "NET"])
        self.fake.call("vxdb.owner.add", name="web1", username="bob")
        rows = self.lines(vcc, "list", user="bob", password="bob-password-1")
        self.assertEqual(rows, [
            ["NAME", "STATE", "KIND", "XID", "UPTIME", "ADDRESSES", "OWNERS"],
            ["web1", "-", "-", "2", "-", "198.18.4.13/24", "-"]])

    def test_listJSON(self):
        """
        C{vcc list --json} is an array of row structs; what could not be
        read is null.
        """
        self.fake.addUser("bob", "bob-password-1", caps=["INFO", "NET"])
        self.fake.call("vxdb.owner.add", name="web1", username="bob")
        code, out, err = self.runClient(vcc, "list", "--json", user="bob",
                                        password="bob-password-1")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(json.loads(out), [
            {"name": "web1", "state": None, "kind": None, "uptime": None,
             "xid": 2, "addresses": ["198.18.4.13/24"], "owners": None}])

    def test_vgcTables(self):
        self.assertEqual(self.lines(vgc, "list"), [
            ["GROUP", "VPSES"], ["onboot"], ["web", "web1"]])
        self.assertEqual(self.lines(vgc, "list", "web")[1][:2],
                         ["web1", "running"])
        self.assertEqual(self.lines(vgc, "vx.restart", "web"), [
            ["NAME", "RESULT"], ["web1", "ok"]])

    def test_nestedStructsSpelledOut(self):
        """
        vcdadm hostinfo prints nested structs as dotted keys, not JSON.
        """
        code, out, err = self.runClient(vcdadm, "hostinfo")
        self.assertIn("knobs.limit.accepted.NPROC: ", out)
        self.assertNotIn("{", out)


def runTool(module, *argv, stdout=subprocess.PIPE):
    """
    Run a tool's module in a new Python process.
    """
    return subprocess.run([sys.executable, "-m", module] + list(argv),
                          stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)


class ProcessTests(unittest.TestCase):
    """
    The tools as processes: a closed pipe, man pages, completion.
    """

    def test_closedPipe(self):
        """
        Output into a pipe nobody reads (C{vcc ... | head -1} once head
        is gone) ends quietly: no traceback, exit 141 (128 + SIGPIPE).
        """
        reading, writing = os.pipe()
        os.close(reading)
        try:
            result = runTool("vcd.scripts.vce", "--help", stdout=writing)
        finally:
            os.close(writing)
        self.assertEqual((result.returncode, result.stderr), (141, b""))

    def test_manPages(self):
        """
        Every tool's --man is roff that groff formats without a warning,
        with every command in it.
        """
        for module, tool in [("vcd.scripts." + t.TOOL.prog, t)
                             for t in TOOLS] + [
                ("vcd.scripts.vxpasswd", None),
                ("vcd.scripts.vshelper", None)]:
            page = runTool(module, "--man")
            self.assertEqual(page.returncode, 0, page.stderr)
            text = subprocess.run(
                ["groff", "-man", "-Tutf8", "-ww", "-P-cbou"],
                input=page.stdout, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(text.stderr, b"", module)
            rendered = text.stdout.decode()
            self.assertIn("SYNOPSIS", rendered)
            for command in (tool.TOOL.commands if tool else ()):
                self.assertIn(command, rendered)

    def complete(self, tool, *words, listing=""):
        """
        Run C{tool}'s completion script in bash on C{words} (the last is
        the word completed), with a stand-in for the tool that prints
        C{listing} and writes its arguments to a file.

        @return: C{(completions, the stand-in's argument lines)}.
        """
        script = runTool("vcd.scripts." + tool, "--completion").stdout
        calls = self.mktemp()
        open(calls, "w").close()
        completed = subprocess.run(
            ["bash", "-c", script.decode() +
             "\n%s() { echo \"$*\" >> \"$CALLS\"; printf %%s %s; }\n"
             "COMP_WORDS=(%s)\nCOMP_CWORD=%d\n_%s_complete\n"
             "echo ${COMPREPLY[@]}" % (
                 tool, shlex.quote(listing),
                 " ".join(shlex.quote(w) for w in (tool,) + words),
                 len(words), tool)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
            env=dict(os.environ, CALLS=calls))
        self.assertEqual(completed.stderr, b"")
        with open(calls) as f:
            return sorted(completed.stdout.decode().split()), f.read().split(
                "\n")[:-1]

    def test_bashCompletion(self):
        """
        Commands and options are completed from the parser.
        """
        self.assertEqual(self.complete("vcc", "-H", "h", "st"),
                         (["start", "status", "stop"], []))
        self.assertEqual(self.complete("vce", "vx.limit.s")[0],
                         ["vx.limit.set"])
        self.assertEqual(self.complete("vgc", "list", "--j")[0], ["--json"])

    def test_bashCompletionOfNames(self):
        """
        Where a command takes a VPS name, the names come from the tool's
        list, run with the connection options typed.
        """
        listing = "NAME  STATE\nweb1  running\nweb2  stopped\ndb1  -\n"
        self.assertEqual(
            self.complete("vcc", "-H", "h", "start", "w", listing=listing),
            (["web1", "web2"], ["-H h list"]))
        self.assertEqual(
            self.complete("vce", "vx.limit.set", "", listing=listing)[0],
            ["db1", "web1", "web2"])
        # Not for other arguments, nor for a template's name.
        self.assertEqual(self.complete("vcc", "rename", "web1", "",
                                       listing=listing), ([], []))
        self.assertEqual(self.complete("vcc", "templates", "",
                                       listing=listing), ([], []))


class LocalToolTests(unittest.TestCase):
    """
    vxpasswd and vshelper explain themselves.
    """

    def test_vxpasswdHelp(self):
        out = io.StringIO()
        self.assertEqual(vxpasswd.main(["--help"], stdout=out), 0)
        self.assertIn("usage: vxpasswd <vxdb file> <username> [<password>]",
                      out.getvalue())

    def test_vshelperHelpIsPlain(self):
        out = io.StringIO()
        self.assertEqual(vshelper.main(["--help"], stdout=out), 0)
        self.assertIn("LXC_TARGET", out.getvalue())
        for markup in ("C{", "L{", "I{", "@param"):
            self.assertNotIn(markup, out.getvalue())

    def test_vshelperUsage(self):
        err = io.StringIO()
        self.assertEqual(vshelper.main(["bogus", "3"], stderr=err), 2)
        self.assertIn("invalid choice", err.getvalue())
