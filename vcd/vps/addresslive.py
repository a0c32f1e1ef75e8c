# -*- test-case-name: tests.test_vpsnetwork,tests.test_addresslive -*-
"""
A VPS's addresses change while it runs: C{vxdb.nx.addr.set} and
C{.remove} put the address on (or take it off) the running VPS's
C{eth0} and the host's route to it (L{vcd.kernel.liveaddress}), once
VXDB has the change.

A VPS that started without addresses has no network device: its first
address applies at its next start. Like every live change it runs under
the VPS's lock (L{vcd.api.livelock}), so it never races a start or stop.
When the kernel refuses, the reply says the change applies at
the next start and why (VXDB has it already).
"""

import ipaddress

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from vcd.api.interfaces import ILiveChange
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.kernel.errors import KernelError
from vcd.kernel.liveaddress import NoNetworkDevice
from vcd.vxdb import settings, tables


def prefixLength(address, netmask):
    """
    The prefix length of a VXDB netmask (dotted for IPv4, a number for
    IPv6).
    """
    if ipaddress.ip_address(address).version == 6 or netmask.isdigit():
        return int(netmask)
    return ipaddress.IPv4Network("0.0.0.0/" + netmask).prefixlen


def _storedAddress(cursor, xid, address):
    rows = settings.keyedRows(cursor, tables.ADDRESSES, xid, address)
    broadcast = settings.getRow(cursor, tables.BROADCAST, xid)
    return (rows[0]["netmask"] if rows else None,
            broadcast["broadcast"] if broadcast else "")


@implementer(ILiveChange)
class LiveAddressChange:
    """
    The live change of C{vxdb.nx.addr.set} and C{.remove} (which one, by
    the name of the method called).
    """

    log = Logger()
    doc = ("Applies at once to a running virtual server that started with"
           " an address (so it has eth0): the address is put on or taken"
           " off its eth0 and routed from the host; one that started"
           " without addresses gets its network device at its next start.")

    @defer.inlineCallbacks
    def __call__(self, call, args):
        services = call.services
        name, address = args["name"], args["addr"]
        if not (yield services.kernel.isRunning(name)):
            return "%s (it is not running)" % (NEXT_START,)
        try:
            if call.method.name.endswith(".remove"):
                yield services.kernel.removeAddress(name, address or None)
            else:
                netmask, broadcast = yield services.db.read(
                    _storedAddress, call.vps.xid, address)
                if netmask is None:
                    return "%s (it was removed meanwhile)" % (NEXT_START,)
                yield services.kernel.setAddress(
                    name, address, prefixLength(address, netmask), broadcast)
        except NoNetworkDevice:
            return ("%s (it started without addresses, so it has no network"
                    " device until then)" % (NEXT_START,))
        except KernelError as e:
            if not (yield services.kernel.isRunning(name)):
                return "%s (it stopped meanwhile)" % (NEXT_START,)
            self.log.warn("live address change of {name} failed: {why}",
                          name=name, why=str(e))
            return "%s (the kernel refused it now: %s)" % (NEXT_START, e)
        return APPLIED_NOW
