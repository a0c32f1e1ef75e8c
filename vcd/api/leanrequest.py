# -*- test-case-name: tests.test_httpchannel -*-
"""
The request of L{vcd.api.httpchannel}'s lean channel: the checks on its
head, the part of twisted.web's request that vcd's resources use, and the
formatting of its response.
"""

import io

from twisted.internet import defer
from twisted.web import http

_REASONS = http.RESPONSES
MAX_HEADERS = 100


class BadRequest(Exception):
    """
    A request head that is refused.

    @ivar code: the HTTP status to answer with.
    @ivar text: the body of the answer.
    """

    def __init__(self, code, text):
        Exception.__init__(self, code, text)
        self.code = code
        self.text = text


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


def parseHead(head, maxBodySize):
    """
    Parse and check a request line and headers.

    @param head: the request line and headers, without the blank line.
    @param maxBodySize: the largest body accepted.
    @return: C{(method, uri, version, headers, length)}, the headers a dict
        by lower-case name.
    @raise BadRequest: for a head that is refused.
    """
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1") \
            or not parts[1].startswith(b"/"):
        raise BadRequest(400, b"bad request line\n")
    if len(lines) > MAX_HEADERS + 1:
        raise BadRequest(431, b"too many headers\n")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, b"bad header line\n")
        name = name.lower()
        if name in headers and name in (b"content-length", b"host"):
            raise BadRequest(400, b"duplicate %s header\n" % (name,))
        headers[name] = value.strip()
    method = parts[0]
    if b"transfer-encoding" in headers:
        raise BadRequest(411, b"send a Content-Length, not chunks\n")
    length = headers.get(b"content-length")
    if length is None:
        if method == b"POST":
            raise BadRequest(411, b"Content-Length is required\n")
        length = b"0"
    if not length.isdigit() or len(length) > 12:
        raise BadRequest(400, b"bad Content-Length\n")
    if int(length) > maxBodySize:
        raise BadRequest(413, b"request body too large\n")
    return method, parts[1], parts[2], headers, int(length)
