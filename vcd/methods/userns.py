# -*- test-case-name: tests.test_usernsmethods -*-
"""
The C{vxdb.vx.userns} namespace (an addition to the manual): which kind of
VPS a VPS is. Every VPS is unprivileged (its own user namespace, its own
range of host ids) unless an administrator makes it privileged, which
hands its root the host's root: for trusted VPSes only. A change applies
at the VPS's next start; a running VPS keeps the kind it started with.
"""

from zope.interface import implementer
from twisted.plugin import IPlugin

from vcd.api import arguments as A
from vcd.api.families import AtNextStart, nameParam
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_VPS, Method, Param
from vcd.faults import MEPERM, VCDFault
from vcd.vxdb import userns


def describe(ns):
    """
    @param ns: a L{userns.UserNamespace} or None.
    @return: its struct for the API.
    """
    if ns is None:
        return {"kind": "unmigrated", "privileged": False, "idbase": 0,
                "idcount": 0}
    return {"kind": "privileged" if ns.privileged else "unprivileged",
            "privileged": ns.privileged, "idbase": ns.base,
            "idcount": ns.count}


def _get(call, cursor, args):
    return describe(userns.usernsOf(cursor, call.vps.xid))


def _set(call, cursor, args):
    if args["privileged"] and not call.user.admin:
        raise VCDFault(MEPERM, "only administrators may make a virtual"
                       " server privileged")
    if userns.usernsOf(cursor, call.vps.xid) is None:
        raise VCDFault(MEPERM, "virtual server %r has no user namespace yet"
                       % (args["name"],))
    userns.setPrivileged(cursor, call.vps.xid, args["privileged"])


@implementer(IPlugin, IMethodNamespace)
class UserNamespaceNamespace:
    """
    The C{vxdb.vx.userns} namespace.
    """

    name = "vxdb.vx.userns"
    description = "Privileged or unprivileged virtual servers"

    def __init__(self):
        self.methods = (
            Method("vxdb.vx.userns.get", "INFO", OWNER_VPS, [nameParam()],
                   "struct", "The kind of a virtual server: kind"
                   " (unprivileged or privileged), privileged (bool), and"
                   " the host ids of its root and how many it has (idbase,"
                   " idcount).", transaction=_get, readOnly=True),
            Method("vxdb.vx.userns.set", "CFLAG", OWNER_VPS,
                   [nameParam(),
                    Param("privileged", A.Bool(),
                          doc="True to run it privileged (its root is the"
                          " host's root: trusted VPSes only)")],
                   "nil", "Make a virtual server privileged"
                   " (administrators only) or unprivileged, from its next"
                   " start (a copy's files are given to its ids then).",
                   transaction=_set,
                   live=AtNextStart("a running virtual server keeps the"
                                    " kind it started as")),
        )


namespace = UserNamespaceNamespace()
