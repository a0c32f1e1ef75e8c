# -*- test-case-name: tests.test_manual_table -*-
"""
Fault codes of the manual (section 9.3) and the exception that carries them.

Every error a method reports travels as an XML-RPC fault whose code is one
of the constants below and whose message names the argument or object that
was wrong.
"""

from twisted.web.xmlrpc import Fault

MEAUTH = 100
MEPERM = 101
MENOUSER = 102
MEINVAL = 200
MEEXIST = 201
MENOVPS = 202
MENOVG = 203
MESTOPPED = 300
MERUNNING = 301
MEBUSY = 302
MEVXDB = 400
MECONF = 401
MESYS = 500
MEEXEC = 1000
#: The original daemon's code for an unknown method.
MENOMETHOD = -506

FAULT_NAMES = {
    MEAUTH: "MEAUTH",
    MEPERM: "MEPERM",
    MENOUSER: "MENOUSER",
    MEINVAL: "MEINVAL",
    MEEXIST: "MEEXIST",
    MENOVPS: "MENOVPS",
    MENOVG: "MENOVG",
    MESTOPPED: "MESTOPPED",
    MERUNNING: "MERUNNING",
    MEBUSY: "MEBUSY",
    MEVXDB: "MEVXDB",
    MECONF: "MECONF",
    MESYS: "MESYS",
    MEEXEC: "MEEXEC",
    MENOMETHOD: "MENOMETHOD",
}


def faultName(code):
    """
    Return the manual's constant name for a fault code (C{MEEXEC} for every
    code from 1000 up).
    """
    if code >= MEEXEC:
        return "MEEXEC"
    return FAULT_NAMES.get(code, "UNKNOWN")


class VCDFault(Fault):
    """
    A fault with one of the manual's codes; raise it from a method.
    """

    def __init__(self, code, message):
        Fault.__init__(self, code, message)

    def __repr__(self):
        return "<VCDFault %s(%d): %s>" % (
            faultName(self.faultCode), self.faultCode, self.faultString)


def invalid(argument, why):
    """
    Build the MEINVAL fault for a bad argument: the message names it.
    """
    return VCDFault(MEINVAL, "invalid argument %r: %s" % (argument, why))
