# -*- test-case-name: tests.test_vpsnetwork,tests.test_liveaddress -*-
"""
Adding and removing an address of a running VPS: on its C{eth0}, inside
its network namespace, and as a route of the host to its host-side veth
(what LXC's router mode does at the start; proxy ARP on the veth,
L{vcd.kernel.vethrouting}, then answers for an IPv4 address as for the
others; an IPv6 address is alone on C{eth0}, /128, and the VPS reaches
every other through the veth's link-local gateway, as at the start).

The commands are iproute2's C{ip}, run in the VPS's network namespace by
util-linux's C{nsenter --net=/proc/<init pid>/ns/net} (only the network
namespace: the programs are the host's), and on the host for the route;
each is a child process of the reactor (fork and exec at once, safe in
the threaded daemon). The host side of the VPS's veth is the one LXC's
monitor made (L{vcd.kernel.containerqueries.hostVeth}), and the routes
removed are those the host holds: nothing the VPS's root says of its own
interfaces is trusted, so it cannot point the host's routes at another
VPS. A VPS that started without addresses has no C{eth0}
(L{NoNetworkDevice}): it gets one at its next start.
"""

import ipaddress

from twisted.internet import defer
from twisted.internet.utils import getProcessOutputAndValue

from vcd.kernel.errors import KernelError
from vcd.kernel.vethrouting import IP, IPV6_GATEWAY, NSENTER

#: The environment of the commands.
ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


class NoNetworkDevice(KernelError):
    """
    The running VPS has no C{eth0}: it started without addresses.
    """


def hostPrefix(address):
    """
    @return: C{"<address>/32"} (or C{/128}): the address alone.
    """
    address = ipaddress.ip_address(address)
    return "%s/%d" % (address, address.max_prefixlen)


def _routedAddresses(listing):
    """
    The single addresses of an C{ip route show dev <veth>} listing (the
    routes LXC and L{AddressCommands} add for a VPS's addresses).
    """
    found = []
    for line in listing.splitlines():
        words = line.split()
        if not words:
            continue
        destination = words[0]
        if "/" in destination:
            destination, _, length = destination.partition("/")
            if length not in ("32", "128"):
                continue
        try:
            address = ipaddress.ip_address(destination)
        except ValueError:
            continue
        if not address.is_link_local:
            found.append(str(address))
    return found


class AddressCommands:
    """
    Runs the C{ip} commands that change the addresses of a running VPS.

    @ivar run: C{run(argv)} returning a Deferred firing with C{(output,
        status)} (output and error combined); by default a child process
        of the reactor.
    """

    def __init__(self, reactor, run=None):
        self._reactor = reactor
        self.run = run or self._spawn

    def _spawn(self, argv):
        d = getProcessOutputAndValue(argv[0], argv[1:], env=ENVIRONMENT,
                                     reactor=self._reactor)
        return d.addCallback(lambda r: (r[0] + r[1], r[2]))

    def _inside(self, pid, *args):
        return [NSENTER, "--net=/proc/%d/ns/net" % (pid,), "--", IP] + list(
            args)

    @defer.inlineCallbacks
    def _check(self, argv, allowed=()):
        output, status = yield self.run(argv)
        text = output.decode("utf-8", "replace").strip()
        if status != 0 and not any(a in text for a in allowed):
            raise KernelError("%s failed (%s): %s" % (
                " ".join(argv[argv.index(IP):] if IP in argv else argv),
                status, text))
        return text

    @defer.inlineCallbacks
    def setAddress(self, pid, veth, address, prefix, broadcast=""):
        """
        Put C{address}/C{prefix} on the VPS's C{eth0} (replacing the same
        address with another prefix; an IPv6 address alone, /128, as at
        the start), with a default route if its family had none (through
        the device for IPv4, through L{IPV6_GATEWAY} for IPv6), and route
        it from the host to C{veth}, the host side LXC made
        (L{hostVeth}).
        """
        version = "-%d" % (ipaddress.ip_address(address).version,)
        yield self._check(self._inside(pid, version, "addr", "flush", "dev",
                                       "eth0", "to", hostPrefix(address)))
        if version == "-4":
            add = ["addr", "add", "%s/%d" % (address, prefix), "broadcast",
                   broadcast or "+", "dev", "eth0"]
            default = ["default", "dev", "eth0"]
        else:
            add = ["addr", "add", hostPrefix(address), "dev", "eth0"]
            default = ["default", "via", IPV6_GATEWAY, "dev", "eth0"]
        yield self._check(self._inside(pid, version, *add))
        yield self._check(self._inside(pid, version, "route", "add",
                                       *default),
                          allowed=("File exists",))
        yield self._check([IP, version, "route", "replace",
                           hostPrefix(address), "dev", veth])

    @defer.inlineCallbacks
    def removeAddress(self, pid, veth, address=None):
        """
        Take C{address} (every address routed to C{veth} on the host, if
        None: never what the VPS lists itself) off the VPS's C{eth0} and
        remove its route on the host.

        @return: a Deferred firing with the addresses removed.
        """
        if address is None:
            addresses = []
            for version in ("-4", "-6"):
                listing = yield self._check([IP, version, "-o", "route",
                                             "show", "dev", veth])
                addresses.extend(_routedAddresses(listing))
        else:
            addresses = [address]
        for one in addresses:
            version = "-%d" % (ipaddress.ip_address(one).version,)
            yield self._check(self._inside(pid, version, "addr", "flush",
                                           "dev", "eth0", "to",
                                           hostPrefix(one)))
            yield self._check([IP, version, "route", "del", hostPrefix(one),
                               "dev", veth],
                              allowed=("No such process",))
        return addresses
