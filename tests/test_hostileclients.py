"""
Hostile clients against a real daemon in its own process (L{DaemonProcess}),
with each HTTP server: the bounds of L{vcd.api.httpchannel},
L{vcd.api.twistedsite} and L{vcd.api.connectionlimits} measured from
outside. A pipelined flood never read and incomplete bodies from many
connections leave the daemon's memory (VmRSS) within a bound, which it
returns to after the connections close; idle connections up to and beyond
the caps (per address, in total, and those the open-files limit allows)
leave a client from another address and vshelper's Unix socket answered.
Loopback only; every loop bounded in count and time.
"""

import errno
import os
import select
import time
import xmlrpc.client

from twisted.logger import Logger
from twisted.trial import unittest

from tests.daemonprocess import DaemonProcess
from vcd.api.connectionlimits import FD_RESERVE

log = Logger()
MB = 1024 * 1024
#: How much the daemon's memory may grow under any of the floods.
GROWTH_BOUND = 64 * MB
#: How far above its memory before a flood the daemon must come back to
#: once the flood's connections are closed.
RETURN_BOUND = 16 * MB
#: Seconds without progress after which a sender counts as stopped by the
#: daemon (which no longer reads).
STALL = 3.0


def poll(condition, deadline, what):
    """
    Call C{condition} every 0.1 s until it is true; fail after C{deadline}
    seconds.

    @return: its last value.
    """
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("not within %s s: %s" % (deadline, what))
        time.sleep(0.1)


def isClosed(s):
    """
    @return: whether the daemon closed (or reset) the connection C{s}: a
        read would not block.
    """
    try:
        readable, _, _ = select.select([s], [], [], 0)
        if not readable:
            return False
        s.setblocking(False)
        try:
            s.recv(65536)
        except BlockingIOError:
            return False
        return True
    except OSError:
        return True


