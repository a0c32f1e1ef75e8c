"""
Live address changes (L{vcd.vps.addresslive}) on the fake-kernel daemon:
vxdb.nx.addr.set and .remove reach a running VPS that has a network
device, say why not otherwise, and wait for a start under way. The real
kernel's side is in L{tests.test_vpsnetwork}.
"""

from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.api.livelock import LOCK_WAIT
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.vps.addresslive import prefixLength


class PrefixTests(unittest.TestCase):

    def test_prefixLength(self):
        self.assertEqual(prefixLength("198.18.0.1", "255.255.255.0"), 24)
        self.assertEqual(prefixLength("198.18.0.1", "255.255.255.255"), 32)
        self.assertEqual(prefixLength("198.18.0.1", "16"), 16)
        self.assertEqual(prefixLength("2001:db8::1", "64"), 64)


class LiveAddressTests(FakeDaemonMixin, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")

    def set(self, addr, **more):
        return self.answer(self.fake.call("vxdb.nx.addr.set", name="web1",
                                          addr=addr, **more))

    def remove(self, addr):
        return self.answer(self.fake.call("vxdb.nx.addr.remove", name="web1",
                                          addr=addr))

    def start(self):
        self.assertIsNone(self.answer(self.fake.call("vx.start",
                                                     name="web1")))
        return self.kernel.vps("web1")

    def test_stopped(self):
        """
        A stopped VPS gets the change at its next start, and is told so.
        """
        reply = self.set("198.18.3.4")
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("not running", reply)

    def test_setAndRemoveRunning(self):
        """
        A VPS that started with an address gets another at once, with its
        stored netmask and the VPS's broadcast address; a removal takes it
        off; an empty address takes every one off.
        """
        self.set("198.18.3.4")
        vps = self.start()
        self.answer(self.fake.call("vxdb.nx.broadcast.set", name="web1",
                                   broadcast="198.18.7.255"))
        self.assertEqual(self.set("198.18.7.9", netmask="255.255.254.0"),
                         APPLIED_NOW)
        self.assertEqual(vps.addresses, {"198.18.7.9": (23, "198.18.7.255")})
        self.assertEqual(self.set("198.18.8.1"), APPLIED_NOW)
        self.assertEqual(vps.addresses["198.18.8.1"], (24, "198.18.7.255"))
        self.assertEqual(self.remove("198.18.7.9"), APPLIED_NOW)
        self.assertEqual(sorted(vps.addresses), ["198.18.8.1"])
        self.assertEqual(self.remove(""), APPLIED_NOW)
        self.assertEqual(vps.addresses, {})
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.nx.addr.get", name="web1")), [])

    def test_startedWithoutAddress(self):
        """
        A VPS that started without addresses has no network device: its
        first address applies at its next start.
        """
        self.start()
        reply = self.set("198.18.3.4")
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("no network device", reply)

    def test_waitsForLock(self):
        """
        A change made while the VPS's lock is held (a start under way)
        applies once it is free; one that waits too long says so.
        """
        self.set("198.18.3.4")
        vps = self.start()
        locks = self.fake.services.locks
        self.assertTrue(locks.acquire("web1"))
        d = self.fake.call("vxdb.nx.addr.set", name="web1",
                           addr="198.18.5.5")
        self.assertNoResult(d)
        locks.release("web1")
        self.assertEqual(self.answer(d), APPLIED_NOW)
        self.assertIn("198.18.5.5", vps.addresses)

        self.assertTrue(locks.acquire("web1"))
        d = self.fake.call("vxdb.nx.addr.set", name="web1",
                           addr="198.18.5.6")
        self.clock.advance(LOCK_WAIT + 1)
        reply = self.answer(d)
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("busy", reply)
        self.assertNotIn("198.18.5.6", vps.addresses)
        locks.release("web1")

    def test_help(self):
        help = self.fake.dispatch("system.methodHelp",
                                  ("vxdb.nx.addr.set",))
        self.assertIn("Applies at once to a running virtual server", help)
