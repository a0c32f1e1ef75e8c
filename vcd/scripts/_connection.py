# -*- test-case-name: tests.test_clients,tests.test_tls -*-
"""
The clients' XML-RPC call to the daemon: one call over a fresh
connection, with the credentials struct first and the method's argument
struct second, as every method of the manual's Part V takes them.

Over TLS (C{https://}) the daemon's certificate is checked before the
credentials are sent: against the CA certificates of C{cafile} (else the
system's), with the host name; and, with a C{pin}, its SHA-256 fingerprint
must match.  A pin without a C{cafile} is the whole check (a self-signed
certificate, trusted for being exactly that one); with a C{cafile}, both
must pass.
"""

import hashlib
import http.client
import ssl
import xml.parsers.expat
import xmlrpc.client

from vcd.scripts._clienterrors import SetupError


class PinMismatch(ssl.SSLError):
    """
    The daemon's certificate does not have the pinned fingerprint.
    """


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """
    An HTTPS connection that checks the peer certificate's SHA-256
    fingerprint right after the handshake, before anything is sent.
    """

    def __init__(self, host, pin, **kwargs):
        http.client.HTTPSConnection.__init__(self, host, **kwargs)
        self.pin = pin

    def connect(self):
        http.client.HTTPSConnection.connect(self)
        if self.pin is None:
            return
        certificate = self.sock.getpeercert(binary_form=True)
        found = hashlib.sha256(certificate or b"").hexdigest()
        if found != self.pin:
            self.sock.close()
            self.sock = None
            raise PinMismatch(
                "the daemon's certificate has the SHA-256 fingerprint %s,"
                " not the pinned %s" % (found, self.pin))


class _TLSTransport(xmlrpc.client.SafeTransport):
    """
    xmlrpc.client's HTTPS transport, with a L{_PinnedHTTPSConnection}.
    """

    def __init__(self, context, pin):
        xmlrpc.client.SafeTransport.__init__(self, context=context)
        self.pin = pin

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, x509 = self.get_host_info(host)
        self._connection = host, _PinnedHTTPSConnection(
            chost, self.pin, context=self.context)
        return self._connection[1]


def tlsContext(settings):
    """
    The TLS client context for C{settings}: verifying against its
    C{cafile} (else the system's CA certificates) with the host name, or,
    for a C{pin} without a C{cafile}, verifying nothing (the pin is
    checked after the handshake); TLS 1.2 at least.

    @raise SetupError: the CA file cannot be read.
    """
    if settings.pin is not None and settings.cafile is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        try:
            context = ssl.create_default_context(cafile=settings.cafile)
        except (OSError, ValueError) as e:
            raise SetupError("cannot read the CA file %s: %s"
                             % (settings.cafile, e))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _proxy(settings):
    if not settings.tls:
        return xmlrpc.client.ServerProxy(settings.url, allow_none=True)
    return xmlrpc.client.ServerProxy(
        settings.url, allow_none=True,
        transport=_TLSTransport(tlsContext(settings), settings.pin))


def call(settings, method, arguments):
    """
    Call C{method} on the daemon over a fresh connection, sending the
    credentials struct and the C{arguments} struct.

    @param settings: the L{vcd.scripts._clientsettings.Settings}, with the
        password resolved.

    @raise xmlrpc.client.Fault: the daemon's fault.
    @raise SetupError: the daemon could not be reached, its certificate
        was refused, or it answered something that is not XML-RPC.
    """
    proxy = _proxy(settings)
    credentials = {"username": settings.user, "password": settings.password}
    try:
        with proxy:
            return getattr(proxy, method)(credentials, arguments)
    except xmlrpc.client.ProtocolError as e:
        raise SetupError("%s answered HTTP %d %s" % (
            settings.url, e.errcode, e.errmsg))
    except (OSError, http.client.HTTPException) as e:
        raise SetupError("cannot connect to %s: %s" % (settings.url, e))
    except (xml.parsers.expat.ExpatError, xmlrpc.client.ResponseError) as e:
        raise SetupError("invalid response from %s: %s" % (settings.url, e))
