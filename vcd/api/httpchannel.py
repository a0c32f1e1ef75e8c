# -*- test-case-name: tests.test_httpchannel -*-
"""
A lean HTTP/1.1 server channel for twisted.web resources.

twisted.web's own channel and request cost about 600 us of CPU per request
on the hosts vcd runs on, more than all of vcd's own work on a call; its
XML-RPC clients open a new connection per request, so that cost is paid
on every call. This channel parses just what an XML-RPC server needs (a
request line, headers, a body with a Content-Length) and hands a small
request object to the same resource tree (L{vcd.api.resource.Root} with the
L{vcd.api.resource.RPC2} resource at C{/RPC2}), which renders it as under
twisted.web.

It refuses, before reading them: a body over the site's cap (413), a POST
without Content-Length (411), chunked bodies (411), oversized or malformed
headers (400/431). Keep-alive and pipelining are supported; an idle
connection is closed after the site's timeout.
"""

import io

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, server
from zope.interface import implementer

log = Logger()

MAX_HEADER_BYTES = 16384
MAX_HEADERS = 100
_REASONS = http.RESPONSES


class LeanRequest:
    """
    The part of L{twisted.web.iweb.IRequest} the resources of vcd use (the
    RPC2 resource, NoResource, Resource.render).
    """

    _notifications = None

    def __init__(self, channel, method, uri, clientproto, headers, body):
        self.channel = channel
        self.method = method
        self.uri = uri
        self.path = uri.split(b"?", 1)[0]
        self.clientproto = clientproto
        self.requestHeaders = headers
        self.content = io.BytesIO(body)
        self.prepath = []
        self.postpath = self.path.split(b"/")[1:]
        self.code = http.OK
        self.codeMessage = None
        self._responseHeaders = {}
        self._body = []
        self.finished = False
        self.site = None
        self.sitepath = []
        self.args = {}

    def getHeader(self, name):
        """
        @return: the value of request header C{name}, or None.
        """
        return self.requestHeaders.get(name.lower())

    def setHeader(self, name, value):
        """
        Set a response header.
        """
        if isinstance(name, str):
            name = name.encode("ascii")
        if isinstance(value, str):
            value = value.encode("latin-1")
        self._responseHeaders[name.lower()] = value

    def setResponseCode(self, code, message=None):
        """
        Set the response status.
        """
        self.code = code
        self.codeMessage = message

    def write(self, data):
        """
        Add to the response body (sent, with its length, at L{finish}).
        """
        if data:
            self._body.append(data)

    def finish(self):
        """
        Send the response.
        """
        if self.finished:
            return
        self.finished = True
        self.channel.respond(self)

    def notifyFinish(self):
        """
        @return: a Deferred firing with None once the response is sent, or
            failing if the connection is lost before.
        """
        d = defer.Deferred()
        if self._notifications is None:
            self._notifications = []
        self._notifications.append(d)
        return d

    def _notify(self, failure=None):
        """
        Fire the Deferreds of L{notifyFinish}: the response was sent, or
        (C{failure}) the connection was lost first.
        """
        notifications, self._notifications = self._notifications, None
        for d in notifications or ():
            if failure is None:
                d.callback(None)
            else:
                d.errback(failure)

    def getClientAddress(self):
        """
        @return: the peer's address.
        """
        return self.channel.transport.getPeer()

    def responseHead(self, keepAlive):
        """
        @return: the status line and headers of the response.
        """
        body = b"".join(self._body)
        message = self.codeMessage or _REASONS.get(self.code, b"Unknown")
        if isinstance(message, str):
            message = message.encode("latin-1")
        lines = [b"HTTP/1.1 %d %s" % (self.code, message)]
        headers = dict(self._responseHeaders)
        headers[b"content-length"] = b"%d" % (len(body),)
        headers.setdefault(b"content-type", b"text/html")
        headers[b"connection"] = b"keep-alive" if keepAlive else b"close"
        for name, value in headers.items():
            lines.append(b"-".join(word.capitalize()
                                   for word in name.split(b"-"))
                         + b": " + value)
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def plainResponse(code, text):
    """
    A whole C{text/plain} response that ends its connection, as this
    channel formats it.

    @param code: the HTTP status.
    @param text: the body (bytes).
    @return: the bytes to send.
    """
    response = LeanRequest(None, b"", b"/", b"HTTP/1.1", {}, b"")
    response.setResponseCode(code)
    response.setHeader(b"content-type", b"text/plain")
    response.write(text)
    return response.responseHead(keepAlive=False)


#: L{LeanHTTPChannel._current} once a request was refused.
_REFUSED = object()


