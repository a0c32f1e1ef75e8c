# -*- test-case-name: tests.test_vpsnetwork,tests.test_manual_table -*-
"""
C{vx.netstatus}: the network traffic of a running VPS, per network
interface of its own network namespace (its loopback and its C{eth0}),
from the kernel's own counters (L{vcd.kernel.netdev}).

The original answered one struct per socket family with the members
C{type, recvp, recvb, sendp, sendb, failp, failb}; a VPS here has its own
interfaces, so C{type} names the interface. The counters are uint64
decimal strings (they outgrow XML-RPC's 32-bit int). C{failb} is absent:
the kernel counts no bytes of the packets it fails to receive or send.
"""

from zope.interface import implementer
from twisted.internet import defer
from twisted.plugin import IPlugin

from vcd.api.families import nameParam
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_VPS, Method
from vcd.faults import MESTOPPED, VCDFault
from vcd.kernel.errors import KernelError


def interfaceStruct(counters):
    """
    @param counters: a L{vcd.kernel.netdev.InterfaceCounters}.
    @return: its struct for C{vx.netstatus}.
    """
    return {"type": counters.name,
            "recvp": str(counters.received["packets"]),
            "recvb": str(counters.received["bytes"]),
            "sendp": str(counters.sent["packets"]),
            "sendb": str(counters.sent["bytes"]),
            "failp": str(counters.failedPackets())}


@defer.inlineCallbacks
def _netstatus(call, args):
    try:
        interfaces = yield call.services.kernel.interfaceCounters(
            args["name"])
    except KernelError:
        raise VCDFault(MESTOPPED, "virtual server %r is not running"
                       % (args["name"],))
    return [interfaceStruct(c) for c in interfaces]


@implementer(IPlugin, IMethodNamespace)
class NetStatusNamespace:
    """
    The C{vx.netstatus} method (a C{vx} method of the original's that the
    manual lacks).
    """

    name = "vx"
    description = "Network traffic of a running virtual server"

    methods = (
        Method("vx.netstatus", "INFO", OWNER_VPS, [nameParam()], "array",
               "Network traffic of a running virtual server, from the"
               " kernel's counters since its start: one struct per network"
               " interface it has (its loopback lo, and eth0 if it has"
               " addresses): type (the interface), recvp and recvb"
               " (packets and bytes received), sendp and sendb (sent),"
               " failp (packets dropped or in error, both ways), each a"
               " uint64 decimal string. The original's failb is absent:"
               " the kernel counts no bytes of failed packets.",
               run=_netstatus),
    )


netstatus = NetStatusNamespace()
