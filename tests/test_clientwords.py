"""
Tests for what people type to the clients (L{vcd.scripts._words}): sizes
with units, signal names, addresses in CIDR notation, booleans and the
command line of C{vcc exec}; each also through a client against the
fake-kernel daemon.
"""

import json

from twisted.trial import unittest

from tests.clientrunners import FakeClientMixin
from tests.fakedaemon import FakeDaemonMixin
from vcd.api.arguments import splitCommand
from vcd.scripts import _words, vcc, vce


class UnitTests(unittest.TestCase):
    """
    Sizes in KiB with units: K, M, G, T are 1, 1024, 1024^2, 1024^3 KiB.
    """

    def test_units(self):
        for word, kib in [("512", 512), ("2k", 2), ("64M", 65536),
                          ("64m", 65536), ("1G", 1048576),
                          ("1GiB", 1048576), ("3MB", 3072),
                          ("1T", 1073741824)]:
            self.assertEqual(_words.kibibytes(word), str(kib), word)

    def test_badSizes(self):
        for word in ("", "1.5G", "-1", "G", "1X", "10 M", "1Gi"):
            self.assertRaises(ValueError, _words.kibibytes, word)

    def test_limitValues(self):
        """
        Memory limits take units; counts take plain numbers only.
        """
        self.assertEqual(_words.limitValue("64M", "RSS"), "65536")
        self.assertEqual(_words.limitValue("1G", "as"), "1048576")
        self.assertEqual(_words.limitValue("100", "NPROC"), "100")
        e = self.assertRaises(ValueError, _words.limitValue, "1k", "NPROC")
        self.assertIn("count", str(e))


class SignalTests(unittest.TestCase):
    """
    Signals by number or name (Linux numbers, signal(7)).
    """

    def test_names(self):
        for word, number in [("TERM", 15), ("SIGKILL", 9), ("hup", 1),
                             ("SigUsr1", 10), ("15", 15), ("0", 0)]:
            self.assertEqual(_words.signalNumber(word), number, word)

    def test_unknown(self):
        for word in ("TREM", "SIG", "", "-9"):
            self.assertRaises(ValueError, _words.signalNumber, word)


class AddressTests(unittest.TestCase):
    """
    Addresses with or without a CIDR prefix.
    """

    def test_cidr(self):
        self.assertEqual(_words.splitCIDR("198.18.4.13/24"),
                         ("198.18.4.13", "24"))
        self.assertEqual(_words.splitCIDR("198.18.4.13"),
                         ("198.18.4.13", None))
        self.assertEqual(_words.splitCIDR("198.18.4.13/255.255.0.0"),
                         ("198.18.4.13", "16"))
        self.assertEqual(_words.splitCIDR("2001:db8::5/64"),
                         ("2001:db8::5", "64"))

    def test_badPrefix(self):
        for word in ("198.18.4.13/33", "198.18.4.13/", "host/24"):
            self.assertRaises(ValueError, _words.splitCIDR, word)


class CommandLineTests(unittest.TestCase):
    """
    The words of C{vcc exec} travel as one command line that the daemon's
    own split turns back into the same words.
    """

    def test_roundTrip(self):
        for argv in (["sh", "-c", "echo hi; exit 3"],
                     ["echo", "a  b", "it's", "$HOME", "\\n", '"q"'],
                     ["printf", "%s\\t", "", "*", "a;b|c&d>e"]):
            self.assertEqual(splitCommand(_words.commandLine(argv)), argv)


class ThroughTheClientTests(FakeClientMixin, FakeDaemonMixin,
                            unittest.TestCase):
    """
    The conversions as the daemon sees them.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.fake.addVps("web1")

    def json(self, tool, *argv):
        code, out, err = self.runClient(tool, "--json", *argv)
        self.assertEqual((code, err), (0, ""))
        return json.loads(out)

    def test_cidrAddress(self):
        code, out, err = self.runClient(vce, "nx.addr.set", "web1",
                                        "198.18.4.13/24")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.json(vce, "nx.addr.get", "web1"),
                         [{"addr": "198.18.4.13",
                           "netmask": "255.255.255.0"}])

    def test_cidrToRemove(self):
        """
        The address as vcc list shows it, with its prefix, names it for
        nx.addr.remove.
        """
        self.runClient(vce, "nx.addr.set", "web1", "198.18.4.13/24")
        code, out, err = self.runClient(vce, "nx.addr.remove", "web1",
                                        "198.18.4.13/24")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.json(vce, "nx.addr.get", "web1"), [])

    def test_prefixAndNetmaskRefused(self):
        code, out, err = self.runClient(vce, "nx.addr.set", "web1",
                                        "198.18.4.13/24", "255.255.0.0")
        self.assertEqual(code, 2)
        self.assertIn("<netmask> is given twice", err)
        self.assertEqual(self.transport.calls, [])

    def test_limitUnits(self):
        code, out, err = self.runClient(vce, "vx.limit.set", "web1", "RSS",
                                        "64M", "1G")
        self.assertEqual((code, err), (0, ""))
        [limit] = self.json(vce, "vx.limit.get", "web1")
        self.assertEqual((limit["soft"], limit["max"]),
                         (str(64 * 1024), str(1024 * 1024)))

    def test_diskSpaceUnits(self):
        """
        dx.limit.set sends the space in KiB (this host cannot enforce it,
        but the value the daemon refuses is the converted one).
        """
        self.runClient(vce, "dx.limit.set", "web1", "2G", "1000")
        self.assertEqual(self.transport.calls,
                         [("vxdb.dx.limit.set",
                           {"name": "web1", "space": str(2 * 1024 ** 2),
                            "inodes": "1000"})])

    def test_signalName(self):
        """
        C{vcc kill web1 1 TERM} sends SIGTERM to the init, which busybox's
        init takes as a reboot.
        """
        self.runClient(vcc, "start", "web1")
        code, out, err = self.runClient(vcc, "kill", "web1", "1", "TERM")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.transport.calls,
                         [("vx.kill", {"name": "web1", "pid": 1, "sig": 15})])
        self.clock.advance(60)
        self.assertIn(("web1", "reboot"), self.fake.stops)

    def test_badWordsNamed(self):
        """
        A word that does not convert is a usage error naming the
        argument, and nothing is called.
        """
        for tool, argv, message in [
                (vcc, ["kill", "web1", "1", "TREM"], "<sig>: unknown signal"),
                (vcc, ["create", "web2", "busybox", "maybe"], "<force>"),
                (vce, ["vx.limit.set", "web1", "NPROC", "1G"], "<soft>"),
                (vce, ["vx.sched.set", "web1", "x", "1", "1", "0", "0", "0",
                       "1"], "<cpuid>: expected an integer")]:
            code, out, err = self.runClient(tool, *argv)
            self.assertEqual((code, out), (2, ""), argv)
            self.assertIn(message, err)
            self.assertEqual(self.transport.calls, [], argv)
