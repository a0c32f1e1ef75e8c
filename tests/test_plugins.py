"""
Third-party method namespaces: a module dropped into a C{vcd/methods}
directory on the plugin path is found at start-up, its methods are served
over HTTP with the same authentication, capability and owner checks as the
built-in ones, and broken drop-ins are reported by module name in
C{vcd.status} while everything else keeps working.
"""

import os
import sys
import textwrap

import vcd.methods
from twisted.internet import defer

from tests.harness import DaemonTestCase
from tests.test_vx_methods import VpsHelpers
from vcd.faults import MEAUTH, MEINVAL, MENOMETHOD, MENOVPS, MEPERM

PASSWORD = "user-secret-1"

THIRDPARTY = '''
"""
A third-party namespace, C{demo}.
"""

from zope.interface import implementer
from twisted.plugin import IPlugin

from vcd.interfaces import IMethodNamespace
from vcd.api.method import OWNER_NONE, OWNER_VPS, Method
from vcd.api.families import nameParam


def _echo(call, args):
    return {"name": args["name"], "xid": call.vps.xid,
            "caller": call.user.name}


def _count(call, cursor, args):
    (count,) = cursor.execute("SELECT COUNT(*) FROM xid_name_map").fetchone()
    return count


@implementer(IPlugin, IMethodNamespace)
class DemoNamespace:
    name = "demo"
    description = "A third-party namespace for the tests"
    methods = (
        Method("demo.echo", "INFO", OWNER_VPS, [nameParam()], "struct",
               "Echo the VPS and the caller.", run=_echo),
        Method("demo.count", "INFO", OWNER_NONE, [], "int",
               "Count the VPSes.", transaction=_count),
    )


demo = DemoNamespace()
'''

BROKEN = '''
raise RuntimeError("this drop-in is broken on purpose")
'''

NOTHING = '''
"""
A module in the plugin package that provides no namespace.
"""

from zope.interface import Interface, implementer
from twisted.plugin import IPlugin


class ISomethingElse(Interface):
    pass


@implementer(IPlugin, ISomethingElse)
class Other:
    pass


other = Other()
'''

INCOMPLETE = '''
"""
Claims to be a namespace but has no methods.
"""

from zope.interface import implementer
from twisted.plugin import IPlugin

from vcd.interfaces import IMethodNamespace


@implementer(IPlugin, IMethodNamespace)
class Incomplete:
    name = "incomplete"
    description = "No methods attribute"


incomplete = Incomplete()
'''


