"""
Tests for L{vcd.api.httpchannel}: the lean HTTP/1.1 channel serving a
twisted.web resource tree, over a real socket.
"""

import socket

from twisted.internet import reactor, threads
from twisted.trial import unittest
from twisted.web import resource, server

from vcd.api.httpchannel import LeanSite


class Echo(resource.Resource):
    """
    POST echoes the body; a request whose body says "later" is answered
    after a delay (NOT_DONE_YET).
    """

    isLeaf = True

    def render_POST(self, request):
        body = request.content.read()
        request.setHeader(b"content-type", b"text/plain")
        if body == b"later":
            reactor.callLater(0.05, lambda: (request.write(b"done"),
                                             request.finish()))
            return server.NOT_DONE_YET
        return b"echo:" + body


class LeanChannelTests(unittest.TestCase):

    def setUp(self):
        root = resource.Resource()
        root.putChild(b"RPC2", Echo())
        self.site = LeanSite(root, maxBodySize=1000, reactor=reactor)
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
        when the first is answered later; the idle timeout closes it.
        """
        d = self.exchange(self.post(b"later") + self.post(b"two"))

        def check(data):
            self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2)
            self.assertLess(data.index(b"done"), data.index(b"echo:two"))
            self.assertIn(b"Connection: keep-alive", data)
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
        d = self.exchange(b"HEAD /RPC2 HTTP/1.1\r\nConnection: close\r\n\r\n")

        def check(answer):
            self.assertTrue(answer.startswith(b"HTTP/1.1 405"), answer)
            self.assertTrue(answer.endswith(b"\r\n\r\n"), answer)
        return d.addCallback(check)

    def test_http10ClosesByDefault(self):
        d = self.exchange(self.post(b"x", version=b"HTTP/1.0"))
        return d.addCallback(
            lambda data: self.assertIn(b"Connection: close", data))

    def assertStatus(self, data, status):
        self.assertTrue(data.startswith(b"HTTP/1.1 %d " % (status,)), data)

    def test_refusals(self):
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
            (b"POST /RPC2 HTTP/1.1\r\nX: " + b"a" * 20000, 431),
            (self.post(b"x").replace(b"POST", b"GET"), 405),
            (self.post(b"x").replace(b"/RPC2", b"/other"), 404),
        ]
        deferreds = []
        for raw, status in cases:
            d = self.exchange(raw, shutdown=True)
            d.addCallback(self.assertStatus, status)
            deferreds.append(d)
        from twisted.internet.defer import gatherResults
        return gatherResults(deferreds, consumeErrors=True)

    def test_bodyCapCheckedBeforeReading(self):
        """
        A Content-Length over the cap is refused without waiting for the
        body.
        """
        d = self.exchange(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 99999\r\n"
                          b"\r\nonly a little")
        return d.addCallback(self.assertStatus, 413)


class ChannelUnitTests(unittest.TestCase):
    """
    The channel on a fake transport and clock.
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
        self.site = LeanSite(root, maxBodySize=1000, reactor=self.clock)
        self.site.timeOut = 30
        self.channel = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

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
