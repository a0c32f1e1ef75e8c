"""
The HTTP side: C{POST /RPC2} only, the manual's header requirements (the
cap on the body size is enforced by L{vcd.api.httpchannel} before anything is
read or parsed).
"""

import re

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import http, resource, server, xmlrpc as txxmlrpc

from vcd.faults import MEINVAL, MESYS, VCDFault
from vcd.api.httpchannel import LeanSite
from vcd.api.xmlrpcparse import MalformedRequest, parseRequest

METHOD_NAME = re.compile(r"[A-Za-z0-9_.:/]{1,256}")
DEFAULT_MAX_BODY = 1024 * 1024


class RPC2(txxmlrpc.XMLRPC):
    """
    The XML-RPC resource at C{/RPC2}, handing every call to a
    L{vcd.api.dispatch.Dispatcher}.
    """

    log = Logger()

    def __init__(self, dispatcher):
        txxmlrpc.XMLRPC.__init__(self, allowNone=True, useDateTime=False)
        self.dispatcher = dispatcher

    isLeaf = True

    def render(self, request):
        if request.postpath not in ([], [b""]):
            return resource.NoResource().render(request)
        return txxmlrpc.XMLRPC.render(self, request)

    def render_POST(self, request):
        contentType = (request.getHeader(b"content-type") or b"").split(
            b";")[0].strip().lower()
        if contentType != b"text/xml":
            return _httpError(request, http.UNSUPPORTED_MEDIA_TYPE,
                              b"Content-Type must be text/xml\n")
        request.content.seek(0, 0)
        body = request.content.read()
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        try:
            params, methodName = parseRequest(body)
        except MalformedRequest as e:
            self._cbRender(VCDFault(MEINVAL, "malformed XML-RPC request: %s"
                                    % (str(e)[:200],)), request)
            return server.NOT_DONE_YET
        if not isinstance(methodName, str) \
                or not METHOD_NAME.fullmatch(methodName):
            self._cbRender(VCDFault(MEINVAL, "method name must be 1-256"
                                    " characters of [A-Za-z0-9_.:/]"), request)
            return server.NOT_DONE_YET
        # A response to a client that went away is dropped by the channel.
        result = self.dispatcher.dispatch(methodName, params,
                                          PeerAddress(request))
        if isinstance(result, defer.Deferred):
            result.addErrback(self._ebRender)
            result.addCallback(self._cbRender, request)
        else:
            self._cbRender(result, request)
        return server.NOT_DONE_YET

    def _ebRender(self, failure):
        if isinstance(failure.value, txxmlrpc.Fault):
            return failure.value
        self.log.failure("unexpected error", failure)
        return VCDFault(MESYS, "internal error")


class PeerAddress:
    """
    The client's address, formatted only when a log line needs it.
    """

    def __init__(self, request):
        self._request = request

    def __str__(self):
        client = self._request.getClientAddress()
        return "%s:%s" % (getattr(client, "host", client),
                          getattr(client, "port", ""))

    def __format__(self, spec):
        return format(str(self), spec)


def _httpError(request, code, text):
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/plain")
    return text


class Root(resource.Resource):
    """
    The site root: only C{/RPC2} exists; anything else is 404.
    """

    def __init__(self, rpc):
        resource.Resource.__init__(self)
        self.putChild(b"RPC2", rpc)


def makeSite(dispatcher, maxBodySize=DEFAULT_MAX_BODY, reactor=None):
    """
    Build the HTTP site serving C{dispatcher} at C{/RPC2}: the twisted.web
    resource tree, served by the lean channel of L{vcd.api.httpchannel}.
    """
    return LeanSite(Root(RPC2(dispatcher)), maxBodySize, reactor)
