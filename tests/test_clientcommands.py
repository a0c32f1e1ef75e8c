"""
Tests for the clients' commands as derived from the daemon's method
declarations (L{vcd.scripts._commands}, L{vcd.scripts._commandline}):
a command for every method, each run against the fake-kernel daemon with
its exit code, standard error and C{--json} shape; no command for a
method the daemon lacks; help, version, man page, completion, "did you
mean" and a closed pipe.
"""

import json

from twisted.trial import unittest

from tests.clientsamples import REAL_SAMPLES, SAMPLES, prepare
from tests.clientrunners import FakeClientMixin
from tests.fakedaemon import FakeDaemonMixin
from vcd.api.method import Method, Param
from vcd.api import arguments as A
from vcd.scripts import _commands, vcc, vcdadm, vce, vgc
from vcd.scripts._declarations import serverMethods

TOOLS = {tool.TOOL.prog: tool for tool in (vcc, vce, vcdadm, vgc)}
#: The namespace each tool offers, and the methods it offers beside it.
PREFIXES = {"vcc": "vx.", "vce": "vxdb.", "vcdadm": "vcd.", "vgc": "vg."}
OTHERS = {("vcc", "list"): "vxdb.list"}
#: Commands that are no single method call (vcc login attaches locally).
LOCAL = {("vcc", "login")}
#: What the JSON of a method's declared result type is.
JSON_TYPES = {"nil": type(None), "array": list, "struct": dict, "string": str,
              "int": int}
#: The JSON of the commands that print more than one call's result.
ACTION_JSON = {("vcc", "list"): list, ("vce", "list"): list,
               ("vgc", "list"): list, ("vcc", "exec"): dict,
               ("vcc", "login"): type(None)}


def allCommands():
    """
    Every (tool, command name, L{Command}) of the four clients.
    """
    return [(prog, name, command) for prog, tool in TOOLS.items()
            for name, command in tool.TOOL.commands.items()]


class DerivedTableTests(unittest.TestCase):
    """
    The commands are the daemon's methods: one for each method of a
    tool's namespace, none for a method the daemon lacks, with the
    method's parameters as arguments.
    """

    def test_aCommandForEveryMethod(self):
        """
        Every method the daemon serves (but the helper's, which vshelper
        calls) is a command of the tool of its namespace.
        """
        offered = {command.method for _, _, command in allCommands()}
        served = {name for name in serverMethods()
                  if not name.startswith("helper.")}
        self.assertEqual(served - offered, set())

    def test_noCommandWithoutMethod(self):
        """
        Every command calls a method the daemon serves, named as the
        method without the tool's prefix.
        """
        for prog, name, command in allCommands():
            if (prog, name) in LOCAL:
                continue
            self.assertIn(command.method, serverMethods(), (prog, name))
            expected = OTHERS.get((prog, name), PREFIXES[prog] + name)
            self.assertEqual(command.method, expected)

    def test_argumentsAreTheParameters(self):
        """
        A command's arguments are its method's parameters, each once.
        """
        for prog, name, command in allCommands():
            if (prog, name) in LOCAL:
                continue
            params = [p.name for p in serverMethods()[command.method].params]
            typed = [a.name for a in command.arguments]
            self.assertEqual(sorted(typed), sorted(params), (prog, name))

    def test_originalOrder(self):
        """
        The original's argument orders where they are not the method's.
        """
        usages = {(prog, name): command.usage()
                  for prog, name, command in allCommands()}
        self.assertEqual(usages[("vcdadm", "user.set")],
                         "user.set <username> <admin> [<password>]")
        self.assertEqual(usages[("vcc", "create")],
                         "create <name> <template> [<force> [<copy>"
                         " [<vdir>]]]")
        self.assertEqual(usages[("vcc", "kill")], "kill <name> <pid> <sig>")
        self.assertEqual(usages[("vce", "vx.limit.set")],
                         "vx.limit.set <name> <limit> <soft> [<max>]")

    def test_presentationOfMissingMethodRefused(self):
        """
        A client cannot offer a command for a method the daemon lacks:
        presenting one is an error, and so is another command naming one.
        """
        self.assertRaises(ValueError, _commands.deriveCommands, "vx.",
                          {"frobnicate": _commands.Presentation()})
        self.assertRaises(ValueError, _commands.deriveCommands, "vx.",
                          others={"nosuch": "vx.nosuchmethod"})

    def test_newMethodIsOffered(self):
        """
        A method the daemon gains is a command at once, with its
        parameters converted by their declared types.
        """
        table = dict(serverMethods())
        table["vx.limstatus"] = Method(
            "vx.limstatus", "INFO", "vps", [
                Param("name", A.vpsName()), Param("count", A.Int(), 3)],
            "array", "Limit status.", run=lambda call, args: None)
        commands = {c.name: c for c in _commands.deriveCommands(
            "vx.", methods=table)}
        self.assertEqual(commands["limstatus"].usage(),
                         "limstatus <name> [<count>]")
        self.assertEqual(commands["limstatus"].bind(
            {"name": "web1", "count": "7"}), {"name": "web1", "count": 7})

    def test_presentationMustNameParameters(self):
        self.assertRaises(ValueError, _commands.deriveCommands, "vx.",
                          {"kill": _commands.Presentation(
                              convert={"signal": _commands.plain(int)})})

    def test_everyCommandHasASample(self):
        """
        The sample table covers every command, so every command is run.
        """
        self.assertEqual(
            set(SAMPLES) | set(REAL_SAMPLES),
            {(prog, name) for prog, name, _ in allCommands()})


class SampleTests(FakeClientMixin, FakeDaemonMixin, unittest.TestCase):
    """
    Every command's sample against the fake-kernel daemon.
    """

    def check(self, prog, name, json_):
        words, code, errors = SAMPLES[(prog, name)]
        argv = [name] + words
        if json_:
            # After the command's words, but for a command whose last
            # words are another command's (vcc exec): those are its own.
            command = TOOLS[prog].TOOL.commands[name]
            rest = any(argument.rest for argument in command.arguments)
            argv.insert(1 if rest else len(argv), "--json")
        exit, out, err = self.runClient(TOOLS[prog], *argv)
        label = "%s %s" % (prog, " ".join(argv))
        self.assertEqual(exit, code, "%s: %r" % (label, err))
        if errors is None:
            self.assertEqual(err, "", label)
        else:
            for part in [errors] if isinstance(errors, str) else errors:
                self.assertIn(part, err, label)
        return exit, out, err

    def test_samples(self):
        """
        Each sample exits as expected with the expected messages.
        """
        for prog, name in sorted(SAMPLES):
            self.setUp()
            prepare(self.fake)
            self.check(prog, name, json_=False)

    def test_jsonShapes(self):
        """
        With C{--json} (after the command's words), each successful sample
        prints one JSON value of its method's declared result type.
        """
        for prog, name in sorted(SAMPLES):
            if SAMPLES[(prog, name)][1] != 0:
                continue
            self.setUp()
            prepare(self.fake)
            _, out, _ = self.check(prog, name, json_=True)
            command = TOOLS[prog].TOOL.commands[name]
            expected = ACTION_JSON.get((prog, name)) or JSON_TYPES[
                serverMethods()[command.method].returns]
            self.assertIsInstance(json.loads(out or "!"), expected,
                                  (prog, name, out))
