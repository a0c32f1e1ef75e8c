"""
Tests for L{vcd.api.httpchannel} (the lean HTTP/1.1 channel serving a
twisted.web resource tree) and L{vcd.api.twistedsite} (twisted.web's own
server with the same limits): what a client sees over a real socket, run
against both; the lean channel's internals on a fake transport.
"""

import socket

from twisted.internet import reactor, threads
from twisted.internet.defer import gatherResults
from twisted.trial import unittest
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python.failure import Failure
from twisted.web import resource, server

from vcd.api.httpchannel import LeanSite
from vcd.api.twistedsite import CappedSite


class Echo(resource.Resource):
    """
    POST echoes the body; a request whose body says "later" is answered
    after a delay (NOT_DONE_YET).
    """

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return b"get-body"

    def render_POST(self, request):
        body = request.content.read()
        request.setHeader(b"content-type", b"text/plain")
        if body == b"later":
            reactor.callLater(0.05, lambda: (request.write(b"done"),
                                             request.finish()))
            return server.NOT_DONE_YET
        return b"echo:" + body


class HTTPBehaviourMixin:
    """
    What a client sees of a site serving L{Echo} at C{/RPC2}, with a body
    cap of 1000 bytes and an idle timeout of half a second.

    @ivar siteFactory: the site class under test, called with (root,
        maxBodySize, reactor).
    @ivar lean: whether it is the lean channel (for the differences
        twisted.web's own server has, asserted as such).
    """

    def setUp(self):
        root = resource.Resource()
        root.putChild(b"RPC2", Echo())
        self.site = self.siteFactory(root, maxBodySize=1000, reactor=reactor)
        self.site.timeOut = 0.5
        self.port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    def exchange(self, data, shutdown=False):
        """
        Send raw bytes; fire with everything the server sent until it
        closed the connection.
        """
        def run():
            s = socket.create_connection(
                ("127.0.0.1", self.port.getHost().port), timeout=5)
            try:
                s.sendall(data)
                if shutdown:
                    s.shutdown(socket.SHUT_WR)
                chunks = []
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return b"".join(chunks)
                    chunks.append(chunk)
            finally:
                s.close()
        return threads.deferToThread(run)

    def post(self, body, extra=b"", version=b"HTTP/1.1"):
        return (b"POST /RPC2 " + version + b"\r\nHost: x\r\n"
                b"Content-Type: text/xml\r\nContent-Length: %d\r\n%s\r\n%s"
                % (len(body), extra, body))

    def test_closeAfterResponse(self):
        d = self.exchange(self.post(b"hi", b"Connection: close\r\n"))

        def check(data):
            self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"))
            self.assertIn(b"Content-Length: 7\r\n", data)
            self.assertIn(b"Connection: close\r\n", data)
            self.assertTrue(data.endswith(b"\r\n\r\necho:hi"))
        return d.addCallback(check)

    def test_keepAliveAndPipelining(self):
        """
        Pipelined requests are answered in order on one connection, even
        when the first is answered later; the idle timeout closes it. The
        lean channel says C{Connection: keep-alive}; twisted.web says
        nothing (persistence is HTTP/1.1's default) and sends a body
        written without a length in chunks.
        """
        d = self.exchange(self.post(b"later") + self.post(b"two"))

        def check(data):
            self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2)
            self.assertLess(data.index(b"done"), data.index(b"echo:two"))
            if self.lean:
                self.assertEqual(data.count(b"Connection: keep-alive"), 2)
            else:
                self.assertNotIn(b"Connection:", data)
                self.assertIn(b"Transfer-Encoding: chunked\r\n\r\n"
                              b"4\r\ndone\r\n0\r\n\r\n", data)
        return d.addCallback(check)

    def test_expectContinue(self):
        """
        A client that sends its headers with C{Expect: 100-continue} and
        waits is told to go on, then answered.
        """
        def run():
            s = socket.create_connection(
                ("127.0.0.1", self.port.getHost().port), timeout=5)
            try:
                s.sendall(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 2\r\n"
                          b"Expect: 100-continue\r\nConnection: close\r\n"
                          b"\r\n")
                interim = s.recv(100)
                s.sendall(b"hi")
                rest = b""
                while True:
                    chunk = s.recv(1000)
                    if not chunk:
                        return interim, rest
                    rest += chunk
            finally:
                s.close()

        def check(result):
            interim, rest = result
            self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
            self.assertTrue(rest.endswith(b"echo:hi"), rest)
        return threads.deferToThread(run).addCallback(check)

    def test_manyPipelinedRequests(self):
        """
        Thousands of pipelined requests are all answered, in order, without
        recursion.
        """
        count = 2000
        data = b"".join(self.post(b"%d" % i) for i in range(count))
        d = self.exchange(data + self.post(b"end", b"Connection: close\r\n"))

        def check(answer):
            self.assertEqual(answer.count(b"HTTP/1.1 200 OK"), count + 1)
            self.assertIn(b"echo:1999", answer)
            self.assertTrue(answer.endswith(b"echo:end"))
        return d.addCallback(check)

    def test_headHasNoBody(self):
        """
        HEAD is answered by render_GET: the length of its body, not the
        body.
        """
        d = self.exchange(b"HEAD /RPC2 HTTP/1.1\r\nConnection: close\r\n\r\n")

        def check(answer):
            self.assertTrue(answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
            self.assertIn(b"Content-Length: 8\r\n", answer)
            self.assertTrue(answer.endswith(b"\r\n\r\n"), answer)
        return d.addCallback(check)

    def test_http10ClosesByDefault(self):
        """
        An HTTP/1.0 request is answered and the connection closed. The lean
        channel answers in HTTP/1.1 and says C{Connection: close};
        twisted.web answers in the client's version and says nothing.
        """
        d = self.exchange(self.post(b"x", version=b"HTTP/1.0"))

        def check(data):
            self.assertTrue(data.endswith(b"\r\n\r\necho:x"), data)
            if self.lean:
                self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"))
                self.assertIn(b"Connection: close\r\n", data)
            else:
                self.assertTrue(data.startswith(b"HTTP/1.0 200 OK\r\n"))
                self.assertNotIn(b"Connection:", data)
        return d.addCallback(check)

    def assertStatus(self, data, status):
        self.assertTrue(data.startswith(b"HTTP/1.1 %d " % (status,)), data)

    def test_refusals(self):
        """
        Requests that are refused, and the status each gets (the
        connection is closed after each). Where twisted.web differs: it
        drops the connection without an answer for headers too large (431
        from the lean channel) and answers 501 for a method it does not know
        (PUT; 405 from the lean channel, as for a method the resource does
        not render).
        """
        cases = [
            (self.post(b"x" * 1001), 413),
            (b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n", 411),
            (b"POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"2\r\nhi\r\n0\r\n\r\n", 411),
            (b"POST /RPC2 HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
            (b"GARBAGE\r\n\r\n", 400),
            (b"POST /RPC2 HTTP/1.1\r\nno colon here\r\n\r\n", 400),
            (b"POST /RPC2 HTTP/1.1\r\nContent-Length: 1\r\n"
             b"Content-Length: 2\r\n\r\nab", 400),
            (b"POST /RPC2 HTTP/1.1\r\nX: " + b"a" * 20000,
             431 if self.lean else None),
            (self.post(b"x", b"Connection: close\r\n").replace(
                b"POST", b"PUT"), 405 if self.lean else 501),
            (self.post(b"x", b"Connection: close\r\n").replace(
                b"/RPC2", b"/other"), 404),
        ]
        deferreds = [self.exchange(raw) for raw, _ in cases]

        def check(answers):
            got = [answer[:13] if answer else None for answer in answers]
            expected = [b"HTTP/1.1 %d " % (status,) if status else None
                        for _, status in cases]
            self.assertEqual(got, expected)
        return gatherResults(deferreds).addCallback(check)

    def test_bodyCapBeforeContinue(self):
        """
        A client that waits for C{100 Continue} before sending a body over
        the cap is refused instead, and not told to go on.
        """
        d = self.exchange(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 99999\r\n"
                          b"Expect: 100-continue\r\n\r\n")

        def check(answer):
            self.assertStatus(answer, 413)
            self.assertNotIn(b"100 Continue", answer)
        return d.addCallback(check)

    def test_halfClose(self):
        """
        The lean channel answers a client that half-closed its side after
        its request. twisted.web's channel does not handle half-closes: the
        connection is lost, with any answer not yet sent.
        """
        if not self.lean:
            channel = self.site.buildProtocol(None)
            self.assertFalse(IHalfCloseableProtocol.providedBy(channel))
            return
        d = self.exchange(self.post(b"hi"), shutdown=True)
        return d.addCallback(lambda data: self.assertTrue(
            data.endswith(b"\r\n\r\necho:hi"), data))

    def test_bodyCapCheckedBeforeReading(self):
        """
        A Content-Length over the cap is refused without waiting for the
        body.
        """
        d = self.exchange(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 99999\r\n"
                          b"\r\nonly a little")
        return d.addCallback(self.assertStatus, 413)


class LeanHTTPTests(HTTPBehaviourMixin, unittest.TestCase):
    """
    The lean channel, L{LeanSite}.
    """

    siteFactory = LeanSite
    lean = True


class TwistedHTTPTests(HTTPBehaviourMixin, unittest.TestCase):
    """
    twisted.web's server, L{CappedSite}.
    """

    siteFactory = CappedSite
    lean = False


class ClockedBehaviourMixin:
    """
    A site on a fake transport and clock, its resource at C{/RPC2} holding
    every request unanswered in C{self.held}.

    @ivar siteFactory: as in L{HTTPBehaviourMixin}.
    """

    def setUp(self):
        from twisted.internet.task import Clock
        from twisted.internet.testing import StringTransport
        self.clock = Clock()
        root = resource.Resource()
        self.held = []
        slow = resource.Resource()
        slow.isLeaf = True
        slow.render_POST = lambda request: (self.held.append(request),
                                            server.NOT_DONE_YET)[1]
        root.putChild(b"RPC2", slow)
        self.site = self.siteFactory(root, maxBodySize=1000,
                                     reactor=self.clock)
        self.site.timeOut = 30
        self.channel = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

    def test_notifyFinish(self):
        """
        C{notifyFinish} fires once the response is sent; it fails if the
        connection is lost before.
        """
        self.channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\n"
                                  b"Content-Length: 0\r\n\r\n")
        sent = []
        self.held[0].notifyFinish().addCallback(sent.append)
        self.held[0].write(b"x")
        self.assertEqual(sent, [])
        self.held[0].finish()
        self.assertEqual(sent, [None])
        self.assertIn(b"200 OK", self.transport.value())
        self.channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\n"
                                  b"Content-Length: 0\r\n\r\n")
        lost = []
        self.held[1].notifyFinish().addErrback(lost.append)
        self.channel.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(lost), 1)
        lost[0].trap(ConnectionDone)

    def test_idleTimeoutHeldWhileAnswering(self):
        """
        A request that takes longer than the idle timeout keeps its
        connection; the timeout counts again once it is answered.
        """
        self.channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\n"
                                  b"Content-Length: 0\r\n\r\n")
        self.clock.advance(45)
        self.assertFalse(self.transport.disconnecting)
        self.held[0].write(b"x")
        self.held[0].finish()
        self.assertIn(b"200 OK", self.transport.value())
        self.clock.advance(31)
        self.assertTrue(self.transport.disconnecting)

    def test_bodyInSmallPieces(self):
        """
        A body arriving a byte at a time is put together once.
        """
        self.channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\n"
                                  b"Content-Length: 500\r\n\r\n")
        for _ in range(500):
            self.channel.dataReceived(b"z")
        self.assertEqual(self.held[0].content.read(), b"z" * 500)


class LeanClockedTests(ClockedBehaviourMixin, unittest.TestCase):
    """
    The lean channel, L{LeanSite}.
    """

    siteFactory = LeanSite


class TwistedClockedTests(ClockedBehaviourMixin, unittest.TestCase):
    """
    twisted.web's server, L{CappedSite}.
    """

    siteFactory = CappedSite
