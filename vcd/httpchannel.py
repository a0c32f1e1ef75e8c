"""
A lean HTTP/1.1 server channel for twisted.web resources.

twisted.web's own channel and request cost about 600 us of CPU per request
on the hosts vcd runs on, more than all of vcd's own work on a call; its
XML-RPC clients open a new connection per request, so that cost is paid
on every call. This channel parses just what an XML-RPC server needs (a
request line, headers, a body with a Content-Length) and hands a small
request object to the same resource tree (L{vcd.resource.Root} with the
L{twisted.web.xmlrpc.XMLRPC} resource at C{/RPC2}), which renders it as
under twisted.web.

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
    The part of L{twisted.web.iweb.IRequest} the resources of vcd use.
    """

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
        self._finishedDeferreds = []
        self.site = None
        self.sitepath = []
        self.args = {}

    def getHeader(self, name):
        """
        @return: the value of request header C{name}, or None.
        """
        return self.requestHeaders.get(name.lower())

    def getAllHeaders(self):
        """
        @return: every request header, lower-case names to values.
        """
        return dict(self.requestHeaders)

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
        for d in self._finishedDeferreds:
            d.callback(None)
        self._finishedDeferreds = []

    def notifyFinish(self):
        """
        @return: a Deferred firing when the response is sent, or failing
            if the connection is lost first.
        """
        d = defer.Deferred()
        if self.finished:
            d.callback(None)
        else:
            self._finishedDeferreds.append(d)
        return d

    def connectionLost(self, reason):
        """
        The client went away before the response.
        """
        deferreds, self._finishedDeferreds = self._finishedDeferreds, []
        for d in deferreds:
            d.errback(reason)

    def getClientAddress(self):
        """
        @return: the peer's address.
        """
        return self.channel.transport.getPeer()

    def isSecure(self):
        """
        @return: whether the connection is TLS.
        """
        return self.channel.secure

    def prePathURL(self):
        return b"/" + b"/".join(self.prepath)

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


@implementer(IHalfCloseableProtocol)
class LeanHTTPChannel(protocol.Protocol):
    """
    One HTTP/1.x connection; requests are handled one at a time, in order.
    A client that half-closes its side still gets its answers.
    """

    secure = False

    def __init__(self, site):
        self.site = site
        self._buffer = b""
        self._current = None
        self._keepAlive = False
        self._idle = None
        self._readClosed = False
        self._continued = False

    def connectionMade(self):
        self._resetIdle()

    def _resetIdle(self):
        timeout = getattr(self.site, "timeOut", None)
        if not timeout:
            return
        if self._idle is not None and self._idle.active():
            self._idle.reset(timeout)
        else:
            self._idle = self.site.reactor.callLater(
                timeout, self.transport.loseConnection)

    def dataReceived(self, data):
        self._buffer += data
        if len(self._buffer) > self.site.maxBodySize + MAX_HEADER_BYTES \
                and self._current is not None:
            self._refuse(413, b"request body too large\n")
            return
        self._process()

    def _process(self):
        while self._current is None and self._buffer:
            head, sep, rest = self._buffer.partition(b"\r\n\r\n")
            if not sep:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    self._refuse(431, b"request headers too large\n")
                return
            parsed = self._parseHead(head)
            if parsed is None:
                return
            method, uri, version, headers = parsed
            length = headers.get(b"content-length")
            if b"transfer-encoding" in headers:
                self._refuse(411, b"send a Content-Length, not chunks\n")
                return
            if length is None:
                if method == b"POST":
                    self._refuse(411, b"Content-Length is required\n")
                    return
                length = 0
            elif not length.isdigit() or len(length) > 12:
                self._refuse(400, b"bad Content-Length\n")
                return
            length = int(length)
            if length > self.site.maxBodySize:
                self._refuse(413, b"request body too large\n")
                return
            if len(rest) < length:
                # Wait for the whole body; a client that asked (curl does,
                # for larger bodies) is told to send it.
                if not self._continued and headers.get(
                        b"expect", b"").lower() == b"100-continue":
                    self._continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            self._continued = False
            self._buffer = rest[length:]
            connection = headers.get(b"connection", b"").lower()
            self._keepAlive = (connection != b"close" if version == b"HTTP/1.1"
                               else connection == b"keep-alive")
            self._resetIdle()
            request = LeanRequest(self, method, uri, version, headers,
                                  rest[:length])
            self._current = request
            self._render(request)

    def _parseHead(self, head):
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1") \
                or not parts[1].startswith(b"/"):
            self._refuse(400, b"bad request line\n")
            return None
        if len(lines) > MAX_HEADERS + 1:
            self._refuse(431, b"too many headers\n")
            return None
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                self._refuse(400, b"bad header line\n")
                return None
            headers[name.lower()] = value.strip()
        return parts[0], parts[1], parts[2], headers

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
        Send a finished request's response; go on with the next one.
        """
        if request is not self._current or self.transport is None:
            return
        self.transport.write(request.responseHead(self._keepAlive))
        self._current = None
        if not self._keepAlive:
            self._buffer = b""
            self.transport.loseConnection()
            return
        self._process()
        if self._readClosed and self._current is None:
            self.transport.loseConnection()

    def _refuse(self, code, text):
        self._buffer = b""
        self._current = LeanRequest(self, b"", b"/", b"HTTP/1.1", {}, b"")
        self._keepAlive = False
        self._current.setResponseCode(code)
        self._current.setHeader(b"content-type", b"text/plain")
        self._current.write(text)
        self._current.finish()

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
        if self._idle is not None and self._idle.active():
            self._idle.cancel()
        if self._current is not None:
            current, self._current = self._current, None
            current.connectionLost(reason)


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
