# -*- test-case-name: tests.test_vpsnetwork,tests.test_liveaddress -*-
"""
Adding and removing an address of a running VPS: on its C{eth0}, inside
its network namespace, and as a route of the host to its host-side veth
(what LXC's router mode does at the start; proxy ARP on the veth,
L{vcd.kernel.vethrouting}, then answers for the address as for the
others).

The commands are iproute2's C{ip}, run in the VPS's network namespace by
util-linux's C{nsenter --net=/proc/<init pid>/ns/net} (only the network
namespace: the programs are the host's), and on the host for the route;
each is a child process of the reactor (fork and exec at once, safe in
the threaded daemon). A VPS that started without addresses has no
C{eth0} (L{NoNetworkDevice}): it gets one at its next start.
"""

import ipaddress
import re
import socket

from twisted.internet import defer
from twisted.internet.utils import getProcessOutputAndValue

from vcd.kernel.errors import KernelError
from vcd.kernel.vethrouting import IP, NSENTER
#: The environment of the commands.
ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
_PEER = re.compile(r"^(\d+):\s*eth0@if(\d+):", re.M)


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


def hostSide(inside, outside, sysfs="/sys/class/net"):
    """
    The host's name of the peer of a VPS's C{eth0}, checked: a VPS root
    with NET_ADMIN could make an C{eth0} of its own whose C{@if} index
    names a host interface; the host side LXC made is a C{veth*} device
    whose peer index is that C{eth0}'s.

    @param inside: the index of C{eth0} in the VPS.
    @param outside: the index of its peer on the host.
    @raise KernelError: if that is not so.
    """
    try:
        name = socket.if_indextoname(outside)
        with open("%s/%s/iflink" % (sysfs, name)) as f:
            peer = int(f.read())
    except (OSError, ValueError):
        raise KernelError("the host side of its eth0 (index %d) is gone"
                          % (outside,))
    if not name.startswith("veth") or peer != inside:
        raise KernelError("its eth0 is not the veth it started with")
    return name


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
    def hostDevice(self, pid):
        """
        The name of the host side of the VPS's C{eth0}.

        @raise NoNetworkDevice: if it has none.
        """
        output, status = yield self.run(self._inside(pid, "-o", "link",
                                                     "show"))
        if status != 0:
            raise KernelError("cannot list the interfaces of pid %d: %s"
                              % (pid, output.decode("utf-8", "replace")))
        match = _PEER.search(output.decode("utf-8", "replace"))
        if match is None:
            raise NoNetworkDevice("it has no network device (it started"
                                  " without addresses)")
        return hostSide(int(match.group(1)), int(match.group(2)))

    @defer.inlineCallbacks
    def setAddress(self, pid, address, prefix, broadcast=""):
        """
        Put C{address}/C{prefix} on the VPS's C{eth0} (replacing the same
        address with another prefix), with a default route through the
        device if its family had none, and route it from the host.
        """
        veth = yield self.hostDevice(pid)
        version = "-%d" % (ipaddress.ip_address(address).version,)
        yield self._check(self._inside(pid, version, "addr", "flush", "dev",
                                       "eth0", "to", hostPrefix(address)))
        add = ["addr", "add", "%s/%d" % (address, prefix), "dev", "eth0"]
        if version == "-4":
            add[3:3] = ["broadcast", broadcast or "+"]
        yield self._check(self._inside(pid, version, *add))
        yield self._check(self._inside(pid, version, "route", "add",
                                       "default", "dev", "eth0"),
                          allowed=("File exists",))
        yield self._check([IP, version, "route", "replace",
                           hostPrefix(address), "dev", veth])

    @defer.inlineCallbacks
    def removeAddress(self, pid, address=None):
        """
        Take C{address} (every address, if None) off the VPS's C{eth0}
        and remove its route on the host.

        @return: a Deferred firing with the addresses removed.
        """
        veth = yield self.hostDevice(pid)
        if address is None:
            listing = yield self._check(self._inside(
                pid, "-o", "addr", "show", "dev", "eth0", "scope", "global"))
            addresses = [line.split()[3].split("/")[0]
                         for line in listing.splitlines() if line.strip()]
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
