"""
A start whose NIS domain name cannot be set (L{vcd.vps.lifecycle}) stops
the VPS; when that hard stop fails too, the fault must not say the VPS was
stopped: it says that the VPS runs without the domain name it was given.
On the fake kernel.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.kernel.errors import KernelError

MESYS = 500


class DomainNameAndHardStopFailTests(FakeDaemonMixin, unittest.TestCase):
    """
    vx.start with both the domain name and the hard stop refused.
    """

    def test_saysItRuns(self):
        self.fake.addVps("alpha")
        self.answer(self.fake.call("vxdb.vx.uname.set", name="alpha",
                                   uname="DOMAINNAME", value="example.org"))
        self.patch(self.kernel, "setDomainName", lambda name, domain:
                   defer.fail(KernelError("setdomainname: EPERM")))
        start = self.kernel.start

        def refusingHardStop(*args, **kwargs):
            d = start(*args, **kwargs)

            def refuse(result):
                self.kernel.vps("alpha").refusesHardStop = True
                return result
            return d.addCallback(refuse)
        self.patch(self.kernel, "start", refusingHardStop)
        fault = self.assertFault(MESYS, self.fake.call("vx.start",
                                                       name="alpha"))
        self.assertRunning("alpha")
        self.assertNotIn("was stopped", fault.faultString)
        self.assertIn("could not be stopped", fault.faultString)
        self.assertIn("setdomainname: EPERM", fault.faultString)
        self.assertEqual(self.fake.services.locks.held(), [])
