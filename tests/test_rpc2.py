"""
Tests for L{vcd.api.resource.RPC2}: how a call's result or fault is written,
now or later, and dropped for a client that went away; with each HTTP server
of L{vcd.api.resource.SITES}, on a fake transport.
"""

import xmlrpc.client

from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest

from vcd.api.resource import Root, RPC2, SITES
from vcd.faults import MEINVAL, MESYS, VCDFault


class FakeDispatcher:
    """
    Answers every call with the next of C{answers}, recording the calls.
    """

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def dispatch(self, methodName, params, clientAddress):
        self.calls.append((methodName, params, str(clientAddress)))
        return self.answers.pop(0)


def expectedBody(result):
    """
    The response body for C{result}, as the standard library writes it
    (and as twisted.web's XMLRPC resource wrote it).
    """
    if not isinstance(result, xmlrpc.client.Fault):
        result = (result,)
    return xmlrpc.client.dumps(result, methodresponse=True,
                               allow_none=True).encode("utf-8")


def call(methodName="vx.status", params=({"username": "a"},)):
    body = xmlrpc.client.dumps(params, methodName).encode("utf-8")
    return (b"POST /RPC2 HTTP/1.1\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


class RPC2Mixin:
    """
    L{RPC2} served by the site class C{siteFactory}.
    """

    def connect(self, *answers):
        self.dispatcher = FakeDispatcher(*answers)
        site = self.siteFactory(Root(RPC2(self.dispatcher)), 4096, Clock())
        channel = site.buildProtocol(None)
        transport = StringTransport()
        channel.makeConnection(transport)
        return channel, transport

    def body(self, transport):
        """
        The body of the one response in C{transport}, checking its
        headers.
        """
        head, _, body = transport.value().partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"\r\nContent-Type: text/xml; charset=utf-8", head)
        self.assertIn(b"\r\nContent-Length: %d" % (len(body),), head)
        return body

    def test_resultNow(self):
        channel, transport = self.connect({"name": "v\u00e9", "xid": None})
        channel.dataReceived(call(params=({"username": "a"}, {"n": 5})))
        self.assertEqual(self.body(transport),
                         expectedBody({"name": "v\u00e9", "xid": None}))
        self.assertEqual(self.dispatcher.calls[0][:2],
                         ("vx.status", ({"username": "a"}, {"n": 5})))

    def test_faultNow(self):
        fault = VCDFault(202, "virtual server 'x' does not exist")
        channel, transport = self.connect(fault)
        channel.dataReceived(call())
        self.assertEqual(self.body(transport), expectedBody(fault))

    def test_resultLater(self):
        d = defer.Deferred()
        channel, transport = self.connect(d)
        channel.dataReceived(call())
        self.assertEqual(transport.value(), b"")
        d.callback(["a", "b"])
        self.assertEqual(self.body(transport), expectedBody(["a", "b"]))

    def test_clientGoneBeforeResult(self):
        """
        A result that comes after the client went away is dropped, without
        an error.
        """
        d = defer.Deferred()
        channel, transport = self.connect(d)
        channel.dataReceived(call())
        channel.connectionLost(Failure(ConnectionDone()))
        d.callback(7)
        outcome = []
        d.addBoth(outcome.append)
        self.assertEqual(outcome, [None])
        self.assertEqual(transport.value(), b"")

    def test_unexpectedFailureLater(self):
        d = defer.Deferred()
        channel, transport = self.connect(d)
        channel.dataReceived(call())
        d.errback(ZeroDivisionError())
        self.assertEqual(self.body(transport), expectedBody(
            xmlrpc.client.Fault(MESYS, "internal error")))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_resultThatCannotBeEncoded(self):
        """
        A result XML-RPC cannot carry (an int over 32 bits) becomes MESYS.
        """
        channel, transport = self.connect(2 ** 40)
        channel.dataReceived(call())
        fault = self.assertRaises(xmlrpc.client.Fault, xmlrpc.client.loads,
                                  self.body(transport))
        self.assertEqual(fault.faultCode, MESYS)
        self.assertIn("cannot be encoded", fault.faultString)
        self.assertEqual(len(self.flushLoggedErrors(OverflowError)), 1)

    def test_malformedAndBadName(self):
        channel, transport = self.connect()
        channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\nContent-Type: text/xml"
                             b"\r\nContent-Length: 5\r\n\r\n<a><b")
        fault = self.assertRaises(xmlrpc.client.Fault, xmlrpc.client.loads,
                                  self.body(transport))
        self.assertEqual(fault.faultCode, MEINVAL)
        channel, transport = self.connect()
        channel.dataReceived(call("bad name!"))
        self.assertEqual(self.body(transport), expectedBody(
            xmlrpc.client.Fault(MEINVAL, "method name must be 1-256"
                                " characters of [A-Za-z0-9_.:/]")))
        self.assertEqual(self.dispatcher.calls, [])

    def test_methodsAndPaths(self):
        """
        Only POST, only at C{/RPC2}; the wrong Content-Type is 415.
        """
        for raw, status in (
                (b"GET /RPC2 HTTP/1.1\r\n\r\n", 405),
                (b"HEAD /RPC2 HTTP/1.1\r\n\r\n", 405),
                (b"GET /RPC2/x HTTP/1.1\r\n\r\n", 404),
                (call().replace(b"/RPC2", b"/RPC2/x"), 404),
                (call().replace(b"text/xml", b"text/plain"), 415)):
            channel, transport = self.connect()
            channel.dataReceived(raw)
            self.assertTrue(transport.value().startswith(
                b"HTTP/1.1 %d " % (status,)), (raw, transport.value()))
            if status == 405:
                self.assertIn(b"\r\nAllow: POST\r\n", transport.value())
        self.assertEqual(self.dispatcher.calls, [])


class LeanRPC2Tests(RPC2Mixin, unittest.TestCase):
    siteFactory = SITES["lean"]


class TwistedRPC2Tests(RPC2Mixin, unittest.TestCase):
    siteFactory = SITES["twisted"]
