"""
Tests for the command-line clients (vcc, vce, vcdadm, vgc) against a small
recording XML-RPC server started in a thread.
"""

import io
import json
import socket
import threading
import xmlrpc.client
import xmlrpc.server

from twisted.trial import unittest

import vcd.methods
from vcd.api.dispatch import collectMethods
from vcd.api.namespaces import loadNamespaces
from vcd.scripts import _clientsettings, vcc, vcdadm, vce, vgc

PASSWORD = "secret-password"
CREDENTIALS = {"username": "admin", "password": PASSWORD}


class RecordingServer:
    """
    An XML-RPC server that records each (method, params) and answers from
    C{responses}: a value, or an C{xmlrpc.client.Fault} to raise.
    """

    def __init__(self):
        self.calls = []
        self.responses = {}
        self.server = xmlrpc.server.SimpleXMLRPCServer(
            ("127.0.0.1", 0), allow_none=True, logRequests=False)
        self.server.register_instance(self)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def _dispatch(self, method, params):
        self.calls.append((method, list(params)))
        response = self.responses.get(method)
        if isinstance(response, xmlrpc.client.Fault):
            raise response
        return response

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class ClientTestCase(unittest.TestCase):
    """
    Runs tools against a fresh L{RecordingServer}, with no default config
    file and the password in the environment.
    """

    def setUp(self):
        self.server = RecordingServer()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.patch(_clientsettings, "CONFIG_PATHS", ())

    def run_tool(self, tool, *argv, environ=None, stdin=None, address=True):
        """
        Run C{tool.main}; return (exit code, stdout text, stderr text).
        """
        if environ is None:
            environ = {"VCC_PASSWORD": PASSWORD}
        if address:
            argv = ("-H", "127.0.0.1", "-p", str(self.server.port)) + argv
        out, err = io.StringIO(), io.StringIO()
        code = tool.main(list(argv), stdout=out, stderr=err,
                         stdin=stdin or io.StringIO(), environ=environ)
        return code, out.getvalue(), err.getvalue()

    def writeConfig(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path


#: (tool, argv, method, argument struct): a sample of every tool and every
#: argument kind (string, optional string, int, bool, uint64, the rest of
#: the line); an optional argument left out is not sent (the daemon applies
#: the method's default).
CALLS = [
    (vcc, ["create", "web1", "debian"], "vx.create",
     {"name": "web1", "template": "debian"}),
    (vcc, ["create", "web1", "debian", "yes", "0", "/srv/web1"], "vx.create",
     {"name": "web1", "template": "debian", "force": True, "copy": False,
      "vdir": "/srv/web1"}),
    (vcc, ["create", "web1", "debian", "False", "TRUE"], "vx.create",
     {"name": "web1", "template": "debian", "force": False, "copy": True}),
    (vcc, ["remove", "web1"], "vx.remove", {"name": "web1"}),
    (vcc, ["rename", "web1", "web2"], "vx.rename",
     {"name": "web1", "newname": "web2"}),
    (vcc, ["templates"], "vx.templates", {}),
    (vcc, ["templates", "debian"], "vx.templates", {"name": "debian"}),
    (vcc, ["list"], "vxdb.list", {}),
    (vcc, ["list", "bob"], "vxdb.list", {"username": "bob"}),
    (vcc, ["start", "web1"], "vx.start", {"name": "web1"}),
    (vcc, ["status", "web1"], "vx.status", {"name": "web1"}),
    (vcc, ["exec", "web1", "ls", "-l", "/tmp"], "vx.exec",
     {"name": "web1", "command": "ls -l /tmp"}),
    (vcc, ["kill", "web1", "0", "15"], "vx.kill",
     {"name": "web1", "pid": 0, "sig": 15}),
    (vce, ["list"], "vxdb.list", {}),
    (vce, ["vx.limit.set", "web1", "RSS", "1000", "2000"], "vxdb.vx.limit.set",
     {"name": "web1", "limit": "RSS", "soft": "1000", "max": "2000"}),
    (vce, ["vx.limit.set", "web1", "RSS", "1000"], "vxdb.vx.limit.set",
     {"name": "web1", "limit": "RSS", "soft": "1000"}),
    (vce, ["vx.limit.get", "web1"], "vxdb.vx.limit.get",
     {"name": "web1"}),
    (vce, ["vx.limit.remove", "web1", "NPROC"], "vxdb.vx.limit.remove",
     {"name": "web1", "limit": "NPROC"}),
    (vce, ["dx.limit.set", "web1", "18446744073709551615", "5000", "5"],
     "vxdb.dx.limit.set", {"name": "web1", "space": "18446744073709551615",
                           "inodes": "5000", "reserved": 5}),
    (vce, ["init.set", "web1", "/sbin/init", "/sbin/halt", "/sbin/reboot"],
     "vxdb.init.set", {"name": "web1", "init": "/sbin/init",
                       "halt": "/sbin/halt", "reboot": "/sbin/reboot"}),
    (vce, ["mount.set", "web1", "none", "/tmp", "tmpfs"], "vxdb.mount.set",
     {"name": "web1", "src": "none", "dst": "/tmp", "type": "tmpfs"}),
    (vce, ["mount.get", "web1"], "vxdb.mount.get", {"name": "web1"}),
    (vce, ["nx.addr.set", "web1", "10.0.0.2"], "vxdb.nx.addr.set",
     {"name": "web1", "addr": "10.0.0.2"}),
    (vce, ["nx.broadcast.set", "web1", "10.0.0.255"], "vxdb.nx.broadcast.set",
     {"name": "web1", "broadcast": "10.0.0.255"}),
    (vce, ["vx.bcaps.add", "web1", "CHOWN"], "vxdb.vx.bcaps.add",
     {"name": "web1", "bcap": "CHOWN"}),
    (vce, ["vx.flags.get", "web1"], "vxdb.vx.flags.get", {"name": "web1"}),
    (vce, ["vx.cpuset.set", "web1", "0-3", "0", "yes"], "vxdb.vx.cpuset.set",
     {"name": "web1", "cpus": "0-3", "mems": "0", "virtualize": True}),
    (vce, ["vx.sched.get", "web1"], "vxdb.vx.sched.get",
     {"name": "web1"}),
    (vce, ["vx.sched.set", "web1", "-1", "10", "5", "0", "0", "1", "100"],
     "vxdb.vx.sched.set",
     {"name": "web1", "cpuid": -1, "interval": 10, "fillrate": 5,
      "interval2": 0, "fillrate2": 0, "tokensmin": 1, "tokensmax": 100}),
    (vce, ["vx.uname.set", "web1", "NODENAME", "web1.example"],
     "vxdb.vx.uname.set",
     {"name": "web1", "uname": "NODENAME", "value": "web1.example"}),
    (vce, ["owner.remove", "web1"], "vxdb.owner.remove", {"name": "web1"}),
    (vce, ["name.get", "42"], "vxdb.name.get", {"xid": 42}),
    (vce, ["vdir.get", "web1"], "vxdb.vdir.get", {"name": "web1"}),
    (vcdadm, ["hostinfo"], "vcd.hostinfo", {}),
    (vcdadm, ["user.set", "bob", "1"], "vcd.user.set",
     {"username": "bob", "admin": True}),
    (vcdadm, ["user.set", "bob", "no", "longpassword"], "vcd.user.set",
     {"username": "bob", "admin": False, "password": "longpassword"}),
    (vcdadm, ["user.get"], "vcd.user.get", {}),
    (vcdadm, ["user.caps.remove", "bob", "INFO"], "vcd.user.caps.remove",
     {"username": "bob", "cap": "INFO"}),
    (vgc, ["add", "onboot", "web1"], "vg.add",
     {"group": "onboot", "name": "web1"}),
    (vgc, ["remove", "onboot"], "vg.remove", {"group": "onboot"}),
    (vgc, ["list"], "vg.list", {}),
    (vgc, ["vx.restart", "onboot"], "vg.vx.restart", {"group": "onboot"}),
]


class CallTests(ClientTestCase):
    """
    Each subcommand calls its method with the credentials and the right
    argument struct.
    """

    def test_calls(self):
        for tool, argv, method, arguments in CALLS:
            del self.server.calls[:]
            code, out, err = self.run_tool(tool, *argv)
            label = "%s %s" % (tool.TOOL.prog, " ".join(argv))
            self.assertEqual((code, err), (0, ""), label)
            self.assertEqual(self.server.calls,
                             [(method, [CREDENTIALS, arguments])], label)

    def test_everyCommandHasAMethodOrAction(self):
        """
        The tables are well formed: a method or an action and a help line.
        """
        for tool in (vcc, vce, vcdadm, vgc):
            for command in tool.TOOL.commands.values():
                self.assertTrue(command.method or command.action, command.name)
                self.assertTrue(command.help, command.name)

    def test_vceMethodsFollowSubcommands(self):
        for command in vce.TOOL.commands.values():
            self.assertEqual(command.method, "vxdb." + command.name)


class DaemonMethodsTests(unittest.TestCase):
    """
    The clients offer only what the daemon serves: every command's method
    is in the method table the daemon builds from its namespace plugins,
    and every argument a command sends is a member that method accepts.
    """

    TOOLS = (vcc, vce, vcdadm, vgc)
    #: The methods the commands with an action (not a single call) call.
    ACTION_METHODS = {("vcc", "login"): ["vx.status", "vcd.hostinfo"]}

    def setUp(self):
        namespaces, problems = loadNamespaces(vcd.methods)
        self.assertEqual(problems, [])
        self.table = collectMethods(namespaces)

    def test_everyMethodIsServed(self):
        missing = []
        for tool in self.TOOLS:
            for command in tool.TOOL.commands.values():
                methods = ([command.method] if command.method else
                           self.ACTION_METHODS[(tool.TOOL.prog,
                                                command.name)])
                missing += ["%s %s: %s" % (tool.TOOL.prog, command.name,
                                           method)
                            for method in methods if method not in
                            self.table]
        self.assertEqual(missing, [])

    def test_everyArgumentIsAccepted(self):
        unknown = []
        for tool in self.TOOLS:
            for command in tool.TOOL.commands.values():
                method = self.table.get(command.method)
                if method is None:
                    continue
                members = ({p.name for p in method.params} |
                           set(method.aliases))
                unknown += ["%s %s: <%s> is no argument of %s"
                            % (tool.TOOL.prog, command.name, argument.name,
                               method.name)
                            for argument in command.arguments
                            if argument.name not in members]
        self.assertEqual(unknown, [])


class SettingsTests(ClientTestCase):
    """
    Config file, options, environment and prompt.
    """

    def config(self, password="from-config"):
        return self.writeConfig(
            "[vcc]\nhost = 127.0.0.1\nport = %d\nuser = carol\npass = %s\n"
            % (self.server.port, password))

    def assertLogsInAs(self, credentials, *argv, environ=None, stdin=None):
        """
        C{vcdadm <argv> login} succeeds, sending C{credentials}.
        """
        code, _, _ = self.run_tool(vcdadm, *(argv + ("login",)),
                                   address=False, environ=environ or {},
                                   stdin=stdin)
        self.assertEqual(code, 0)
        self.assertEqual(self.server.calls, [("vcd.login", [credentials, {}])])

    def test_environmentBeatsConfig(self):
        self.assertLogsInAs({"username": "carol", "password": "from-env"},
                            "-c", self.config(),
                            environ={"VCC_PASSWORD": "from-env"})

    def test_configPassword(self):
        self.assertLogsInAs({"username": "carol", "password": "from-config"},
                            "-c", self.config())

    def test_defaultConfigPathAndUserOption(self):
        """
        Without C{-c} the first existing default path is read; C{-u}
        overrides its user.
        """
        self.patch(_clientsettings, "CONFIG_PATHS",
                   (self.mktemp(), self.config()))
        self.assertLogsInAs({"username": "dave", "password": "from-config"},
                            "-u", "dave")

    def test_noPasswordWithoutTerminal(self):
        code, out, err = self.run_tool(vcdadm, "login", environ={})
        self.assertEqual(code, 2)
        self.assertIn("VCC_PASSWORD", err)
        self.assertEqual(self.server.calls, [])

    def test_promptOnTerminal(self):
        class Terminal(io.StringIO):
            def isatty(self):
                return True
        prompts = []

        def fakeGetpass(prompt, stream=None):
            prompts.append(prompt)
            return "typed"
        self.patch(_clientsettings.getpass, "getpass", fakeGetpass)
        self.assertLogsInAs({"username": "admin", "password": "typed"},
                            "-H", "127.0.0.1", "-p", str(self.server.port),
                            stdin=Terminal())
        self.assertEqual(prompts, ["Password for admin@127.0.0.1: "])

    def test_missingConfigFile(self):
        code, _, err = self.run_tool(vcc, "-c", self.mktemp(), "start", "x")
        self.assertEqual(code, 2)
        self.assertIn("cannot read configuration", err)


class OutputTests(ClientTestCase):
    """
    Results are printed as tables, lines, key: value pairs or JSON.
    """

    LIMITS = [{"limit": "RSS", "soft": "1000", "max": "2000"},
              {"limit": "NPROC", "soft": "50", "max": "100"}]

    def test_table(self):
        self.server.responses["vxdb.vx.limit.get"] = self.LIMITS
        code, out, _ = self.run_tool(vce, "vx.limit.get", "web1")
        self.assertEqual(code, 0)
        self.assertEqual(out, "LIMIT  SOFT  MAX\n"
                              "RSS    1000  2000\n"
                              "NPROC  50    100\n")

    def test_json(self):
        self.server.responses["vxdb.vx.limit.get"] = self.LIMITS
        code, out, _ = self.run_tool(vce, "--json", "vx.limit.get", "web1")
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out), self.LIMITS)

    def test_jsonNil(self):
        code, out, _ = self.run_tool(vcc, "--json", "start", "web1")
        self.assertEqual((code, out), (0, "null\n"))

    def test_strings(self):
        self.server.responses["vxdb.vx.bcaps.get"] = ["web1", "web2"]
        code, out, _ = self.run_tool(vce, "vx.bcaps.get", "web1")
        self.assertEqual((code, out), (0, "web1\nweb2\n"))

    def test_struct(self):
        self.server.responses["vx.status"] = {"running": True, "uptime": 42}
        code, out, _ = self.run_tool(vcc, "status", "web1")
        self.assertEqual((code, out), (0, "running: true\nuptime: 42\n"))

    def test_nil(self):
        code, out, err = self.run_tool(vcc, "start", "web1")
        self.assertEqual((code, out, err), (0, "start web1: done\n", ""))

    def test_string(self):
        self.server.responses["vx.exec"] = "total 0\n"
        code, out, _ = self.run_tool(vcc, "exec", "web1", "ls")
        self.assertEqual((code, out), (0, "total 0\n"))


