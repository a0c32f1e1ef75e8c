"""
The dispatcher (L{vcd.api.dispatch.Dispatcher}) with the built-in
namespaces, on the fake daemon of L{tests.fakedaemon}: authentication and
its counters, capabilities, owner rules, the shape of the params, unknown
methods, introspection, synchronous answers; and one request through the
HTTP site (L{vcd.api.resource.makeSite}) on a
L{twisted.internet.testing.StringTransport}. No root, no sockets.

The oracles (fault codes from the manual's 9.3, the methods' capabilities
and signatures from its Part V) are written out here.
"""

import sqlite3
import xmlrpc.client

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from tests.fakedaemon import (ADMIN_PASSWORD, FakeDaemon, FakeDaemonMixin,
                              scratchDirectory)
from vcd.api.dispatch import Dispatcher
from vcd.api.loginthrottle import LoginThrottle
from vcd.api.method import OWNER_NONE, Method
from vcd.api.resource import makeSite
from vcd.faults import VCDFault

MEAUTH = 100
MEPERM = 101
MEINVAL = 200
MENOVPS = 202
MEVXDB = 400
MESYS = 500
MENOMETHOD = -506

ADMIN = {"username": "admin", "password": ADMIN_PASSWORD}


class DispatchTestCase(FakeDaemonMixin, unittest.TestCase):
    """
    A fake daemon with VPS C{alpha} owned by admin, user C{bob} (INIT and
    INFO) owning VPS C{bobs}, and user C{carl} without capabilities.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.alpha = self.fake.addVps("alpha")
        self.fake.addUser("bob", "bob-pw", caps=["INIT", "INFO"])
        self.fake.addUser("carl", "carl-pw")
        self.bobs = self.fake.addVps("bobs", owner="bob")

    def counters(self):
        return self.answer(self.fake.call("vcd.status"))

    def raw(self, method, *params):
        """
        Dispatch raw params; fire with the answer.
        """
        return defer.maybeDeferred(self.fake.dispatch, method, params)


class AuthenticationTests(DispatchTestCase):

    def test_good(self):
        self.assertIsNone(self.answer(self.fake.call("vcd.login")))
        self.assertIsNone(self.answer(self.fake.call(
            "vcd.login", "bob", "bob-pw")))

    def test_wrongPasswordAndUnknownUserLookAlike(self):
        wrong = self.assertFault(MEAUTH, self.fake.call(
            "vcd.login", "admin", "nope"))
        unknown = self.assertFault(MEAUTH, self.fake.call(
            "vcd.login", "nobody", "nope"))
        self.assertEqual(wrong.faultString, unknown.faultString)
        self.assertNotIn("nobody", unknown.faultString)

    def test_lockedPasswordOfTheSeed(self):
        """
        A user whose password was never set (a fresh VXDB's seed) cannot
        log in, whatever is sent.
        """
        fresh = FakeDaemon(scratchDirectory(self), adminPassword=None)
        self.addCleanup(fresh.close)
        for password in ("", "!", "*", "x", ADMIN_PASSWORD,
                         "WHIRLPOOLENC//!", "WHIRLPOOLENC//"):
            answer = fresh.call("vcd.login", "admin", password)
            # Past the login throttle's allowance, failures come late.
            fresh.clock.advance(LoginThrottle.addressDelayCap)
            self.assertFault(MEAUTH, answer)

    def test_encodedPassword(self):
        """
        A client may send C{WHIRLPOOLENC//} and the Whirlpool digest (ISO
        test vector of "abc") instead of the password.
        """
        self.fake.addUser("erin", "abc")
        digest = ("4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303"
                  "d97e6d4c7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582"
                  "d225292076d4eef5")
        self.assertIsNone(self.answer(self.fake.call(
            "vcd.login", "erin", "WHIRLPOOLENC//" + digest)))
        self.assertIsNone(self.answer(self.fake.call(
            "vcd.login", "erin", "WHIRLPOOLENC//" + digest.upper())))
        self.assertFault(MEAUTH, self.fake.call(
            "vcd.login", "erin", "WHIRLPOOLENC//" + "0" * 128))

    def test_failuresCounted(self):
        """
        vcd.status counts requests, failed logins and faults.
        """
        for username in ("admin", "nobody", "bob"):
            self.fake.call("vcd.login", username, "wrong")
        self.fake.call("vx.nosuch")
        self.answer(self.fake.call("vcd.login"))
        status = self.counters()
        self.assertEqual((status["requests"], status["flogins"],
                          status["nomethod"], status["faults"]),
                         (6, 3, 1, 4))

    def test_authenticationBeforeOtherChecks(self):
        """
        A wrong password is MEAUTH whatever else is wrong with the call
        (missing capability, VPS not found).
        """
        self.assertFault(MEAUTH, self.fake.call("vx.status", "carl", "no",
                                                name="alpha"))
        self.assertFault(MEAUTH, self.fake.call("vx.status", "bob", "no",
                                                name="nosuch"))


class CapabilityTests(DispatchTestCase):

    def test_missingCapability(self):
        for method, args, cap in (
                ("vx.start", {"name": "alpha"}, "INIT"),
                ("vx.exec", {"name": "alpha", "command": "true"}, "EXEC"),
                ("vx.create", {"name": "new", "template": "x"}, "CREATE"),
                ("vcd.status", {}, "INFO"),
                ("vcd.user.get", {}, "AUTH"),
                ("vxdb.init.get", {"name": "alpha"}, "INIT"),
                ("helper.shutdown", {"xid": self.alpha}, "HELPER")):
            fault = self.assertFault(MEPERM, self.fake.call(
                method, "carl", "carl-pw", **args))
            self.assertIn(cap, fault.faultString)
        self.assertRunning("alpha", False)

    def test_noCapabilityNeeded(self):
        self.assertIsNone(self.answer(self.fake.call(
            "vcd.login", "carl", "carl-pw")))
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.list", "carl", "carl-pw")), [])

    def test_capabilityBeforeOwner(self):
        """
        Without the capability, an unknown VPS is MEPERM too.
        """
        self.assertFault(MEPERM, self.fake.call("vx.start", "carl",
                                                "carl-pw", name="nosuch"))

    def test_adminLacksHelper(self):
        self.assertFault(MEPERM, self.fake.call("helper.restart",
                                                xid=self.alpha))


class OwnerTests(DispatchTestCase):

    def test_ownerPasses(self):
        self.answer(self.fake.call("vx.start", "bob", "bob-pw", name="bobs"))
        self.assertRunning("bobs")

    def test_othersVpsLooksMissing(self):
        """
        A VPS the caller does not own is MENOVPS, as one that does not
        exist.
        """
        notOwned = self.assertFault(MENOVPS, self.fake.call(
            "vx.start", "bob", "bob-pw", name="alpha"))
        missing = self.assertFault(MENOVPS, self.fake.call(
            "vx.start", "bob", "bob-pw", name="gamma"))
        self.assertEqual(notOwned.faultString.replace("alpha", "gamma"),
                         missing.faultString)
        self.assertRunning("alpha", False)

    def test_adminPassesEverywhere(self):
        self.answer(self.fake.call("vx.start", name="bobs"))
        self.assertRunning("bobs")

    def test_ownerAdded(self):
        self.answer(self.fake.call("vxdb.owner.add", name="alpha",
                                   username="bob"))
        self.answer(self.fake.call("vx.start", "bob", "bob-pw", name="alpha"))
        self.assertRunning("alpha")

    def test_existsRule(self):
        """
        vxdb.xid.get only needs the VPS to exist (INFO, no ownership).
        """
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.xid.get", "bob", "bob-pw", name="alpha")), self.alpha)
        self.assertFault(MENOVPS, self.fake.call(
            "vxdb.xid.get", "bob", "bob-pw", name="gamma"))

    def test_createRule(self):
        """
        Only an admin may create a VPS that does not exist; anyone else
        must own the one they rebuild.
        """
        self.fake.addUser("fred", "fred-pw", caps=["CREATE"])
        self.assertFault(MENOVPS, self.fake.call(
            "vx.create", "fred", "fred-pw", name="newvps",
            template="busybox"))
        self.assertFault(MENOVPS, self.fake.call(
            "vx.create", "fred", "fred-pw", name="alpha",
            template="busybox", force=True))

    def test_listShowsOwn(self):
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.list", "bob", "bob-pw")), ["bobs"])
        self.assertEqual(sorted(self.answer(self.fake.call("vxdb.list"))),
                         ["alpha", "bobs"])


class ParamShapeTests(DispatchTestCase):
    """
    The two params: the struct {username, password}, then the argument
    struct.
    """

    def assertInvalid(self, d, contains=None):
        return self.assertFault(MEINVAL, d, contains)

    def test_noParams(self):
        self.assertInvalid(self.raw("vcd.login"))

    def test_authNotAStruct(self):
        self.assertInvalid(self.raw("vcd.login", "admin"))
        self.assertInvalid(self.raw("vcd.login", ["admin", ADMIN_PASSWORD]))

    def test_authMembers(self):
        self.assertInvalid(self.raw("vcd.login", {"username": "admin"}))
        self.assertInvalid(self.raw("vcd.login", {"username": "admin",
                                                  "password": 5}))
        self.assertInvalid(self.raw("vcd.login", dict(ADMIN, extra="x")),
                           "extra")

    def test_threeParams(self):
        self.assertInvalid(self.raw("vx.status", ADMIN, {"name": "alpha"},
                                    {}))

    def test_argumentsNotAStruct(self):
        self.assertInvalid(self.raw("vx.status", ADMIN, ["alpha"]))
        self.assertInvalid(self.raw("vx.status", ADMIN, "alpha"))

    def test_unknownMember(self):
        self.assertInvalid(self.fake.call("vx.status", name="alpha",
                                          colour="red"), "colour")

    def test_missingMember(self):
        self.assertInvalid(self.raw("vx.status", ADMIN, {}), "name")
        self.assertInvalid(self.raw("vx.status", ADMIN), "name")

    def test_wrongTypes(self):
        self.assertInvalid(self.fake.call("vx.status", name=5), "name")
        self.assertInvalid(self.fake.call("vx.status", name="a b c"),
                           "name")
        self.assertInvalid(self.fake.call("vx.kill", name="alpha", pid="1",
                                          sig=9), "pid")

    def test_argumentsOfMethodWithout(self):
        """
        A method without arguments accepts an empty struct, or an empty
        string or array (the original's vcdadm, PHP), and nothing else.
        """
        self.assertIsNone(self.answer(self.raw("vcd.login", ADMIN, {})))
        self.assertIsNone(self.answer(self.raw("vcd.login", ADMIN, "")))
        self.assertIsNone(self.answer(self.raw("vcd.login", ADMIN, [])))
        self.assertInvalid(self.raw("vcd.login", ADMIN, "x"), "param 2")
        self.assertInvalid(self.raw("vcd.login", ADMIN, [{}]), "param 2")
        self.assertInvalid(self.raw("vcd.login", ADMIN, {"name": "alpha"}),
                           "name")


class UnknownMethodTests(DispatchTestCase):

    def test_unknown(self):
        for method in ("vx.nosuch", "nosuch", "system.nosuch", "vx.start.x"):
            fault = self.assertFault(MENOMETHOD, self.fake.call(
                method, name="alpha"))
            self.assertIn(method, fault.faultString)
        self.assertEqual(self.counters()["nomethod"], 4)

    def test_beforeAuthentication(self):
        self.assertFault(MENOMETHOD, self.fake.call("vx.nosuch", "admin",
                                                    "wrong"))
        self.assertEqual(self.counters()["flogins"], 0)


class IntrospectionTests(DispatchTestCase):

    def test_listMethods(self):
        names = self.fake.dispatch("system.listMethods", ())
        self.assertEqual(names, sorted(names))
        for name in ("system.listMethods", "system.methodHelp",
                     "system.methodSignature", "helper.netup",
                     "helper.restart", "helper.shutdown", "helper.startup",
                     "vcd.login", "vcd.status", "vcd.user.set", "vx.create",
                     "vx.exec", "vx.kill", "vx.load", "vx.reboot",
                     "vx.remove", "vx.rename", "vx.restart", "vx.start",
                     "vx.status", "vx.stop", "vxdb.init.get", "vxdb.init.set",
                     "vxdb.xid.get", "vxdb.name.get", "vxdb.owner.add"):
            self.assertIn(name, names)
        self.assertEqual(len(names), len(set(names)))

    def test_signature(self):
        for name, returns in (("vx.start", "nil"), ("vx.stop", "string"),
                              ("vx.exec", "string"), ("vx.status", "struct"),
                              ("vxdb.xid.get", "int"),
                              ("vxdb.owner.get", "array")):
            self.assertEqual(self.fake.dispatch("system.methodSignature",
                                                (name,)),
                             [[returns, "struct", "struct"]], name)

    def test_help(self):
        text = self.fake.dispatch("system.methodHelp", ("vx.exec",))
        self.assertIn("EXEC", text)
        self.assertIn("command", text)

    def test_badIntrospection(self):
        self.assertFault(MENOMETHOD, self.raw("system.methodHelp",
                                              "vx.nosuch"))
        self.assertFault(MEINVAL, self.raw("system.methodHelp"))
        self.assertFault(MEINVAL, self.raw("system.methodSignature", 5))
        self.assertFault(MEINVAL, self.raw("system.methodHelp", ADMIN,
                                           "vx.exec"))


class SynchronousTests(DispatchTestCase):
    """
    A read-only call is answered without a Deferred.
    """

    def test_readOnlyResult(self):
        result = self.fake.dispatch("vxdb.xid.get", (ADMIN,
                                                     {"name": "bobs"}))
        self.assertNotIsInstance(result, defer.Deferred)
        self.assertEqual(result, self.bobs)

    def test_readOnlyFault(self):
        result = self.fake.dispatch("vxdb.xid.get", (ADMIN,
                                                     {"name": "gamma"}))
        self.assertIsInstance(result, VCDFault)
        self.assertEqual(result.faultCode, MENOVPS)

    def test_authenticationFault(self):
        result = self.fake.dispatch("vcd.login", ({"username": "admin",
                                                   "password": "x"},))
        self.assertIsInstance(result, VCDFault)
        self.assertEqual(result.faultCode, MEAUTH)

    def test_writeIsDeferred(self):
        result = self.fake.dispatch("vxdb.init.set", (ADMIN, {
            "name": "alpha", "timeout": 9}))
        self.assertIsInstance(result, defer.Deferred)
        self.assertTrue(self.successResultOf(result).startswith(
            "applies at the next start"))
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.init.get", name="alpha"))["timeout"], 9)


def _boom(call, args):
    raise ZeroDivisionError("secret detail")


def _badSql(call, cursor, args):
    cursor.execute("INSERT INTO nosuchtable VALUES (1)")


class InternalErrorTests(DispatchTestCase):
    """
    An unexpected exception in a method is MESYS, a database error MEVXDB;
    both are logged.
    """

    def setUp(self):
        DispatchTestCase.setUp(self)
        methods = dict(self.fake.dispatcher.methods)
        methods["test.boom"] = Method("test.boom", None, OWNER_NONE, [],
                                      "nil", "Fails.", run=_boom)
        methods["test.sql"] = Method("test.sql", None, OWNER_NONE, [],
                                     "nil", "Bad SQL.", transaction=_badSql)
        self.dispatcher = Dispatcher(methods, self.fake.services)

    def test_unexpected(self):
        result = self.dispatcher.dispatch("test.boom", (ADMIN,), "here")
        self.assertEqual(result.faultCode, MESYS)
        self.assertNotIn("secret detail", result.faultString)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_database(self):
        result = self.successResultOf(self.dispatcher.dispatch(
            "test.sql", (ADMIN,), "here"))
        self.assertEqual(result.faultCode, MEVXDB)
        self.assertEqual(len(self.flushLoggedErrors(sqlite3.Error)), 1)


class WireTests(DispatchTestCase):
    """
    Requests through the HTTP site on a StringTransport.
    """

    def send(self, method, params):
        """
        Open a connection to the site and send one XML-RPC request.

        @return: the transport (what the site wrote is its C{value()}).
        """
        body = xmlrpc.client.dumps(params, method).encode("utf-8")
        site = makeSite(self.fake.dispatcher, 1024 * 1024, self.clock)
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        protocol = site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        protocol.makeConnection(transport)
        self.addCleanup(protocol.connectionLost, None)
        protocol.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: text/xml\r\nUser-Agent: test\r\n"
            b"Content-Length: %d\r\n\r\n" % (len(body),) + body)
        return transport

    def response(self, transport):
        """
        @return: the status line, the headers (a dict, lower-case names)
            and the body of the response the site wrote.
        """
        head, _, content = transport.value().partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.assertEqual(int(headers["content-length"]), len(content))
        return lines[0], headers, content

    def test_result(self):
        status, headers, content = self.response(self.send(
            "vxdb.xid.get", (ADMIN, {"name": "bobs"})))
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers["content-type"], "text/xml; charset=utf-8")
        self.assertEqual(xmlrpc.client.loads(content), ((self.bobs,), None))

    def test_nil(self):
        _, _, content = self.response(self.send("vcd.login", (ADMIN,)))
        self.assertIn(b"<nil/>", content)
        self.assertEqual(xmlrpc.client.loads(content), ((None,), None))

    def test_fault(self):
        status, _, content = self.response(self.send(
            "vcd.login", ({"username": "admin", "password": "wrong"},)))
        self.assertEqual(status, "HTTP/1.1 200 OK")
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            xmlrpc.client.loads(content)
        self.assertEqual(caught.exception.faultCode, MEAUTH)
        self.assertEqual(caught.exception.faultString, "unauthorized")

    def test_deferredResult(self):
        """
        A call answered later (a stop waiting for the VPS) is written once
        it is done.
        """
        self.answer(self.fake.call("vx.start", name="alpha"))
        transport = self.send("vx.stop", (ADMIN, {"name": "alpha"}))
        self.assertEqual(transport.value(), b"")
        self.clock.advance(1)
        _, _, content = self.response(transport)
        self.assertEqual(xmlrpc.client.loads(content), (("",), None))
