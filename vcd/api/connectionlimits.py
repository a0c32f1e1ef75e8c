# -*- test-case-name: tests.test_connectionlimits,tests.test_hostileclients -*-
"""
What TCP clients may hold of the daemon at once: connections in total and
per client address, the bytes of request bodies, and how long a request
may take to arrive; and the open-files limit, raised at start so that
these caps, not the kernel, turn away the extra connections.

Connections that are not TCP (vshelper's Unix socket, mode 0600) are
neither counted nor refused: a post-stop hook reporting a reboot must get
through whatever TCP clients do. The descriptors they and the daemon need
are kept out of the TCP connections' share (L{FD_RESERVE}).
"""

import ipaddress
import resource

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.logger import Logger

from vcd.config import (DEFAULT_HEAD_TIMEOUT, DEFAULT_MAX_BODY_TOTAL,
                        DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PER_ADDRESS,
                        DEFAULT_MIN_BODY_RATE)

log = Logger()

#: Descriptors kept, out of the open-files limit, for the daemon itself
#: (VXDB, the kernel worker, LXC's calls, the thread pools' work, the log)
#: and for vshelper's Unix socket and its connections.
FD_RESERVE = 256


def raiseFileLimit(setrlimit=resource.setrlimit,
                   getrlimit=resource.getrlimit):
    """
    Raise the soft limit on open files (C{RLIMIT_NOFILE}) to the hard
    limit, and log both.

    @return: the soft limit now in force.
    """
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                target = int(f.read())
        except (OSError, ValueError):
            target = soft
    if target > soft:
        try:
            setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError) as e:
            log.warn("open-files limit stays {soft}: raising it to {target}"
                     " failed: {error}", soft=soft, target=target, error=e)
            return soft
    log.info("open-files limit {soft} (was {before}, hard limit {hard})",
             soft=max(soft, target), before=soft, hard=hard)
    return max(soft, target)


def _host(address):
    """
    @return: what a TCP client is counted as: its IPv4 address, or the /64
        its IPv6 address is in (one host's usual share); None for any
        other kind of connection (not counted).
    """
    if isinstance(address, IPv4Address):
        return address.host
    if isinstance(address, IPv6Address):
        try:
            host = ipaddress.IPv6Address(address.host.split("%", 1)[0])
        except ValueError:
            return address.host
        if host.ipv4_mapped is not None:
            return str(host.ipv4_mapped)
        return str(ipaddress.IPv6Network((host, 64), strict=False))
    return None


class ConnectionLimits:
    """
    The caps on what TCP clients hold at once, and the counts against them.
    A site asks L{admit} in C{buildProtocol} (refusing the connection when
    it says no) and its channel calls L{release} when the connection is
    lost; a channel reserves a request body's declared length with
    L{reserveBody} once the head is in, and gives it back with
    L{releaseBody} when the request is answered or its connection lost.

    @ivar maxConnections: TCP connections at once, in total.
    @ivar maxPerAddress: TCP connections at once from one client address
        (for IPv6, one /64).
    @ivar maxBodyTotal: bytes of request bodies held at once.
    @ivar headTimeout: seconds from a request's first byte to the end of
        its head.
    @ivar minBodyRate: the slowest a body may arrive, in bytes a second,
        after a grace of C{headTimeout} seconds.
    @ivar connections: TCP connections open now.
    @ivar bodyBytes: bytes of request bodies reserved now.
    @ivar refused: TCP connections refused so far.
    @ivar busy: requests refused so far because their body did not fit.
    """

    def __init__(self, maxConnections=DEFAULT_MAX_CONNECTIONS,
                 maxPerAddress=DEFAULT_MAX_PER_ADDRESS,
                 maxBodyTotal=DEFAULT_MAX_BODY_TOTAL,
                 headTimeout=DEFAULT_HEAD_TIMEOUT,
                 minBodyRate=DEFAULT_MIN_BODY_RATE):
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
        self.maxBodyTotal = maxBodyTotal
        self.headTimeout = headTimeout
        self.minBodyRate = minBodyRate
        self.connections = 0
        self.bodyBytes = 0
        self.refused = 0
        self.busy = 0
        self._perAddress = {}
        self._refusedInBurst = 0

    @classmethod
    def fromConfiguration(cls, config):
        """
        @param config: a L{vcd.config.Configuration}.
        @return: the limits it sets.
        """
        return cls(config.maxConnections, config.maxPerAddress,
                   config.maxBodyTotal, config.headTimeout,
                   config.minBodyRate)

    def fitFileLimit(self, fileLimit):
        """
        Lower the total cap so that TCP connections leave L{FD_RESERVE}
        descriptors out of C{fileLimit}.
        """
        share = max(1, fileLimit - FD_RESERVE)
        if share < self.maxConnections:
            log.info("TCP connections capped at {share} (open-files limit"
                     " {limit}, {reserve} kept), not {setting}", share=share,
                     limit=fileLimit, reserve=FD_RESERVE,
                     setting=self.maxConnections)
            self.maxConnections = share

    def admit(self, address):
        """
        Count a new connection from C{address}, if the caps allow it.

        @return: whether to serve it (always, for a connection not over
            TCP).
        """
        host = _host(address)
        if host is None:
            return True
        count = self._perAddress.get(host, 0)
        if (self.connections >= self.maxConnections
                or count >= self.maxPerAddress):
            self.refused += 1
            if not self._refusedInBurst:
                log.warn("refusing TCP connections: {connections} open"
                         " (cap {total}), {count} from {host} (cap"
                         " {perAddress})", connections=self.connections,
                         total=self.maxConnections, count=count, host=host,
                         perAddress=self.maxPerAddress)
            self._refusedInBurst += 1
            return False
        if self._refusedInBurst:
            log.info("accepting TCP connections again; {refused} refused",
                     refused=self._refusedInBurst)
            self._refusedInBurst = 0
        self.connections += 1
        self._perAddress[host] = count + 1
        return True

    def release(self, address):
        """
        A connection L{admit} counted is gone.
        """
        host = _host(address)
        if host is None:
            return
        self.connections -= 1
        count = self._perAddress.pop(host) - 1
        if count:
            self._perAddress[host] = count

    def reserveBody(self, address, length):
        """
        Reserve room for a request body of C{length} bytes from C{address}.

        @return: the bytes reserved (to give back with L{releaseBody}):
            C{length}, or 0 for a connection not over TCP; None if the body
            does not fit now.
        """
        if _host(address) is None or not length:
            return 0
        if self.bodyBytes + length > self.maxBodyTotal:
            self.busy += 1
            return None
        self.bodyBytes += length
        return length

    def releaseBody(self, reserved):
        """
        Give back what L{reserveBody} reserved.
        """
        self.bodyBytes -= reserved

    def bodyDeadline(self, length):
        """
        @return: the seconds, from the end of its head, that a body of
            C{length} bytes may take to arrive.
        """
        return self.headTimeout + length / self.minBodyRate
