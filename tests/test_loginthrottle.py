"""
Tests for L{vcd.api.loginthrottle}: failed logins answered later and later
per address and per username, on a fake clock, and the dispatcher's use of
it (a burst of wrong passwords is throttled while another address logs in
at once), and the vshelper user's only way in, through the fake daemon.
"""

import time

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from tests.harness import DaemonTestCase
from tests.fakedaemon import (ADMIN_PASSWORD, CLIENT, HELPER_CLIENT,
                              HELPER_SECRET, FakeDaemonMixin)
from vcd.api.call import ClientAddress
from vcd.api.interfaces import ILoginThrottle
from vcd.api.loginthrottle import LoginThrottle, addressKey
from vcd.faults import MEAUTH, VCDFault

ATTACKER = ClientAddress("192.0.2.66", 50000)
OTHER = ClientAddress("192.0.2.10", 50001)


class AddressKeyTests(unittest.TestCase):

    def test_keys(self):
        self.assertEqual(addressKey(ATTACKER), "192.0.2.66")
        self.assertEqual(addressKey(ClientAddress("2001:db8:1:2::5")),
                         "2001:db8:1:2::/64")
        self.assertEqual(addressKey(ClientAddress("2001:db8:1:2:ff::9")),
                         "2001:db8:1:2::/64")
        self.assertNotEqual(addressKey(ClientAddress("2001:db8:1:3::5")),
                            "2001:db8:1:2::/64")
        self.assertEqual(addressKey(ClientAddress("::ffff:192.0.2.66")),
                         "192.0.2.66")
        self.assertEqual(addressKey(ClientAddress("unix")), "unix")
        self.assertEqual(addressKey("198.18.0.1"), "198.18.0.1")


