"""
Tests for L{vcd.api.connectionlimits} and the bounds both HTTP servers
(L{vcd.api.httpchannel}, L{vcd.api.twistedsite}) keep with it: caps on
connections in total and per address, the cap on all request bodies, the
deadlines of a head and a body, complete heads capped, read-ahead and
unread answers bounded; the open-files limit; the settings. On a fake
transport and clock; L{tests.test_hostileclients} measures a real daemon.
"""

import resource

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial import unittest
from twisted.web import resource as webresource, server

from vcd.api.connectionlimits import (FD_RESERVE, ConnectionLimits,
                                      raiseFileLimit)
from vcd.api.httpchannel import READ_AHEAD, LeanSite
from vcd.api.twistedsite import CappedSite
from vcd.config import ConfigurationError, buildConfiguration


def tcp(host, port=40000):
    return IPv4Address("TCP", host, port)


def post(body=b"", length=None):
    if length is None:
        length = len(body)
    return (b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (length, body))


class LimitsMixin:
    """
    A site of the class C{siteFactory} (C{answeredWhileFull}: how many
    requests it answers once its transport is full) on a fake clock, its resource at
    C{/RPC2} holding every request unanswered in C{self.held}, or
    answering at once a body of C{b"now"}; caps lowered to small numbers.
    """

    def setUp(self):
        self.clock = Clock()
        root = webresource.Resource()
        self.held = []
        slow = webresource.Resource()
        slow.isLeaf = True

        def render(request):
            if request.content.read() == b"now":
                return b"answered"
            self.held.append(request)
            return server.NOT_DONE_YET
        slow.render_POST = render
        root.putChild(b"RPC2", slow)
        self.site = self.siteFactory(root, maxBodySize=100000,
                                     reactor=self.clock)
        self.site.timeOut = 30
        self.site.limits = ConnectionLimits(
            maxConnections=5, maxPerAddress=3, maxBodyTotal=150000,
            headTimeout=10, minBodyRate=1000)

    def connect(self, address=None):
        """
        @return: (channel, transport) of a new connection from C{address}.
        """
        if address is None:
            address = tcp("127.0.0.1")
        channel = self.site.buildProtocol(address)
        self.assertIsNotNone(channel, "refused %s" % (address,))
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        return channel, transport

    def lose(self, channel):
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure
        channel.connectionLost(Failure(ConnectionDone()))

    def test_capPerAddress(self):
        """
        A fourth connection from one address is refused while others are
        admitted; one closing makes room again.
        """
        channels = [self.connect()[0] for _ in range(3)]
        self.assertIsNone(self.site.buildProtocol(tcp("127.0.0.1")))
        self.connect(tcp("127.0.0.2"))
        self.lose(channels[0])
        self.connect()
        self.assertEqual(self.site.limits.refused, 1)

    def test_capInTotal(self):
        """
        The sixth TCP connection is refused whatever its address; a
        connection over the Unix socket (vshelper's) is always served and
        not counted.
        """
        channels = [self.connect(tcp("127.0.0.%d" % (i,)))[0]
                    for i in range(1, 6)]
        self.assertIsNone(self.site.buildProtocol(tcp("127.0.0.9")))
        for _ in range(10):
            self.connect(UNIXAddress(b"/run/x.sock"))
        self.assertEqual(self.site.limits.connections, 5)
        self.lose(channels[2])
        self.connect(tcp("127.0.0.9"))

    def test_bodiesCappedInTotal(self):
        """
        Bodies are reserved by their declared length once the head is in:
        one that does not fit in what is left gets 503 before any of it is
        read; the room comes back when a request is answered.
        """
        first, _ = self.connect(tcp("127.0.0.1"))
        first.dataReceived(post(length=100000))
        second, transport = self.connect(tcp("127.0.0.2"))
        second.dataReceived(post(length=60000))
        self.assertIn(b" 503 ", transport.value())
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.site.limits.bodyBytes, 100000)
        first.dataReceived(b"x" * 100000)
        self.held[0].write(b"done")
        self.held[0].finish()
        self.assertEqual(self.site.limits.bodyBytes, 0)
        third, transport = self.connect(tcp("127.0.0.3"))
        third.dataReceived(post(length=60000))
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.site.limits.bodyBytes, 60000)
        self.lose(third)
        self.assertEqual(self.site.limits.bodyBytes, 0)

    def test_unixBodiesNotCapped(self):
        """
        The body of a request over vshelper's socket is not counted: it is
        served when TCP clients hold all the room.
        """
        first, _ = self.connect(tcp("127.0.0.1"))
        first.dataReceived(post(length=100000))
        channel, transport = self.connect(UNIXAddress(b"/run/x.sock"))
        channel.dataReceived(post(b"n" * 90000))
        self.assertEqual(len(self.held), 1)
        self.assertNotIn(b"503", transport.value())

    def test_headDeadline(self):
        """
        A head must be complete within headTimeout seconds of its first
        byte, however the bytes trickle in; a late one gets 408.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\n")
        for _ in range(9):
            self.clock.advance(1)
            channel.dataReceived(b"X-A: b\r\n")
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1.5)
        self.assertTrue(transport.disconnecting)
        self.assertIn(b" 408 ", transport.value())

    def test_bodyRate(self):
        """
        A body of 50000 bytes gets 10 s plus 50 s (at 1000 bytes a second)
        from the end of its head, however its bytes trickle in.
        """
        channel, transport = self.connect()
        channel.dataReceived(post(length=50000))
        for _ in range(59):
            self.clock.advance(1)
            channel.dataReceived(b"y" * 100)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1.5)
        self.assertTrue(transport.disconnecting)
        self.assertIn(b" 408 ", transport.value())
        self.lose(channel)
        self.assertEqual(self.site.limits.bodyBytes, 0)

    def test_bodyInTime(self):
        """
        A body that keeps the rate is received and answered.
        """
        channel, transport = self.connect()
        channel.dataReceived(post(length=50000))
        for _ in range(50):
            self.clock.advance(1)
            channel.dataReceived(b"y" * 1000)
        self.clock.advance(30)
        self.assertEqual(len(self.held), 1)
        self.assertFalse(transport.disconnecting)

    def test_completeHeadCapped(self):
        """
        A head over 16 KiB is refused even when it arrives complete in one
        piece.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /RPC2 HTTP/1.1\r\n"
                             + b"X-Big: " + b"a" * 20000 + b"\r\n"
                             + b"Content-Length: 3\r\n\r\nnow")
        self.assertEqual(self.held, [])
        self.assertNotIn(b"answered", transport.value())
        self.assertTrue(transport.disconnecting)

    def test_readAheadBounded(self):
        """
        While a request is being answered the socket is read no further
        than a few pipelined requests: the transport is paused, and
        resumed once the answer is sent.
        """
        channel, transport = self.connect()
        pipelined = post(b"now") * 2000
        channel.dataReceived(post(b"hold") + pipelined[:READ_AHEAD // 2])
        self.assertEqual(transport.producerState, "producing")
        channel.dataReceived(pipelined[READ_AHEAD // 2:READ_AHEAD * 2])
        self.assertEqual(transport.producerState, "paused")
        self.held[0].finish()
        self.clock.advance(0)
        self.assertEqual(transport.producerState, "producing")


    def test_unreadAnswersStopReading(self):
        """
        When the transport's buffer fills while a request is being answered
        (it pauses its producer, the channel), the socket is not read any
        more, even after the answer is sent, until the client reads.
        """
        channel, transport = self.connect()
        channel.dataReceived(post(b"hold"))
        channel.pauseProducing()  # as the transport does when full
        self.assertEqual(transport.producerState, "paused")
        self.held[0].finish()
        self.clock.advance(0)
        self.assertEqual(transport.producerState, "paused")
        channel.resumeProducing()
        self.clock.advance(0)
        self.assertEqual(transport.producerState, "producing")


    def test_unreadAnswersStopTheChannel(self):
        """
        While the transport's buffer is full (it paused its producer, the
        channel) no pipelined request is answered (twisted.web's channel
        answers the one it reads first) and the socket is not read; a
        client that reads nothing for the idle timeout is cut off.
        """
        channel, transport = self.connect()
        channel.dataReceived(post(b"now"))
        self.assertEqual(transport.value().count(b"answered"), 1)
        self.assertIs(transport.producer, channel)
        channel.pauseProducing()  # as the transport does when full
        self.assertEqual(transport.producerState, "paused")
        channel.dataReceived(post(b"now") * 3)
        self.clock.advance(0)
        self.assertEqual(transport.value().count(b"answered"),
                         1 + self.answeredWhileFull)
        channel.resumeProducing()
        self.clock.advance(0)
        self.assertEqual(transport.value().count(b"answered"), 4)
        self.assertEqual(transport.producerState, "producing")
        channel.pauseProducing()
        self.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(transport.disconnected)  # aborted


class LeanLimitsTests(LimitsMixin, unittest.TestCase):
    """
    The lean channel, L{LeanSite}.
    """

    siteFactory = LeanSite
    answeredWhileFull = 0

    def test_closeUnregistersProducer(self):
        """
        Closing the connection unregisters the channel as the transport's
        producer (a transport with a producer never closes), and a close
        that does not finish within the idle timeout becomes an abort.
        """
        channel, transport = self.connect()
        self.clock.advance(30)
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(transport.producer)
        self.clock.advance(31)
        self.assertTrue(transport.disconnected)


class TwistedLimitsTests(LimitsMixin, unittest.TestCase):
    """
    twisted.web's server, L{CappedSite}.
    """

    siteFactory = CappedSite
    answeredWhileFull = 1


class AddressTests(unittest.TestCase):
    """
    What L{ConnectionLimits} counts a client as.
    """

    def test_ipv6By64(self):
        """
        IPv6 clients are counted by /64 (a host gets a /64 and may use all
        of it); an IPv4 address mapped into IPv6 counts as itself.
        """
        limits = ConnectionLimits(maxPerAddress=2)
        six = lambda host: IPv6Address("TCP", host, 40000)
        self.assertTrue(limits.admit(six("2001:db8::1")))
        self.assertTrue(limits.admit(six("2001:db8::ffff:2")))
        self.assertFalse(limits.admit(six("2001:db8::3")))
        self.assertTrue(limits.admit(six("2001:db8:0:1::1")))
        self.assertTrue(limits.admit(six("::ffff:192.0.2.1")))
        self.assertTrue(limits.admit(six("::ffff:192.0.2.2")))
        self.assertTrue(limits.admit(tcp("192.0.2.1")))
        self.assertFalse(limits.admit(tcp("192.0.2.1")))
        limits.release(six("2001:db8::1"))
        self.assertTrue(limits.admit(six("2001:db8::3")))
        self.assertEqual(limits.connections, 6)


class FileLimitTests(unittest.TestCase):
    """
    L{raiseFileLimit} and L{ConnectionLimits.fitFileLimit}.
    """

    def test_raisedToHard(self):
        calls = []
        soft = raiseFileLimit(
            setrlimit=lambda which, limits: calls.append((which, limits)),
            getrlimit=lambda which: (1024, 65536))
        self.assertEqual(soft, 65536)
        self.assertEqual(calls, [(resource.RLIMIT_NOFILE, (65536, 65536))])

    def test_alreadyAtHard(self):
        calls = []
        soft = raiseFileLimit(
            setrlimit=lambda which, limits: calls.append(limits),
            getrlimit=lambda which: (4096, 4096))
        self.assertEqual((soft, calls), (4096, []))

    def test_refused(self):
        def refuse(which, limits):
            raise ValueError("not allowed")
        self.assertEqual(raiseFileLimit(
            setrlimit=refuse, getrlimit=lambda which: (1024, 4096)), 1024)

    def test_real(self):
        """
        In this process: the soft limit ends at the hard one.
        """
        soft = raiseFileLimit()
        self.assertEqual(resource.getrlimit(resource.RLIMIT_NOFILE),
                         (soft, soft))

    def test_fit(self):
        limits = ConnectionLimits(maxConnections=1000)
        limits.fitFileLimit(100000)
        self.assertEqual(limits.maxConnections, 1000)
        limits.fitFileLimit(1024)
        self.assertEqual(limits.maxConnections, 1024 - FD_RESERVE)


class SettingsTests(unittest.TestCase):
    """
    The settings in the configuration file.
    """

    def build(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[vcd]\n" + text)
        return buildConfiguration({"config": path, "listen": []})

    def test_read(self):
        config = self.build("maxconnections = 50\nmaxperaddress = 5\n"
                            "maxbodytotal = 2000000\nheadtimeout = 3\n"
                            "minbodyrate = 100\n")
        limits = ConnectionLimits.fromConfiguration(config)
        self.assertEqual((limits.maxConnections, limits.maxPerAddress,
                          limits.maxBodyTotal, limits.headTimeout,
                          limits.minBodyRate), (50, 5, 2000000, 3, 100))

    def test_defaults(self):
        limits = ConnectionLimits.fromConfiguration(self.build(""))
        self.assertEqual((limits.maxConnections, limits.maxPerAddress,
                          limits.maxBodyTotal, limits.headTimeout,
                          limits.minBodyRate),
                         (1024, 64, 64 * 1024 * 1024, 10, 16384))

    def test_refusals(self):
        for text in ("maxconnections = 0\n", "maxperaddress = many\n",
                     "headtimeout = 0\n", "minbodyrate = -1\n",
                     "maxbody = 2000000\nmaxbodytotal = 1000000\n"):
            self.assertRaises(ConfigurationError, self.build, text)
