# -*- test-case-name: tests.test_loginthrottle -*-
"""
Login throttling: failed logins are answered later and later, per client
address and per username, so that guessing passwords is slow, while nobody
can lock a real user out.

After L{LoginThrottle.allowance} failures, the reply to each further failed
login from the same address (an IPv6 address counts by its /64) or for the
same username is delayed, the delay doubling from L{LoginThrottle.baseDelay}
up to L{LoginThrottle.addressDelayCap} for the address and the much lower
L{LoginThrottle.userDelayCap} for the username (an attacker can make a
username slow, never unusable). A successful login is answered at once: it
ends the username's throttling, and an address's throttling ends when it
stops failing for L{LoginThrottle.forgetAfter} seconds. An address may have
at most L{LoginThrottle.maxPending} delayed replies waiting; its further
calls meanwhile are refused at once, unchecked, with the same fault, so
opening more connections buys no more guesses.

The delays are timers of the reactor passed in (never a sleep): other
clients are served meanwhile. Each burst of failures from an address is
logged when it starts and when it ends, never once per try.
"""

import ipaddress
from collections import OrderedDict

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from vcd.api.interfaces import ILoginThrottle


def addressKey(clientAddress):
    """
    The key a client address is throttled by: its host, an IPv6 host by
    its /64 (a host usually has a whole /64 to pick addresses from).

    @param clientAddress: an L{vcd.api.interfaces.IClientAddress}, or a
        string naming the client.
    """
    host = getattr(clientAddress, "host", None) or str(clientAddress)
    if ":" in host:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host
        if address.version == 6 and address.ipv4_mapped is None:
            return str(ipaddress.ip_network("%s/64" % (host,), strict=False))
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
    return host


class _Burst:
    """
    The failed logins of one address or username since it last stopped
    failing.
    """

    __slots__ = ("first", "last", "failures", "delayed", "unchecked",
                 "pending", "usernames")

    def __init__(self, now):
        self.first = self.last = now
        self.failures = self.delayed = self.unchecked = self.pending = 0
        self.usernames = []