class PluginTests(VpsHelpers, DaemonTestCase):

    def install(self, **modules):
        """
        Write C{modules} (module name to source) into a C{vcd/methods}
        directory of the test's own, put it on the plugin package's path
        and restart the daemon so that it looks again.
        """
        directory = os.path.join(os.path.abspath(self.mktemp()), "vcd",
                                 "methods")
        os.makedirs(directory)
        for name, source in modules.items():
            with open(os.path.join(directory, name + ".py"), "w") as f:
                f.write(textwrap.dedent(source))
        saved = list(vcd.methods.__path__)
        vcd.methods.__path__.append(directory)

        def restore():
            vcd.methods.__path__[:] = saved
            for name in modules:
                sys.modules.pop("vcd.methods." + name, None)
        self.uninstall = restore
        self.addCleanup(restore)
        return self.restartDaemon()

    @defer.inlineCallbacks
    def test_builtinsHaveNoProblems(self):
        status = yield self.admin.call("vcd.status")
        self.assertEqual(status["plugin_problems"], [])
        self.assertEqual(self.daemon.parts.pluginProblems, [])

    @defer.inlineCallbacks
    def test_thirdPartyNamespace(self):
        yield self.install(thirdparty_ns=THIRDPARTY)
        methods = yield self.admin.callBare("system.listMethods")
        self.assertIn("demo.echo", methods)
        self.assertIn("demo.count", methods)
        self.assertIn("vx.create", methods)
        help = yield self.admin.call("system.methodHelp", _raw=("demo.echo",))
        self.assertIn("Capability: INFO; owner check: vps", help)
        self.assertEqual((yield self.admin.call("vcd.status"))
                         ["plugin_problems"], [])

        yield self.makeUser("owner", PASSWORD, caps=["INFO"])
        yield self.makeUser("other", PASSWORD, caps=["INFO"])
        yield self.makeUser("nocap", PASSWORD,
                            caps=["AUTH", "CREATE", "INIT"])
        yield self.makeVps("demo1", owner="owner")
        xid = yield self.admin.call("vxdb.xid.get", name="demo1")
        expected = {"name": "demo1", "xid": xid}

        self.assertEqual((yield self.client("owner", PASSWORD).call(
            "demo.echo", name="demo1")), dict(expected, caller="owner"))
        self.assertEqual((yield self.admin.call("demo.echo", name="demo1")),
                         dict(expected, caller="admin"))
        # Authentication, capability and owner checks apply.
        yield self.assertFault(MEAUTH, self.client("nosuch", PASSWORD).call(
            "demo.echo", name="demo1"))
        yield self.assertFault(MEAUTH, self.client("owner", "wrong-pass").call(
            "demo.echo", name="demo1"))
        yield self.assertFault(MEPERM, self.client("nocap", PASSWORD).call(
            "demo.echo", name="demo1"), "INFO")
        yield self.assertFault(MENOVPS, self.client("other", PASSWORD).call(
            "demo.echo", name="demo1"))
        yield self.assertFault(MENOVPS, self.admin.call("demo.echo",
                                                        name="nosuch"))
        # So do the argument declarations.
        yield self.assertFault(MEINVAL, self.admin.call("demo.echo"), "name")
        yield self.assertFault(MEINVAL, self.admin.call("demo.echo",
                                                        name="b d"))
        yield self.assertFault(MEINVAL, self.admin.call(
            "demo.echo", name="demo1", extra=1), "extra")
        # The transaction method.
        self.assertEqual((yield self.client("other", PASSWORD).call(
            "demo.count")), 1)
        yield self.assertFault(MEPERM, self.client("nocap", PASSWORD).call(
            "demo.count"))

    @defer.inlineCallbacks
    def test_goneAfterUninstall(self):
        """
        The namespace comes from the plugin path: without the directory, a
        restarted daemon has no demo methods.
        """
        yield self.install(thirdparty_ns=THIRDPARTY)
        self.assertIn("demo.echo", self.daemon.dispatcher.methods)
        yield self.stopDaemon()
        self.uninstall()
        yield self.startDaemon()
        self.assertNotIn("demo.echo", self.daemon.dispatcher.methods)
        yield self.assertFault(MENOMETHOD, self.admin.call(
            "demo.echo", name="demo1"))

    @defer.inlineCallbacks
    def test_brokenDropIns(self):
        """
        A module that fails to import, one that provides no namespace and
        one whose namespace is incomplete are each reported by module name;
        the other namespaces, built-in and third-party, keep working.
        """
        yield self.install(thirdparty_ns=THIRDPARTY, broken_ns=BROKEN,
                           nothing_ns=NOTHING, incomplete_ns=INCOMPLETE)
        # twisted.plugin logged the import error (once per look at the
        # plugin package).
        self.assertTrue(self.flushLoggedErrors(RuntimeError))
        status = yield self.admin.call("vcd.status")
        problems = status["plugin_problems"]
        self.assertEqual(problems, self.daemon.parts.pluginProblems)
        self.assertEqual(len(problems), 3, problems)
        joined = "\n".join(problems)
        for module, what in (("broken_ns", "failed to import"),
                             ("nothing_ns", "provides no IMethodNamespace"),
                             ("incomplete_ns",
                              "does not provide IMethodNamespace")):
            self.assertIn("vcd.methods.%s: %s" % (module, what), joined)
        self.assertNotIn("thirdparty_ns", joined)
        methods = yield self.admin.callBare("system.listMethods")
        self.assertIn("demo.echo", methods)
        self.assertFalse([m for m in methods if m.startswith("incomplete.")])
        yield self.makeVps("still1")
        self.assertEqual((yield self.admin.call("vxdb.list")), ["still1"])
        self.assertEqual(len((yield self.admin.call("vx.templates"))), 1)
        self.assertEqual((yield self.admin.call("demo.echo",
                                                name="still1"))["name"],
                         "still1")
