# -*- test-case-name: tests.test_httpchannel,tests.test_connectionlimits -*-
"""
twisted.web's own HTTP server for vcd's resource tree, with the limits
L{vcd.api.httpchannel} enforces that L{twisted.web.server.Site} does not
have: a cap on the body size (413) checked before the body is read, no
chunked bodies and no POST without a Content-Length (411), the caps of
L{vcd.api.connectionlimits.ConnectionLimits} on connections and on all
bodies at once (503), and deadlines for a request's head and body (408).
Its channel already reads little ahead of the request being answered;
L{CappedChannel} makes it stop reading whenever the client leaves answers
unread (twisted.web's does not while it is answering a request, so a
pipelining client that reads nothing made it buffer answers without end).

It costs more CPU per request than the lean channel; it is there for
setups that want the server everyone else runs (C{httpserver = twisted}).
"""

from twisted.web import http, server

from vcd.api.connectionlimits import ConnectionLimits
from vcd.api.httpchannel import plainResponse


class CappedChannel(http.HTTPChannel):
    """
    twisted.web's channel, counted against its site's limits, with
    deadlines: a request's head must be in within the limits'
    C{headTimeout} of the first byte the channel reads of it, its body
    within L{ConnectionLimits.bodyDeadline} of the head.

    @ivar clientAddress: the peer's address as the site admitted it.
    """

    clientAddress = None
    _deadline = None
    _abort = None
    _answering = False
    _writeFull = False
    _held = None  # an answered request whose end waits for the client
    _stalled = None  # the abort while the transport is full

    def _setDeadline(self, seconds, expired):
        self._cancelDeadline()
        self._deadline = self.callLater(seconds, expired)

    def _cancelDeadline(self):
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def dataReceived(self, data):
        if self._abort is not None:
            return  # refused: nothing more is read
        if not self._answering and self._deadline is None:
            self._setDeadline(self.site.limits.headTimeout, self._tooSlow)
        http.HTTPChannel.dataReceived(self, data)

    def rawDataReceived(self, data):
        if self._abort is None:
            http.HTTPChannel.rawDataReceived(self, data)

    def expectBody(self, length):
        """
        A request's head is in and its body of C{length} bytes accepted:
        the body's deadline starts.
        """
        self._setDeadline(self.site.limits.bodyDeadline(length), self._tooSlow)

    def allContentReceived(self):
        self._cancelDeadline()
        self._answering = True
        http.HTTPChannel.allContentReceived(self)

    def pauseProducing(self):
        """
        The transport's buffer is full: besides what twisted.web's channel
        does, stop reading even while a request is being answered, and
        answer no further pipelined request (see L{requestDone}) until the
        client has read it all; one that has not within C{timeOut} seconds
        is cut off.
        """
        http.HTTPChannel.pauseProducing(self)
        self.transport.pauseProducing()
        self._writeFull = True
        if self._stalled is None and self.timeOut:
            self._stalled = self.callLater(self.timeOut,
                                           self.forceAbortClient)

    def resumeProducing(self):
        """
        The client read what was sent: go on, with the request whose end
        was held back, if any.
        """
        self._writeFull = False
        self._cancelStalled()
        http.HTTPChannel.resumeProducing(self)
        held, self._held = self._held, None
        if held is not None:
            self.requestDone(held)

    def _cancelStalled(self):
        if self._stalled is not None and self._stalled.active():
            self._stalled.cancel()
        self._stalled = None

    def requestDone(self, request):
        """
        A request is answered. twisted.web's channel then handles what was
        pipelined after it at once, however full the transport: while it
        is full, that waits until the client reads.
        """
        if self._writeFull:
            self._held = request
            return
        self._answering = False
        http.HTTPChannel.requestDone(self, request)

    def _tooSlow(self):
        self._deadline = None
        self.refuse(408, b"request not received in time\n")

    def refuse(self, code, text):
        """
        Answer with an error and close the connection (aborting it if it
        is not gone after C{abortTimeout} seconds); nothing more is read.
        """
        if self._abort is not None:
            return
        self._cancelDeadline()
        self._answering = True
        self.transport.write(plainResponse(code, text))
        self.loseConnection()
        self.clearLineBuffer()  # what was read after the head
        self._abort = self.callLater(self.abortTimeout, self.forceAbortClient)

    def connectionLost(self, reason):
        self._cancelDeadline()
        self._cancelStalled()
        if self._abort is not None and self._abort.active():
            self._abort.cancel()
        self._abort = None
        self.clearLineBuffer()
        self.site.limits.release(self.clientAddress)
        self.clientAddress = None
        http.HTTPChannel.connectionLost(self, reason)


