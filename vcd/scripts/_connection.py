# -*- test-case-name: tests.test_clients -*-
"""
The clients' XML-RPC call to the daemon: one call over a fresh
connection, with the credentials struct first and the method's argument
struct second, as every method of the manual's Part V takes them.
"""

import http.client
import xml.parsers.expat
import xmlrpc.client

from vcd.scripts._clienterrors import SetupError


def call(settings, method, arguments):
    """
    Call C{method} on the daemon over a fresh connection, sending the
    credentials struct and the C{arguments} struct.

    @param settings: the L{vcd.scripts._clientsettings.Settings}, with the
        password resolved.

    @raise xmlrpc.client.Fault: the daemon's fault.
    @raise SetupError: the daemon could not be reached or answered
        something that is not XML-RPC.
    """
    proxy = xmlrpc.client.ServerProxy(settings.url, allow_none=True)
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
