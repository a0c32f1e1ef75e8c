# -*- test-case-name: tests.test_rpc2,tests.test_wire -*-
"""
The HTTP side: C{POST /RPC2} only, the manual's header requirements, and
the choice of HTTP server (the cap on the body size is enforced by the
server, L{vcd.api.httpchannel} or L{vcd.api.twistedsite}, before anything
is read or parsed).
"""

import os
import re
import xmlrpc.client

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import http, resource, server
from zope.interface import implementer

from vcd.api.httpchannel import LeanSite
from vcd.api.interfaces import IClientAddress
from vcd.api.twistedsite import CappedSite
from vcd.api.xmlrpcparse import MalformedRequest, parseRequest
from vcd.config import DEFAULT_HTTP_SERVER, DEFAULT_MAX_BODY
from vcd.faults import MEINVAL, MESYS, VCDFault

METHOD_NAME = re.compile(r"[A-Za-z0-9_.:/]{1,256}")

#: The HTTP servers, by the name the C{httpserver} setting gives.
SITES = {"lean": LeanSite, "twisted": CappedSite}


class RPC2(resource.Resource):
    """
    The XML-RPC resource at C{/RPC2}: parses a call with
    L{vcd.api.xmlrpcparse}, hands it to a L{vcd.api.dispatch.Dispatcher}
    and writes its result or fault.
    """

    log = Logger()
    isLeaf = True
    allowedMethods = (b"POST",)

    def __init__(self, dispatcher):
        resource.Resource.__init__(self)
        self.dispatcher = dispatcher

    def render(self, request):
        """
        404 below C{/RPC2}, 405 for anything but POST (HEAD included).
        """
        if request.postpath not in ([], [b""]):
            return resource.NoResource().render(request)
        if request.method != b"POST":
            raise server.UnsupportedMethod(self.allowedMethods)
        return self.render_POST(request)

    def render_POST(self, request):
        """
        Answer one call: at once if the dispatcher has the result, else
        when it has it (unless the client went away meanwhile).
        """
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
            return self.encode(VCDFault(
                MEINVAL, "malformed XML-RPC request: %s" % (str(e)[:200],)))
        if not isinstance(methodName, str) \
                or not METHOD_NAME.fullmatch(methodName):
            return self.encode(VCDFault(MEINVAL, "method name must be 1-256"
                                        " characters of [A-Za-z0-9_.:/]"))
        result = self.dispatcher.dispatch(methodName, params,
                                          PeerAddress(request))
        if not isinstance(result, defer.Deferred):
            return self.encode(result)
        lost = []
        request.notifyFinish().addErrback(lost.append)
        result.addErrback(self._unexpected)
        result.addCallback(self._respond, request, lost)
        return server.NOT_DONE_YET

    def _respond(self, result, request, lost):
        """
        Send a result that came later, if the client is still there.
        """
        if lost:
            return
        content = self.encode(result)
        request.setHeader(b"content-length", b"%d" % (len(content),))
        request.write(content)
        request.finish()

    def _unexpected(self, failure):
        """
        The dispatcher's Deferreds never fail; should one, its client gets
        MESYS.
        """
        if isinstance(failure.value, xmlrpc.client.Fault):
            return failure.value
        self.log.failure("unexpected error", failure)
        return VCDFault(MESYS, "internal error")

    def encode(self, result):
        """
        @param result: a method's result or an L{xmlrpc.client.Fault}.
        @return: the XML-RPC response (bytes, UTF-8).
        """
        if not isinstance(result, xmlrpc.client.Fault):
            result = (result,)
        try:
            content = xmlrpc.client.dumps(result, methodresponse=True,
                                          allow_none=True)
        except Exception as e:
            self.log.failure("cannot encode a result")
            content = xmlrpc.client.dumps(VCDFault(
                MESYS, "internal error: the result cannot be encoded: %s"
                % (e,)), methodresponse=True, allow_none=True)
        return content.encode("utf-8")


@implementer(IClientAddress)
class PeerAddress:
    """
    The client's address, formatted only when a log line needs it.
    """

    def __init__(self, request):
        self._request = request

    @property
    def host(self):
        """
        See L{IClientAddress.host}.
        """
        return getattr(self._request.getClientAddress(), "host", "unix")

    def localSocket(self):
        """
        See L{IClientAddress.localSocket}.
        """
        name = getattr(self._request.channel.transport.getHost(), "name",
                       None)
        return os.fsdecode(name) if name else None

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


def makeSite(dispatcher, maxBodySize=DEFAULT_MAX_BODY, reactor=None,
             httpServer=DEFAULT_HTTP_SERVER):
    """
    Build the HTTP site serving C{dispatcher} at C{/RPC2}: the twisted.web
    resource tree, served by the lean channel of L{vcd.api.httpchannel}
    or by twisted.web's own (L{vcd.api.twistedsite}).

    @param httpServer: a key of L{SITES}.
    """
    return SITES[httpServer](Root(RPC2(dispatcher)), maxBodySize, reactor)