class CappedRequest(server.Request):
    """
    A L{twisted.web.server.Request} that refuses, as soon as its headers
    are in, a body over its site's C{maxBodySize}, of unknown length, or
    that does not fit in what its site's limits leave of all bodies.
    """

    refused = False
    _reserved = 0

    def gotLength(self, length):
        """
        The channel has the request's headers: refuse a body that is too
        large or chunked before any of it is read.

        @param length: the Content-Length, or None for a chunked body.
        """
        limits = self.channel.site.limits
        if length is None:
            self._refuse(411, b"send a Content-Length, not chunks\n")
        elif length > self.channel.site.maxBodySize:
            self._refuse(413, b"request body too large\n")
        else:
            reserved = limits.reserveBody(self.channel.clientAddress, length)
            if reserved is None:
                self._refuse(503, b"too many request bodies at once\n")
            else:
                self._reserved = reserved
                self.channel.expectBody(length)
        if self.refused:
            # The channel would otherwise answer "100 Continue" next, after
            # the refusal.
            self.requestHeaders.removeHeader(b"expect")
            length = 0
        server.Request.gotLength(self, length)

    def handleContentChunk(self, data):
        """
        Keep a piece of the body, unless the request was refused.
        """
        if not self.refused:
            server.Request.handleContentChunk(self, data)

    def process(self):
        """
        Render the request; a POST must say how long its body is.
        """
        if self.refused:
            return
        if self.method == b"POST" \
                and not self.requestHeaders.hasHeader(b"content-length"):
            self._refuse(411, b"Content-Length is required\n")
            return
        server.Request.process(self)

    def _releaseBody(self):
        reserved, self._reserved = self._reserved, 0
        if reserved:
            self.channel.site.limits.releaseBody(reserved)

    def finish(self):
        """
        Send the rest of the response; the body's room is given back.
        """
        self._releaseBody()
        return server.Request.finish(self)

    def connectionLost(self, reason):
        """
        The connection is gone before the response; the body's room is
        given back.
        """
        self._releaseBody()
        server.Request.connectionLost(self, reason)

    def _refuse(self, code, text):
        """
        Answer with an error and close the connection, as the channel does
        with a request it cannot parse; the request is never rendered.
        """
        self.refused = True
        self.channel.refuse(code, text)


class CappedSite(server.Site):
    """
    A L{twisted.web.server.Site} whose connections are L{CappedChannel}s
    and requests L{CappedRequest}s.

    @ivar maxBodySize: the largest request body accepted, in bytes (read
        for every request, so it may change while serving).
    @ivar limits: the L{ConnectionLimits} its TCP connections are held to.
    """

    protocol = CappedChannel
    requestFactory = CappedRequest
    displayTracebacks = False
    noisy = False

    def __init__(self, root, maxBodySize, reactor=None):
        server.Site.__init__(self, root, reactor=reactor)
        self.maxBodySize = maxBodySize
        self.limits = ConnectionLimits()

    def buildProtocol(self, addr):
        """
        A channel for a new connection, or None (it is closed) if the
        limits do not admit it.
        """
        if not self.limits.admit(addr):
            return None
        channel = server.Site.buildProtocol(self, addr)
        channel.clientAddress = addr
        return channel
