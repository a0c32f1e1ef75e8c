"""
The wire protocol (manual 9.x): paths, HTTP methods, headers, body cap,
malformed XML, the shape of the params, unknown methods, introspection,
NIL results and uint64 values; with each HTTP server the C{httpserver}
setting offers (L{vcd.api.resource}, L{vcd.api.httpchannel},
L{vcd.api.twistedsite}).
"""

import http.client
import socket
import xmlrpc.client

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.harness import ADMIN_PASSWORD, DaemonTestCase
from vcd.api.resource import SITES
from vcd.config import HTTP_SERVERS
from vcd.faults import MEAUTH, MEINVAL, MENOMETHOD, MENOVPS

AUTH = {"username": "admin", "password": ADMIN_PASSWORD}


class WireTestsMixin:
    """
    Requests made by hand over a real connection.

    @ivar httpServer: the C{httpserver} setting the daemon runs with.
    """

    def daemonArguments(self):
        return {}

    def startDaemon(self):
        self.config.httpServer = self.httpServer
        return DaemonTestCase.startDaemon(self)

    def test_serverKind(self):
        """
        The daemon serves with the HTTP server the setting names.
        """
        self.assertIsInstance(self.daemon.site, SITES[self.httpServer])

    def raw(self, body, path="/RPC2", method="POST", headers=None):
        """
        Send one raw HTTP request; fire with (status, headers, body).
        """
        def send():
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port.getHost().port, timeout=10)
            hdrs = {"Content-Type": "text/xml", "User-Agent": "test"}
            hdrs.update(headers or {})
            try:
                connection.request(method, path, body=body, headers=hdrs)
                response = connection.getresponse()
                return (response.status, dict(response.getheaders()),
                        response.read())
            finally:
                connection.close()
        return threads.deferToThread(send)

    def fault(self, body):
        """
        Fire with the (code, message) of the fault a body gets.
        """
        d = self.raw(body)

        def parse(result):
            status, headers, content = result
            self.assertEqual(status, 200)
            try:
                xmlrpc.client.loads(content)
            except xmlrpc.client.Fault as f:
                return f.faultCode, f.faultString
            self.fail("no fault for %r: %r" % (body, content))
        return d.addCallback(parse)

    @defer.inlineCallbacks
    def test_otherPathIs404(self):
        status, _, _ = yield self.raw(xmlrpc.client.dumps(
            (AUTH,), "vcd.login"), path="/RPC3")
        self.assertEqual(status, 404)
        status, _, _ = yield self.raw(xmlrpc.client.dumps(
            (AUTH,), "vcd.login"), path="/RPC2/x")
        self.assertEqual(status, 404)

    @defer.inlineCallbacks
    def test_getIs405(self):
        status, _, _ = yield self.raw(None, method="GET")
        self.assertEqual(status, 405)

    @defer.inlineCallbacks
    def test_headIs405(self):
        status, headers, content = yield self.raw(None, method="HEAD")
        self.assertEqual((status, headers["Allow"], content),
                         (405, "POST", b""))

    def test_postWithoutLengthIs411(self):
        def send():
            with socket.create_connection(
                    ("127.0.0.1", self.port.getHost().port), timeout=10) as s:
                s.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: text/xml\r\n\r\n")
                return s.makefile("rb").read()
        d = threads.deferToThread(send)
        d.addCallback(lambda answer: self.assertTrue(answer.startswith(
            b"HTTP/1.1 411 Length Required\r\n"), answer))
        return d

    @defer.inlineCallbacks
    def test_responseBytes(self):
        """
        A result is sent as the XML of xmlrpc.client (and of twisted.web's
        XMLRPC resource), in UTF-8, with its length.
        """
        status, headers, content = yield self.raw(
            xmlrpc.client.dumps((AUTH,), "vcd.login"))
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/xml; charset=utf-8")
        self.assertEqual(content, b"<?xml version='1.0'?>\n<methodResponse>\n"
                         b"<params>\n<param>\n<value><nil/></value></param>\n"
                         b"</params>\n</methodResponse>\n")
        status, headers, content = yield self.raw(xmlrpc.client.dumps(
            (AUTH, {"name": "nothere"}), "vxdb.xid.get"))
        self.assertEqual(content, xmlrpc.client.dumps(xmlrpc.client.Fault(
            MENOVPS, "virtual server 'nothere' does not exist"),
            methodresponse=True).encode("utf-8"))
        self.assertEqual(int(headers["Content-Length"]), len(content))

    @defer.inlineCallbacks
    def test_contentTypeRequired(self):
        body = xmlrpc.client.dumps((AUTH,), "vcd.login")
        status, _, _ = yield self.raw(body, headers={
            "Content-Type": "application/json"})
        self.assertEqual(status, 415)
        status, _, content = yield self.raw(body, headers={
            "Content-Type": "text/xml; charset=utf-8"})
        self.assertEqual(status, 200)
        self.assertEqual(xmlrpc.client.loads(content, use_builtin_types=True)[0],
                         (None,))

    @defer.inlineCallbacks
    def test_bodyOverCapRefusedBeforeParsing(self):
        self.daemon.site.maxBodySize = 4096
        body = "<" * 5000
        status, _, content = yield self.raw(body)
        self.assertEqual(status, 413)
        self.assertEqual(self.daemon.parts.counters.requests, 0)

    @defer.inlineCallbacks
    def test_malformedXml(self):
        code, message = yield self.fault("<methodCall><methodName>vcd.lo")
        self.assertEqual(code, MEINVAL)
        self.assertIn("malformed", message)

    @defer.inlineCallbacks
    def test_badMethodName(self):
        code, message = yield self.fault(
            "<?xml version='1.0'?><methodCall><methodName>vcd login!"
            "</methodName><params></params></methodCall>")
        self.assertEqual(code, MEINVAL)
        self.assertIn("method name", message)

    @defer.inlineCallbacks
    def test_missingOrBadFirstParam(self):
        code, message = yield self.fault(xmlrpc.client.dumps((), "vcd.login"))
        self.assertEqual(code, MEINVAL)
        self.assertIn("param 1", message)
        code, message = yield self.fault(xmlrpc.client.dumps(
            ("admin",), "vcd.login"))
        self.assertEqual(code, MEINVAL)

    @defer.inlineCallbacks
    def test_nonStructSecondParam(self):
        code, message = yield self.fault(xmlrpc.client.dumps(
            (AUTH, ["x"]), "vxdb.list"))
        self.assertEqual(code, MEINVAL)
        self.assertIn("param 2", message)

    @defer.inlineCallbacks
    def test_unknownMethod(self):
        code, message = yield self.fault(xmlrpc.client.dumps(
            (AUTH, {}), "vx.nosuchthing"))
        self.assertEqual(code, MENOMETHOD)
        self.assertIn("vx.nosuchthing", message)
        status = yield self.admin.call("vcd.status")
        self.assertEqual(status["nomethod"], 1)

    @defer.inlineCallbacks
    def test_unknownAndMissingMembers(self):
        code, message = yield self.fault(xmlrpc.client.dumps(
            (AUTH, {"nmae": "x"}), "vxdb.xid.get"))
        self.assertEqual(code, MEINVAL)
        self.assertIn("nmae", message)
        code, message = yield self.fault(xmlrpc.client.dumps(
            (AUTH, {}), "vxdb.xid.get"))
        self.assertEqual(code, MEINVAL)
        self.assertIn("'name'", message)
        code, message = yield self.fault(xmlrpc.client.dumps(
            (AUTH, {"name": 5}), "vxdb.xid.get"))
        self.assertEqual(code, MEINVAL)
        self.assertIn("must be a string", message)

    @defer.inlineCallbacks
    def test_nilResultAndNoSecondParam(self):
        status, headers, content = yield self.raw(
            xmlrpc.client.dumps((AUTH,), "vcd.login"))
        self.assertIn(b"<nil/>", content)
        self.assertEqual(int(headers["Content-Length"]), len(content))

    @defer.inlineCallbacks
    def test_wrongPasswordAndUnknownUserLookAlike(self):
        wrong = yield self.fault(xmlrpc.client.dumps(
            ({"username": "admin", "password": "nope-nope"},), "vcd.login"))
        unknown = yield self.fault(xmlrpc.client.dumps(
            ({"username": "ghost", "password": "nope-nope"},), "vcd.login"))
        self.assertEqual(wrong, unknown)
        self.assertEqual(wrong[0], MEAUTH)
        status = yield self.admin.call("vcd.status")
        self.assertEqual(status["flogins"], 2)

    @defer.inlineCallbacks
    def test_whirlpoolEncodedPassword(self):
        from vcd.vxdb.whirlpool import whirlpoolHex
        result = yield self.client(
            "admin", "WHIRLPOOLENC//" + whirlpoolHex(ADMIN_PASSWORD)).call(
                "vcd.login")
        self.assertIsNone(result)

    @defer.inlineCallbacks
    def test_introspection(self):
        methods = yield threads.deferToThread(
            lambda: xmlrpc.client.ServerProxy(self.url).system.listMethods())
        self.assertIn("vxdb.vx.cpuset.set", methods)
        self.assertIn("vx.create", methods)
        text = yield threads.deferToThread(
            lambda: xmlrpc.client.ServerProxy(self.url).system.methodHelp(
                "vx.create"))
        self.assertIn("CREATE", text)
        self.assertIn("rebuild", text)
        signature = yield threads.deferToThread(
            lambda: xmlrpc.client.ServerProxy(
                self.url).system.methodSignature("vxdb.xid.get"))
        self.assertEqual(signature, [["int", "struct", "struct"]])


class LeanWireTests(WireTestsMixin, DaemonTestCase):
    """
    The wire with the lean HTTP channel (the default).
    """

    httpServer = "lean"


class TwistedWireTests(WireTestsMixin, DaemonTestCase):
    """
    The wire with twisted.web's own HTTP server.
    """

    httpServer = "twisted"


class ServerKindsTests(unittest.TestCase):
    """
    The setting and the sites agree.
    """

    def test_everyKindHasASite(self):
        self.assertEqual(sorted(SITES), sorted(HTTP_SERVERS))
        self.assertEqual(set(HTTP_SERVERS), {
            LeanWireTests.httpServer, TwistedWireTests.httpServer})
