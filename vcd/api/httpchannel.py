# -*- test-case-name: tests.test_httpchannel,tests.test_connectionlimits -*-
"""
A lean HTTP/1.1 server channel for twisted.web resources.

twisted.web's own channel and request cost about 600 us of CPU per request
on the hosts vcd runs on, more than all of vcd's own work on a call; its
XML-RPC clients open a new connection per request, so that cost is paid
on every call. This channel parses just what an XML-RPC server needs (a
request line, headers, a body with a Content-Length) and hands a small
request object (L{vcd.api.leanrequest.LeanRequest}) to the same resource
tree (L{vcd.api.resource.Root} with the L{vcd.api.resource.RPC2} resource
at C{/RPC2}), which renders it as under twisted.web.

It refuses, before reading them: a body over the site's cap (413), a POST
without Content-Length (411), chunked bodies (411), oversized or malformed
headers (400/431), a body that does not fit in what the site's
L{vcd.api.connectionlimits.ConnectionLimits} leave of all bodies (503).
Keep-alive and pipelining are supported.

What a connection holds is bounded: while a request is answered, at most
L{READ_AHEAD} bytes of what follows are read, then the socket is not read
until the answer is sent; answers are not made while the client leaves
them unread (the channel is its transport's producer, paused while the
transport's buffer is full). Every state but answering has a deadline:
idle (the site's C{timeOut}), a head (the limits' C{headTimeout} from its
first byte), a body (L{ConnectionLimits.bodyDeadline}), and a full
transport the client does not drain or a connection that does not close
(C{timeOut} again, then it is aborted: an answer must be read within
C{timeOut} seconds).
"""

from twisted.internet import protocol
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, server
from zope.interface import implementer

from vcd.api.connectionlimits import ConnectionLimits
from vcd.api.leanrequest import (BadRequest, LeanRequest, parseHead,
                                 plainResponse)

__all__ = ["LeanHTTPChannel", "LeanSite", "plainResponse"]

log = Logger()

MAX_HEADER_BYTES = 16384
#: Bytes of pipelined requests read while a request is being answered.
READ_AHEAD = 16384

#: L{LeanHTTPChannel._current} once a request was refused.
_REFUSED = object()
#: The deadlines' phases whose expiry aborts the connection.
_ABORTING = ("write", "closing")
#: The phase without a deadline.
_HOLD = "hold"


