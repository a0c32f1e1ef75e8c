# -*- test-case-name: tests.test_httpchannel -*-
"""
twisted.web's own HTTP server for vcd's resource tree, with the limits
L{vcd.api.httpchannel} enforces that L{twisted.web.server.Site} does not
have: a cap on the body size (413) checked before the body is read, no
chunked bodies and no POST without a Content-Length (411).

It costs more CPU per request than the lean channel; it is there for
setups that want the server everyone else runs (C{httpserver = twisted}).
"""

from twisted.web import server

from vcd.api.httpchannel import plainResponse


class CappedRequest(server.Request):
    """
    A L{twisted.web.server.Request} that refuses, as soon as its headers
    are in, a body over its site's C{maxBodySize} or of unknown length.
    """

    refused = False

    def gotLength(self, length):
        """
        The channel has the request's headers: refuse a body that is too
        large or chunked before any of it is read.

        @param length: the Content-Length, or None for a chunked body.
        """
        if length is None:
            self._refuse(411, b"send a Content-Length, not chunks\n")
        elif length > self.channel.site.maxBodySize:
            self._refuse(413, b"request body too large\n")
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

    def _refuse(self, code, text):
        """
        Answer with an error and close the connection, as the channel does
        with a request it cannot parse; the request is never rendered.
        """
        self.refused = True
        self.channel.transport.write(plainResponse(code, text))
        self.channel.loseConnection()


class CappedSite(server.Site):
    """
    A L{twisted.web.server.Site} whose requests are L{CappedRequest}s.

    @ivar maxBodySize: the largest request body accepted, in bytes (read
        for every request, so it may change while serving).
    """

    requestFactory = CappedRequest
    displayTracebacks = False
    noisy = False

    def __init__(self, root, maxBodySize, reactor=None):
        server.Site.__init__(self, root, reactor=reactor)
        self.maxBodySize = maxBodySize