class LoginThrottleTests(unittest.TestCase):
    """
    L{LoginThrottle} on a fake clock.
    """

    def setUp(self):
        self.clock = Clock()
        self.events = []
        self.throttle = LoginThrottle(self.clock)
        self.throttle.log = Logger(observer=self.events.append)
        self.fault = VCDFault(MEAUTH, "unauthorized")

    def delayOf(self, answer):
        """
        How long C{answer} (what L{LoginThrottle.failed} returned) takes
        to come, in fake seconds (0 when it is the fault itself).
        """
        if answer is self.fault:
            return 0
        self.assertIsInstance(answer, defer.Deferred)
        waited = 0.0
        while not answer.called:
            self.assertLess(waited, 120, "the answer never came")
            self.clock.advance(0.25)
            waited += 0.25
        self.assertIs(self.successResultOf(answer), self.fault)
        return waited

    def test_interface(self):
        self.assertTrue(verifyObject(ILoginThrottle, self.throttle))

    def test_delayGrowsToItsCap(self):
        delays = [self.delayOf(self.throttle.failed(ATTACKER, "admin",
                                                    self.fault))
                  for _ in range(14)]
        allowance = LoginThrottle.allowance
        self.assertEqual(delays[:allowance], [0] * allowance)
        self.assertEqual(delays[allowance:allowance + 5],
                         [1, 2, 4, 8, 16])
        self.assertEqual(delays[-1], LoginThrottle.addressDelayCap)
        self.assertEqual(self.throttle.delayed, 14 - allowance)

    def test_otherAddressAnsweredAtOnce(self):
        for _ in range(10):
            self.delayOf(self.throttle.failed(ATTACKER, "mallory",
                                              self.fault))
        self.assertEqual(self.throttle.throttledAddresses, 1)
        self.assertIs(self.throttle.failed(OTHER, "bob", self.fault),
                      self.fault)
        self.assertTrue(self.throttle.admit(OTHER))

    def test_usernameDelayCappedLow(self):
        """
        Failures for one username from many addresses delay its failures
        at most L{LoginThrottle.userDelayCap}: nobody is locked out.
        """
        delays = [self.delayOf(self.throttle.failed(
            ClientAddress("198.18.%d.%d" % (i // 200, i % 200)), "admin",
            self.fault)) for i in range(40)]
        self.assertEqual(max(delays), LoginThrottle.userDelayCap)
        self.assertEqual(delays[-1], LoginThrottle.userDelayCap)
        self.assertLessEqual(LoginThrottle.userDelayCap, 5)

    def test_successEndsTheUsernamesThrottling(self):
        for i in range(10):
            self.delayOf(self.throttle.failed(
                ClientAddress("198.18.0.%d" % (i,)), "admin", self.fault))
        self.throttle.succeeded(OTHER, "admin")
        self.assertIs(self.throttle.failed(ClientAddress("198.18.1.1"),
                                           "admin", self.fault), self.fault)

    def test_pendingAnswersBounded(self):
        """
        An address gets at most L{LoginThrottle.maxPending} late answers
        at once, however many connections it opens; its further calls are
        refused unchecked until they come.
        """
        for _ in range(LoginThrottle.allowance):
            self.throttle.failed(ATTACKER, "admin", self.fault)
        waiting = []
        refused = 0
        for _ in range(50):
            if self.throttle.admit(ATTACKER):
                waiting.append(self.throttle.failed(ATTACKER, "admin",
                                                    self.fault))
            else:
                refused += 1
        self.assertEqual(len(waiting), LoginThrottle.maxPending)
        self.assertEqual(refused, 50 - LoginThrottle.maxPending)
        self.assertEqual(self.throttle.unchecked, refused)
        self.assertTrue(self.throttle.admit(OTHER))
        self.clock.advance(LoginThrottle.addressDelayCap)
        for answer in waiting:
            self.assertIs(self.successResultOf(answer), self.fault)
        self.assertTrue(self.throttle.admit(ATTACKER))

    def test_loggedOncePerBurst(self):
        for _ in range(30):
            self.delayOf(self.throttle.failed(ATTACKER, "admin", self.fault))
        self.assertEqual(len(self.events), 2, self.events)
        self.clock.advance(2 * LoginThrottle.forgetAfter)
        self.assertEqual(len(self.events), 3, self.events)
        summary = self.events[-1]
        self.assertEqual(summary["failures"], 30)
        self.assertEqual(summary["address"], "192.0.2.66")
        # The burst is over: the address starts afresh.
        self.assertIs(self.throttle.failed(ATTACKER, "admin", self.fault),
                      self.fault)
        self.assertEqual(self.throttle.throttledAddresses, 0)

    def test_trackedBounded(self):
        self.throttle.maxTracked = 100
        for i in range(1000):
            self.throttle.failed(ClientAddress("198.18.%d.%d" % (
                i // 250, i % 250)), "user%d" % (i,), self.fault)
        self.assertLessEqual(len(self.throttle._addresses), 100)
        self.assertLessEqual(len(self.throttle._users), 100)

    def test_stopAnswersEverything(self):
        for _ in range(LoginThrottle.allowance):
            self.throttle.failed(ATTACKER, "admin", self.fault)
        answer = self.throttle.failed(ATTACKER, "admin", self.fault)
        self.throttle.startService()
        self.throttle.stopService()
        self.assertIs(self.successResultOf(answer), self.fault)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class DispatcherThrottleTests(FakeDaemonMixin, unittest.TestCase):
    """
    The dispatcher throttles failed logins; other addresses and right
    passwords are answered at once.
    """

    def login(self, username, password, client):
        params = ({"username": username, "password": password},)
        return defer.maybeDeferred(self.fake.dispatch, "vcd.login", params,
                                   client)

    def delayOf(self, answer):
        waited = 0.0
        while not answer.called:
            self.assertLess(waited, 120, "the answer never came")
            self.clock.advance(0.25)
            waited += 0.25
        result = self.successResultOf(answer)
        self.assertIsInstance(result, VCDFault)
        self.assertEqual(result.faultCode, MEAUTH)
        return waited

    def test_burstThrottledWhileAnotherAddressLogsIn(self):
        delays = []
        for i in range(12):
            answer = self.login("admin", "guess-%d" % (i,), ATTACKER)
            # Meanwhile, from another address, the administrator logs in
            # at once.
            self.assertIsNone(self.successResultOf(self.login(
                "admin", ADMIN_PASSWORD, OTHER)))
            delays.append(self.delayOf(answer))
        self.assertEqual(delays[:LoginThrottle.allowance],
                         [0] * LoginThrottle.allowance)
        later = delays[LoginThrottle.allowance:]
        self.assertEqual(later, sorted(later))
        self.assertGreater(later[-1], later[0])
        self.assertLessEqual(max(later), LoginThrottle.addressDelayCap)
        status = self.successResultOf(self.login("admin", ADMIN_PASSWORD,
                                                 OTHER))
        self.assertIsNone(status)
        counters = self.successResultOf(defer.maybeDeferred(
            self.fake.dispatch, "vcd.status", ({"username": "admin",
                                                "password": ADMIN_PASSWORD},),
            OTHER))
        self.assertEqual(counters["flogins"], 12)
        self.assertEqual(counters["throttled_logins"],
                         12 - LoginThrottle.allowance)
        self.assertEqual(counters["throttled_addresses"], 1)
        self.assertEqual(counters["unchecked_logins"], 0)

    def test_parallelGuessesBounded(self):
        """
        Many guesses at once from a throttled address: a few wait, the
        rest are refused unchecked (the right password among them too).
        """
        for i in range(LoginThrottle.allowance):
            self.login("admin", "guess-%d" % (i,), ATTACKER)
        answers = [self.login("admin", "guess", ATTACKER)
                   for _ in range(30)]
        answers.append(self.login("admin", ADMIN_PASSWORD, ATTACKER))
        waiting = [a for a in answers if not a.called]
        self.assertEqual(len(waiting), LoginThrottle.maxPending)
        refused = self.successResultOf(answers[-1])
        self.assertEqual(refused.faultCode, MEAUTH)
        self.assertIsNone(self.successResultOf(self.login(
            "admin", ADMIN_PASSWORD, OTHER)))
        self.clock.advance(LoginThrottle.addressDelayCap)
        self.assertEqual([a for a in answers if not a.called], [])

    def test_vshelperOnlyOnItsSocket(self):
        overTCP = self.successResultOf(self.login("vshelper", HELPER_SECRET,
                                                  CLIENT))
        wrong = self.successResultOf(self.login("vshelper", "wrong",
                                                CLIENT))
        self.assertEqual(overTCP.faultCode, MEAUTH)
        self.assertEqual(overTCP.faultString, wrong.faultString)
        self.assertIsNone(self.successResultOf(self.login(
            "vshelper", HELPER_SECRET, HELPER_CLIENT)))


class ServedThrottleTests(DaemonTestCase):
    """
    The daemon's throttle over HTTP: a late fault is a fault, and
    C{vcd.status} counts it.
    """

    @defer.inlineCallbacks
    def test_lateFaultOverHTTP(self):
        self.daemon.parts.throttle.baseDelay = 0.5
        wrong = self.client("admin", "not-the-password")
        for _ in range(LoginThrottle.allowance):
            yield self.assertFault(MEAUTH, wrong.call("vcd.login"))
        started = time.monotonic()
        yield self.assertFault(MEAUTH, wrong.call("vcd.login"))
        # The reactor's timer fires no earlier than asked (a little slack
        # for the two clocks).
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        status = yield self.admin.call("vcd.status")
        self.assertEqual((status["flogins"], status["throttled_logins"],
                          status["throttled_addresses"],
                          status["unchecked_logins"]),
                         (LoginThrottle.allowance + 1, 1, 1, 0))