@implementer(ILoginThrottle)
class LoginThrottle(service.Service):
    """
    Delays the replies to failed logins; see the module's description.

    @ivar delayed: how many failed logins were answered late.
    @ivar unchecked: how many calls were refused unchecked (their address
        had L{maxPending} delayed replies waiting).
    """

    log = Logger()

    #: Failures an address or a username may have before its failed logins
    #: are answered late.
    allowance = 5
    #: The first delay, in seconds; each further failure doubles it.
    baseDelay = 1.0
    #: The longest delay for an address.
    addressDelayCap = 30.0
    #: The longest delay for a username: kept low, so that whoever fails
    #: logins for someone else's username makes that user wait a little at
    #: most.
    userDelayCap = 4.0
    #: The most delayed replies an address may have waiting.
    maxPending = 4
    #: Seconds without a failure after which a burst ends (checked every
    #: that many seconds, so it ends within twice as long).
    forgetAfter = 600.0
    #: The most addresses and usernames tracked at once; beyond, the
    #: longest quiet burst is forgotten.
    maxTracked = 10000
    #: The most usernames a burst's log line names.
    _namedUsers = 5

    def __init__(self, reactor):
        self.reactor = reactor
        self._addresses = OrderedDict()
        self._users = OrderedDict()
        self._timers = {}
        self._sweep = None
        self.delayed = 0
        self.unchecked = 0

    @property
    def throttledAddresses(self):
        """
        How many addresses have their failed logins answered late now.
        """
        return sum(1 for burst in self._addresses.values()
                   if burst.failures > self.allowance)

    def admit(self, clientAddress):
        """
        See L{ILoginThrottle.admit}.
        """
        if not self._timers:
            return True
        burst = self._addresses.get(addressKey(clientAddress))
        if burst is None or burst.pending < self.maxPending:
            return True
        burst.unchecked += 1
        self.unchecked += 1
        return False

    def failed(self, clientAddress, username, fault):
        """
        See L{ILoginThrottle.failed}.
        """
        now = self.reactor.seconds()
        username = username[:64]
        key = addressKey(clientAddress)
        address = self._track(self._addresses, key, now)
        user = self._track(self._users, username, now)
        address.failures += 1
        user.failures += 1
        if username not in address.usernames \
                and len(address.usernames) < self._namedUsers:
            address.usernames.append(username)
        if address.failures == 1:
            self.log.warn("failed login for user {username!r} from {client};"
                          " more failures from {address} are logged when"
                          " they stop", username=username,
                          client=clientAddress, address=key)
        delay = max(self._delay(address.failures, self.addressDelayCap),
                    self._delay(user.failures, self.userDelayCap))
        if not delay:
            return fault
        if not address.delayed:
            self.log.warn("login throttling: failed logins from {address}"
                          " are answered late now ({failures} from it,"
                          " {userFailures} for user {username!r})",
                          address=key, failures=address.failures,
                          userFailures=user.failures, username=username)
        self.delayed += 1
        address.delayed += 1
        address.pending += 1
        result = defer.Deferred()
        timer = self.reactor.callLater(delay, self._reply, result, address,
                                       fault)
        self._timers[result] = (timer, address, fault)
        return result

    def succeeded(self, clientAddress, username):
        """
        See L{ILoginThrottle.succeeded}.
        """
        if self._users and username[:64] in self._users:
            burst = self._users.pop(username[:64])
            if burst.failures > self.allowance:
                self.log.info("login throttling: user {username!r} logged in"
                              " from {client} after {failures} failed logins;"
                              " its logins are no longer delayed",
                              username=username, client=clientAddress,
                              failures=burst.failures)

    def _delay(self, failures, cap):
        excess = failures - self.allowance
        if excess <= 0:
            return 0
        return min(self.baseDelay * 2 ** min(excess - 1, 32), cap)

    def _track(self, table, key, now):
        burst = table.get(key)
        if burst is None:
            burst = table[key] = _Burst(now)
            while len(table) > self.maxTracked:
                oldKey = next(iter(table))
                if table[oldKey].pending:
                    break
                self._ended(table, oldKey, table.pop(oldKey))
        else:
            table.move_to_end(key)
        burst.last = now
        if self._sweep is None:
            self._sweep = self.reactor.callLater(self.forgetAfter,
                                                 self._forget)
        return burst

    def _reply(self, result, address, fault):
        del self._timers[result]
        address.pending -= 1
        result.callback(fault)

    def _forget(self):
        """
        End the bursts that have been quiet for L{forgetAfter} seconds.
        """
        self._sweep = None
        now = self.reactor.seconds()
        for table in (self._addresses, self._users):
            for key, burst in list(table.items()):
                if now - burst.last >= self.forgetAfter and not burst.pending:
                    self._ended(table, key, table.pop(key))
        if self._addresses or self._users:
            self._sweep = self.reactor.callLater(self.forgetAfter,
                                                 self._forget)

    def _ended(self, table, key, burst):
        if table is self._addresses and burst.failures > 1:
            self.log.warn(
                "login throttling: {failures} failed logins from {address}"
                " over {seconds:.0f} s (users {usernames}); {delayed}"
                " answered late, {unchecked} refused unchecked",
                failures=burst.failures, address=key,
                seconds=burst.last - burst.first,
                usernames=", ".join(repr(u) for u in burst.usernames),
                delayed=burst.delayed, unchecked=burst.unchecked)

    def stopService(self):
        """
        Answer every delayed reply now and forget every burst.
        """
        service.Service.stopService(self)
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for result, (timer, address, fault) in list(self._timers.items()):
            timer.cancel()
            self._reply(result, address, fault)
        self._addresses.clear()
        self._users.clear()