@implementer(IHalfCloseableProtocol, IPushProducer)
class LeanHTTPChannel(protocol.Protocol):
    """
    One HTTP/1.x connection; requests are handled one at a time, in order.
    A client that half-closes its side still gets its answers.

    @ivar clientAddress: the peer's address as the site admitted it (None
        if it was not counted).
    """

    clientAddress = None

    def __init__(self, site):
        self.site = site
        self._buffer = bytearray()
        self._head = None  # the parsed head of the request being received
        self._current = None  # the request being answered
        self._keepAlive = False
        self._readClosed = False
        self._continued = False
        self._scheduled = None
        self._timer = None
        self._phase = None  # what the timer waits for
        self._readPaused = False
        self._writeFull = False
        self._producing = False
        self._reserved = 0  # body bytes reserved from the site's limits

    def connectionMade(self):
        self.transport.registerProducer(self, True)
        self._producing = True
        self._arm("idle")

    def _arm(self, phase, seconds=None):
        """
        Start the deadline of C{phase} (idle, head, body, write, closing)
        unless it is already running; C{seconds} defaults to the site's
        idle timeout. One timer serves every phase, moved rather than
        replaced.
        """
        if phase == self._phase:
            return
        self._phase = phase
        if seconds is None:
            seconds = getattr(self.site, "timeOut", None)
        timer = self._timer
        if not seconds:
            self._disarm()
        elif timer is not None and timer.active():
            timer.reset(seconds)
        else:
            self._timer = self.site.reactor.callLater(seconds, self._expired)

    def _hold(self):
        """
        No deadline for now (a request is being answered, or is about to
        be looked at): the timer, if it fires, only starts again.
        """
        self._phase = _HOLD

    def _disarm(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = self._phase = None

    def _expired(self):
        phase, self._timer, self._phase = self._phase, None, None
        if phase == _HOLD:
            self._arm(_HOLD)
        elif phase == "idle":
            self._close()
        elif phase in _ABORTING:
            self.transport.abortConnection()
        else:
            self._refuse(408, b"request not received in time\n")

    def _updateReading(self):
        """
        Stop reading the socket while the client leaves answers unread or
        enough is read ahead of the request being answered; read again
        once neither holds.
        """
        if self._current is _REFUSED or self.transport is None:
            return
        pause = self._writeFull or (self._current is not None
                                    and len(self._buffer) >= READ_AHEAD)
        if pause != self._readPaused:
            self._readPaused = pause
            if pause:
                self.transport.pauseProducing()
            else:
                self.transport.resumeProducing()

    def dataReceived(self, data):
        if self._current is _REFUSED:
            return
        self._buffer += data
        if self._current is None and not self._writeFull:
            self._process()
        else:
            self._updateReading()

    def _process(self):
        """
        Handle the requests complete in the buffer, one at a time: each is
        answered before the next is looked at, and none while the client
        leaves answers unread. Never re-entered.
        """
        self._scheduled = None
        limits = self.site.limits
        while self._current is None and not self._writeFull:
            if self._head is None:
                if not self._buffer:
                    self._arm("idle")
                    break
                end = self._buffer.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES + 4)
                if end < 0:
                    if len(self._buffer) >= MAX_HEADER_BYTES + 4:
                        self._refuse(431, b"request headers too large\n")
                        return
                    self._arm("head", limits.headTimeout)
                    break
                try:
                    head = parseHead(bytes(self._buffer[:end]),
                                     self.site.maxBodySize)
                except BadRequest as e:
                    self._refuse(e.code, e.text)
                    return
                del self._buffer[:end + 4]
                reserved = limits.reserveBody(self.clientAddress, head[4])
                if reserved is None:
                    self._refuse(503, b"too many request bodies at once\n")
                    return
                self._head, self._reserved = head, reserved
                self._continued = False
            method, uri, version, headers, length = self._head
            if len(self._buffer) < length:
                self._arm("body", limits.bodyDeadline(length))
                # Wait for the whole body; a client that asked (curl does,
                # for larger bodies) is told to send it.
                if not self._continued and headers.get(
                        b"expect", b"").lower() == b"100-continue":
                    self._continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                break
            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._head = None
            connection = headers.get(b"connection", b"").lower()
            self._keepAlive = (connection != b"close" if version == b"HTTP/1.1"
                               else connection == b"keep-alive")
            self._hold()
            request = LeanRequest(self, method, uri, version, headers, body)
            self._current = request
            self._render(request)
        if self._current is None and self._readClosed \
                and not self._writeFull:
            self._close()  # what is left can never be complete
            return
        self._updateReading()

    def _render(self, request):
        try:
            resource_ = self.site.getResourceFor(request)
            body = resource_.render(request)
        except server.UnsupportedMethod as e:
            request.setResponseCode(http.NOT_ALLOWED)
            request.setHeader(b"allow", b", ".join(
                sorted(set(e.allowedMethods))))
            request.setHeader(b"content-type", b"text/plain")
            body = b"method not allowed\n"
        except Exception:
            log.failure("rendering {uri}", Failure(), uri=request.uri)
            request.setResponseCode(http.INTERNAL_SERVER_ERROR)
            request.setHeader(b"content-type", b"text/plain")
            body = b"internal error\n"
        if body is server.NOT_DONE_YET:
            return
        request.write(body)
        request.finish()

    def respond(self, request):
        """
        Send a finished request's response; the next pipelined request is
        handled in a later turn of the reactor (no recursion however many
        were pipelined).
        """
        if request is not self._current or self.transport is None:
            return
        head = request.responseHead(self._keepAlive)
        if request.method == b"HEAD":
            head = head[:head.index(b"\r\n\r\n") + 4]
        self._releaseBody()
        self.transport.write(head)
        self._current = None
        request._notify()
        if not self._keepAlive:
            self._buffer = bytearray()
            self._current = _REFUSED  # nothing more is read or answered
            self._close()
            return
        self._next()

    def _next(self):
        """
        After an answer, or once the client read what was sent: go on
        with what is buffered, or wait for more.
        """
        self._updateReading()
        if self._writeFull:
            return
        if self._buffer:
            if self._scheduled is None:
                self._scheduled = self.site.reactor.callLater(0,
                                                              self._process)
        elif self._readClosed:
            self._close()
        else:
            self._arm("idle")

    def pauseProducing(self):
        """
        The transport's buffer is full: no more answers, nothing more read
        until the client has read it all; a client that has not within the
        idle timeout is cut off.
        """
        self._writeFull = True
        self._arm("write")
        self._updateReading()

    def resumeProducing(self):
        """
        The client read what was sent: go on.
        """
        self._writeFull = False
        if self._phase == "write":
            self._hold()
        if self._current is None:
            self._next()
        else:
            self._updateReading()

    def stopProducing(self):
        """
        The transport is gone; L{connectionLost} cleans up.
        """

    def _releaseBody(self):
        reserved, self._reserved = self._reserved, 0
        if reserved:
            self.site.limits.releaseBody(reserved)

    def _close(self):
        """
        Close the connection once what was written is sent; abort it if
        that takes longer than the idle timeout.
        """
        if self._producing:
            self._producing = False
            self.transport.unregisterProducer()
        self.transport.loseConnection()
        self._arm("closing")

    def _refuse(self, code, text):
        """
        Answer with an error and close the connection.
        """
        self._buffer = bytearray()
        self._head = None
        self._keepAlive = False
        self._current = _REFUSED  # nothing more is read or answered
        self._releaseBody()
        self.transport.write(plainResponse(code, text))
        self._close()
        return None

    def readConnectionLost(self):
        """
        The client sent everything it will send: answer what is complete,
        then close.
        """
        self._readClosed = True
        if self._current is None and self._scheduled is None \
                and not self._writeFull:
            self._process()

    def writeConnectionLost(self):
        self._close()

    def connectionLost(self, reason):
        self._disarm()
        self._producing = False
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None
        self._buffer = bytearray()  # freed now, not when collected
        self._releaseBody()
        self.site.limits.release(self.clientAddress)
        self.clientAddress = None
        # A request still being answered finds its response dropped.
        current, self._current = self._current, _REFUSED
        if isinstance(current, LeanRequest):
            current._notify(reason)


class LeanSite(server.Site):
    """
    A twisted.web site (its resource tree, its getResourceFor) served by
    L{LeanHTTPChannel}.

    @ivar maxBodySize: the largest request body accepted, in bytes.
    @ivar limits: the L{ConnectionLimits} its TCP connections are held to.
    """

    def __init__(self, root, maxBodySize, reactor=None):
        server.Site.__init__(self, root)
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.maxBodySize = maxBodySize
        self.limits = ConnectionLimits()
        self.noisy = False
        self.displayTracebacks = False

    def buildProtocol(self, addr):
        """
        A channel for a new connection, or None (it is closed) if the
        limits do not admit it.
        """
        if not self.limits.admit(addr):
            return None
        channel = LeanHTTPChannel(self)
        channel.clientAddress = addr
        return channel