@implementer(IHalfCloseableProtocol)
class LeanHTTPChannel(protocol.Protocol):
    """
    One HTTP/1.x connection; requests are handled one at a time, in order.
    A client that half-closes its side still gets its answers.
    """

    def __init__(self, site):
        self.site = site
        self._buffer = bytearray()
        self._head = None  # the parsed head of the request being received
        self._current = None  # the request being answered
        self._keepAlive = False
        self._idle = None
        self._readClosed = False
        self._continued = False
        self._paused = False
        self._scheduled = None

    def connectionMade(self):
        self._resetIdle()

    def _resetIdle(self):
        """
        (Re)arm the idle timeout; it never runs while a request is being
        answered.
        """
        timeout = getattr(self.site, "timeOut", None)
        if not timeout:
            return
        if self._idle is not None and self._idle.active():
            self._idle.reset(timeout)
        else:
            self._idle = self.site.reactor.callLater(
                timeout, self.transport.loseConnection)

    def _holdIdle(self):
        if self._idle is not None and self._idle.active():
            self._idle.cancel()
        self._idle = None

    def dataReceived(self, data):
        self._buffer += data
        if self._current is not None:
            # Pipelined data waits for the answer; no more than a request's
            # worth is buffered meanwhile.
            if len(self._buffer) > self.site.maxBodySize + MAX_HEADER_BYTES:
                self.transport.pauseProducing()
                self._paused = True
            return
        self._process()

    def _process(self):
        """
        Handle the requests complete in the buffer, one at a time: each is
        answered before the next is looked at. Never re-entered.
        """
        self._scheduled = None
        while self._current is None and self._buffer:
            if self._head is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEADER_BYTES:
                        self._refuse(431, b"request headers too large\n")
                    return
                self._head = self._parseHead(bytes(self._buffer[:end]))
                if self._head is None:
                    return
                del self._buffer[:end + 4]
                self._continued = False
            method, uri, version, headers, length = self._head
            if len(self._buffer) < length:
                # Wait for the whole body; a client that asked (curl does,
                # for larger bodies) is told to send it.
                if not self._continued and headers.get(
                        b"expect", b"").lower() == b"100-continue":
                    self._continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._head = None
            connection = headers.get(b"connection", b"").lower()
            self._keepAlive = (connection != b"close" if version == b"HTTP/1.1"
                               else connection == b"keep-alive")
            self._holdIdle()
            request = LeanRequest(self, method, uri, version, headers, body)
            self._current = request
            self._render(request)

    def _parseHead(self, head):
        """
        Parse and check a request line and headers.

        @return: C{(method, uri, version, headers, length)}, or None after
            refusing the request.
        """
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1") \
                or not parts[1].startswith(b"/"):
            return self._refuse(400, b"bad request line\n")
        if len(lines) > MAX_HEADERS + 1:
            return self._refuse(431, b"too many headers\n")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                return self._refuse(400, b"bad header line\n")
            name = name.lower()
            if name in headers and name in (b"content-length", b"host"):
                return self._refuse(400, b"duplicate %s header\n" % (name,))
            headers[name] = value.strip()
        method = parts[0]
        if b"transfer-encoding" in headers:
            return self._refuse(411, b"send a Content-Length, not chunks\n")
        length = headers.get(b"content-length")
        if length is None:
            if method == b"POST":
                return self._refuse(411, b"Content-Length is required\n")
            length = b"0"
        if not length.isdigit() or len(length) > 12:
            return self._refuse(400, b"bad Content-Length\n")
        if int(length) > self.site.maxBodySize:
            return self._refuse(413, b"request body too large\n")
        return method, parts[1], parts[2], headers, int(length)

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
        self.transport.write(head)
        self._current = None
        request._notify()
        if not self._keepAlive:
            self._buffer = bytearray()
            self.transport.loseConnection()
            return
        if self._paused:
            self._paused = False
            self.transport.resumeProducing()
        self._resetIdle()
        if self._buffer:
            if self._scheduled is None:
                self._scheduled = self.site.reactor.callLater(0,
                                                              self._process)
        elif self._readClosed:
            self.transport.loseConnection()

    def _refuse(self, code, text):
        """
        Answer with an error and close the connection.
        """
        self._buffer = bytearray()
        self._head = None
        self._keepAlive = False
        self._current = _REFUSED  # nothing more is read or answered
        self.transport.write(plainResponse(code, text))
        self.transport.loseConnection()
        return None

    def readConnectionLost(self):
        """
        The client sent everything it will send: answer what is complete,
        then close.
        """
        self._readClosed = True
        if self._current is None:
            self.transport.loseConnection()

    def writeConnectionLost(self):
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self._holdIdle()
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        # A request still being answered finds its response dropped.
        current, self._current = self._current, None
        if isinstance(current, LeanRequest):
            current._notify(reason)


class LeanSite(server.Site):
    """
    A twisted.web site (its resource tree, its getResourceFor) served by
    L{LeanHTTPChannel}.

    @ivar maxBodySize: the largest request body accepted, in bytes.
    """

    def __init__(self, root, maxBodySize, reactor=None):
        server.Site.__init__(self, root)
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.maxBodySize = maxBodySize
        self.noisy = False
        self.displayTracebacks = False

    def buildProtocol(self, addr):
        return LeanHTTPChannel(self)
