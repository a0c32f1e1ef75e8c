# -*- test-case-name: tests.test_tls -*-
"""
The daemon's TLS listeners: C{ssl:} endpoint strings completed with the
certificate and key of the configuration (keys C{tlscert} and C{tlskey}),
and every listener parsed before the daemon starts, so a missing
pyOpenSSL, an unreadable key or a certificate that does not match it is a
configuration error naming the listener rather than a traceback at start.

An C{ssl:} string that names its own C{privateKey=} is used as it is
(Twisted's syntax: C{ssl:13387:interface=0.0.0.0:privateKey=KEY.pem:
certKey=CERT.pem}); one without gets C{privateKey=<tlskey>:certKey=<tlscert>}
appended. A PEM file may hold both the certificate and its key: C{tlscert}
alone then does.
"""

import re

SSL_PREFIX = "ssl:"

#: How to install what TLS needs, for the error message.
TLS_PACKAGES = "pip install 'Twisted[tls]' (pyOpenSSL and service_identity)"

_UNESCAPED_COLON = re.compile(r"(?<!\\):")


def _escape(value):
    """
    C{value} as a Twisted endpoint string parameter (C{\\}, C{:} and C{=}
    escaped).
    """
    return re.sub(r"([\\:=])", r"\\\1", value)


def _parameterNames(description):
    return {part.split("=", 1)[0]
            for part in _UNESCAPED_COLON.split(description) if "=" in part}


def completeListener(description, certificate, key):
    """
    Complete an C{ssl:} listener with the configured certificate and key.

    @param description: a Twisted server endpoint string.
    @param certificate: the PEM certificate file (C{tlscert}), or None.
    @param key: the PEM private key file (C{tlskey}), or None for the key
        in C{certificate}'s file.
    @return: C{description}, with C{privateKey=} and C{certKey=} appended
        if it is an C{ssl:} string naming no C{privateKey=}.
    @raise ValueError: an C{ssl:} string names no key and no C{tlscert}
        is configured.
    """
    if not description.startswith(SSL_PREFIX):
        return description
    if "privateKey" in _parameterNames(description):
        return description
    if not certificate:
        raise ValueError(
            "listener %r: an ssl: listener needs a certificate and its key:"
            " set tlscert and tlskey (or privateKey= and certKey= in the"
            " endpoint string)" % (description,))
    return "%s:privateKey=%s:certKey=%s" % (
        description, _escape(key or certificate), _escape(certificate))


def checkListeners(reactor, descriptions):
    """
    Parse every listener as the daemon will (reading TLS keys and
    certificates), without listening.

    @raise ValueError: naming the first listener that cannot be used, and
        for TLS without pyOpenSSL, what to install.
    """
    # Here, not at the top: vcd.config (which the clients and vshelper
    # load) imports this module for completeListener alone.
    from twisted.internet import endpoints
    for description in descriptions:
        try:
            endpoints.serverFromString(reactor, description)
        except ImportError as e:
            raise ValueError(
                "listener %r: TLS is not installed (%s): %s"
                % (description, e, TLS_PACKAGES))
        except Exception as e:
            raise ValueError("listener %r cannot be used: %s"
                                     % (description, e or type(e).__name__))