def pipelinedRequest(method):
    body = xmlrpc.client.dumps((), method).encode()
    return (b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


class HostileMixin:
    """
    A daemon per test with the C{httpserver} of C{httpServer}.
    """

    timeout = 300

    def startDaemon(self, fileLimit=None, **settings):
        if os.geteuid() != 0:
            self.fail("the daemon tests need root")
        base = os.path.abspath(self.mktemp())
        os.makedirs(base)
        settings.setdefault("timeout", 120)
        daemon = DaemonProcess(base, dict(settings,
                                          httpserver=self.httpServer),
                               fileLimit=fileLimit)
        self.addCleanup(daemon.stop)
        daemon.start()
        # Warm up: what every request allocates once is allocated.
        for _ in range(20):
            daemon.call("system.listMethods")
        self.assertEqual(daemon.helperCall("vcd.login"), None)
        return daemon

    def closeAll(self, sockets):
        for s in sockets:
            s.close()

    def pump(self, daemon, streams):
        """
        Send on each socket, without blocking, what its stream gives until
        it has all gone, the daemon closed the connection, or the daemon
        reads nothing for L{STALL} seconds (120 s at most in all).

        @param streams: {socket: (data, total)}: C{data} (a memoryview) is
            sent over and over, C{total} bytes in all.
        @return: the bytes sent on each socket, and the daemon's highest
            memory seen meanwhile.
        """
        sent = dict.fromkeys(streams, 0)
        pending = set(streams)
        for s in pending:
            s.setblocking(False)
        peak = daemon.rss()
        end = time.monotonic() + 120
        while pending and time.monotonic() < end:
            _, writable, _ = select.select([], list(pending), [], STALL)
            if not writable:
                break  # the daemon reads no more
            for s in writable:
                data, total = streams[s]
                offset = sent[s] % len(data)
                try:
                    sent[s] += s.send(
                        data[offset:offset + min(len(data) - offset,
                                                 total - sent[s])])
                except BlockingIOError:
                    continue
                except OSError as e:
                    self.assertIn(e.errno, (errno.EPIPE, errno.ECONNRESET))
                    pending.discard(s)
                    continue
                if sent[s] == total:
                    pending.discard(s)
            peak = max(peak, daemon.rss())
        return sent, peak

    def flood(self, daemon, connections, total):
        """
        Pipeline C{total} bytes of system.listMethods on each of
        C{connections} connections, never reading; check that the daemon's
        memory stays within L{GROWTH_BOUND} meanwhile, and comes back once
        they close.

        @return: the bytes sent on each connection.
        """
        before = daemon.rss()
        request = pipelinedRequest("system.listMethods")
        chunk = memoryview(request * (MB // len(request)))
        sockets = [daemon.connect() for _ in range(connections)]
        self.addCleanup(self.closeAll, sockets)
        sent, peak = self.pump(daemon, {s: (chunk, total) for s in sockets})
        self.assertIsInstance(daemon.call("system.listMethods"), list)
        peak = max(peak, daemon.rss())
        log.info("{server}: flood of {sent} MB on {connections} connections:"
                 " memory {before} -> {peak} MB", server=self.httpServer,
                 sent=sum(sent.values()) // MB, connections=connections,
                 before=before // MB, peak=peak // MB)
        self.assertLess(peak - before, GROWTH_BOUND,
                        "%d MB sent, memory %d -> %d MB" % (
                            sum(sent.values()) // MB, before // MB,
                            peak // MB))
        self.closeAll(sockets)
        poll(lambda: daemon.rss() < before + RETURN_BOUND, 30,
             "memory back after close (%d MB before)" % (before // MB,))
        log.info("{server}: flood closed: memory {after} MB",
                 server=self.httpServer, after=daemon.rss() // MB)
        self.assertIsInstance(daemon.call("system.listMethods"), list)
        return list(sent.values())

    def test_pipelinedFloodNeverRead(self):
        """
        40 MB of pipelined system.listMethods that the client never reads:
        the daemon stops reading (the client cannot send it all), its
        memory stays within L{GROWTH_BOUND} and comes back after the
        connection closes; other clients are answered meanwhile.
        """
        daemon = self.startDaemon()
        [sent] = self.flood(daemon, 1, 40 * MB)
        self.assertLess(sent, 40 * MB, "the daemon read all of the flood")

    def test_pipelinedFloodsFromManyConnections(self):
        """
        20 connections each pipelining up to 8 MB never read: the bound
        holds for all of them together.
        """
        daemon = self.startDaemon()
        self.flood(daemon, 20, 8 * MB)

    def test_incompleteBodies(self):
        """
        600 connections each declaring a body of 1 MiB and sending all but
        its last byte: bodies are received up to C{maxbodytotal} (16 MiB:
        16 connections), the others are refused at their head; memory
        stays within L{GROWTH_BOUND} and comes back after they close.
        """
        daemon = self.startDaemon(maxbodytotal=16 * MB, maxconnections=1000,
                                  maxperaddress=1000)
        before = daemon.rss()
        head = (b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                b"Content-Length: %d\r\n\r\n" % (MB,))
        payload = memoryview(head + b"<" * (MB - 1))
        sockets = [daemon.connect() for _ in range(600)]
        self.addCleanup(self.closeAll, sockets)
        _, peak = self.pump(daemon, {s: (payload, len(payload))
                                     for s in sockets})
        # The refused are closed; those admitted wait for their last byte.
        poll(lambda: sum(not isClosed(s) for s in sockets) <= 16, 60,
             "only the bodies that fit are kept")
        peak = max(peak, daemon.rss())
        self.assertEqual(sum(not isClosed(s) for s in sockets), 16)
        log.info("{server}: 600 incomplete bodies: memory {before} -> {peak}"
                 " MB", server=self.httpServer, before=before // MB,
                 peak=peak // MB)
        self.assertLess(peak - before, GROWTH_BOUND,
                        "memory %d -> %d MB" % (before // MB, peak // MB))
        self.closeAll(sockets)
        poll(lambda: daemon.rss() < before + RETURN_BOUND, 30,
             "memory back after close (%d MB before, %d MB at most)"
             % (before // MB, peak // MB))
        log.info("{server}: bodies closed: memory {after} MB",
                 server=self.httpServer, after=daemon.rss() // MB)
        self.assertIsInstance(daemon.call("system.listMethods"), list)

    def openIdle(self, daemon, source, count):
        """
        Open C{count} connections from C{source}; after a request from
        another address was answered (the daemon has taken them all by
        then), return those the daemon kept open and those it closed.
        """
        sockets = [daemon.connect(source) for _ in range(count)]
        self.addCleanup(self.closeAll, sockets)
        daemon.helperCall("vcd.login")
        return ([s for s in sockets if not isClosed(s)],
                [s for s in sockets if isClosed(s)])

    def test_connectionCaps(self):
        """
        Idle connections up to and beyond the per-address cap (25) and the
        total cap (60): beyond them connections are closed at once, a
        client from another address is answered while only the
        per-address cap is reached, vshelper's socket is answered
        throughout, and a client is answered again once connections close.
        """
        daemon = self.startDaemon(maxconnections=60, maxperaddress=25)
        kept, closed = self.openIdle(daemon, "127.0.0.1", 40)
        self.assertEqual((len(kept), len(closed)), (25, 15))
        self.assertIsInstance(
            daemon.call("system.listMethods", source="127.0.0.2"), list)
        third, _ = self.openIdle(daemon, "127.0.0.3", 25)
        fourth, refused = self.openIdle(daemon, "127.0.0.4", 25)
        self.assertEqual((len(third), len(fourth), len(refused)),
                         (25, 10, 15))
        self.assertRaises(OSError, daemon.call, "system.listMethods",
                          source="127.0.0.5")
        self.assertIsNone(daemon.helperCall("vcd.login"))
        self.closeAll(third)
        poll(lambda: self.answered(daemon, "127.0.0.5"), 30,
             "answered once connections closed")

    def answered(self, daemon, source):
        try:
            return isinstance(daemon.call("system.listMethods",
                                          source=source), list)
        except OSError:
            return False

    def test_fileLimit(self):
        """
        Started with 200 open files allowed (hard limit 320), the daemon
        raises its limit to 320 and serves no more TCP connections than
        leave L{FD_RESERVE} descriptors: 400 idle connections do not stop
        vshelper's socket, nor (once they close) other clients.
        """
        daemon = self.startDaemon(fileLimit=(200, 320), maxperaddress=1000)
        self.assertEqual(daemon.fileLimits(), (320, 320))
        self.assertIn("open-files limit 320", daemon.log())
        kept = []
        for i in range(8):
            open_, _ = self.openIdle(daemon, "127.0.0.%d" % (10 + i,), 50)
            kept += open_
        self.assertEqual(len(kept), 320 - FD_RESERVE)
        self.assertLess(daemon.openFiles(), 320)
        self.assertIsNone(daemon.helperCall("vcd.login"))
        self.closeAll(kept)
        poll(lambda: self.answered(daemon, "127.0.0.2"), 30,
             "answered once connections closed")
        self.assertNotIn("EMFILE", daemon.log())


class LeanHostileTests(HostileMixin, unittest.TestCase):
    """
    The lean channel.
    """

    httpServer = "lean"


class TwistedHostileTests(HostileMixin, unittest.TestCase):
    """
    twisted.web's server.
    """

    httpServer = "twisted"