class ErrorTests(ClientTestCase):
    """
    Faults exit 1, usage and connection errors exit 2.
    """

    def test_fault(self):
        self.server.responses["vx.start"] = xmlrpc.client.Fault(
            202, "no such vps: web9")
        code, out, err = self.run_tool(vcc, "start", "web9")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "MENOVPS (202): no such vps: web9\n")

    def test_execFaultCode(self):
        """
        vcc exec exits with the status the MEEXEC fault carries, and
        prints the output the fault's message carries.
        """
        self.server.responses["vx.exec"] = xmlrpc.client.Fault(
            1001, "'false' exited with status 1; output: no\n")
        code, out, err = self.run_tool(vcc, "exec", "web1", "false")
        self.assertEqual((code, out, err), (1, "no\n", ""))

    def test_usageErrors(self):
        for argv in (["vx.limit.set", "web1", "RSS"],
                     ["vx.limit.set", "web1", "RSS", "-5"],
                     ["vx.sched.get", "web1", "x"],
                     ["vx.cpuset.set", "web1", "0", "0", "maybe"],
                     ["xid.get", "web1", "extra"],
                     ["no.such.command"],
                     ["--bogus", "list"],
                     []):
            code, out, err = self.run_tool(vce, *argv)
            self.assertEqual(code, 2, argv)
            self.assertTrue(err.startswith("vce: "), (argv, err))
            self.assertIn("--help", err, argv)
        self.assertEqual(self.server.calls, [])

    def test_badPort(self):
        code, _, err = self.run_tool(vgc, "-p", "http", "list", address=False)
        self.assertEqual(code, 2)
        self.assertIn("invalid port", err)

    def test_connectionRefused(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        code, _, err = self.run_tool(vgc, "-H", "127.0.0.1", "-p", str(port),
                                     "list", address=False)
        self.assertEqual(code, 2)
        self.assertIn("cannot connect to http://127.0.0.1:%d/RPC2" % port, err)

    def test_loginAttachesLocally(self):
        """
        C{vcc login} checks the VPS with the daemon, then runs lxc-attach
        with the daemon's lxcpath.
        """
        self.server.responses["vx.status"] = {"running": True}
        self.server.responses["vcd.hostinfo"] = {"lxcpath": "/d/lxc"}
        ran = []
        self.patch(vcc.os, "execvp", lambda f, argv: ran.append(argv))
        code, _, err = self.run_tool(vcc, "login", "web1")
        self.assertEqual(code, 0, err)
        self.assertEqual(ran[0][:5], ["lxc-attach", "-P", "/d/lxc", "-n",
                                      "web1"])
        self.assertEqual(self.server.calls[0][0], "vx.status")

    def test_loginRefusesStoppedAndRemote(self):
        self.server.responses["vx.status"] = {"running": False}
        code, _, err = self.run_tool(vcc, "login", "web1")
        self.assertEqual(code, 1)
        self.assertIn("not running", err)
        code, _, err = self.run_tool(vcc, "-H", "192.0.2.1", "login", "web1",
                                     address=False)
        self.assertEqual(code, 2)
        self.assertIn("own host", err)


class HelpTests(ClientTestCase):
    """
    C{-h} lists every subcommand; C{<command> -h} shows one.
    """

    def test_help(self):
        for tool in (vcc, vce, vcdadm, vgc):
            code, out, _ = self.run_tool(tool, "-h")
            self.assertEqual(code, 0)
            for name, command in tool.TOOL.commands.items():
                self.assertIn("  " + command.usage(), out)
                self.assertIn(command.help, " ".join(out.split()))

    def test_commandHelp(self):
        code, out, _ = self.run_tool(vcc, "create", "--help")
        self.assertEqual(code, 0)
        self.assertIn(
            "vcc [options] create <name> <template> [<force> [<copy> "
            "[<vdir>]]]", out)
        self.assertEqual(self.server.calls, [])
