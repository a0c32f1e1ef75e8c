"""
Tests for L{vcd.kernel.liveaddress}: the commands that change a running
VPS's addresses, run by a scripted runner. (Real VPSes:
L{tests.test_vpsnetwork}.)
"""

from twisted.internet import defer
from twisted.trial import unittest

from vcd.kernel.errors import KernelError
from vcd.kernel.liveaddress import IP, NSENTER, AddressCommands, hostPrefix

#: The host side of the VPS's veth, as its LXC monitor names it.
VETH = "veth2-149"


class Runner:
    """
    Answers commands from a script: C{(output, status)} by the words
    after C{ip}; everything run is in C{ran}.
    """

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.ran = []

    def __call__(self, argv):
        self.ran.append(argv)
        words = tuple(argv[argv.index(IP) + 1:])
        return defer.succeed(self.answers.get(words, (b"", 0)))


def inside(*words):
    return [NSENTER, "--net=/proc/77/ns/net", "--", IP] + list(words)


class CommandTests(unittest.TestCase):

    def setUp(self):
        self.runner = Runner()
        self.commands = AddressCommands(None, run=self.runner)

    def test_hostPrefix(self):
        self.assertEqual(hostPrefix("198.18.0.1"), "198.18.0.1/32")
        self.assertEqual(hostPrefix("2001:db8::1"), "2001:db8::1/128")

    def test_set(self):
        """
        A set replaces the address on eth0 inside, makes sure of a default
        route there, and routes the address alone to the host's veth.
        """
        self.successResultOf(self.commands.setAddress(
            77, VETH, "198.18.4.5", 23, "198.18.5.255"))
        self.assertEqual(self.runner.ran, [
            inside("-4", "addr", "flush", "dev", "eth0", "to",
                   "198.18.4.5/32"),
            inside("-4", "addr", "add", "198.18.4.5/23", "broadcast",
                   "198.18.5.255", "dev", "eth0"),
            inside("-4", "route", "add", "default", "dev", "eth0"),
            [IP, "-4", "route", "replace", "198.18.4.5/32", "dev",
             "veth2-149"]])

    def test_setIPv6(self):
        """
        An IPv6 address goes on eth0 alone (/128, whatever its prefix),
        with a default route through the host-side veth's link-local
        gateway, and is routed alone to the veth.
        """
        self.successResultOf(self.commands.setAddress(77, VETH, "2001:db8::5",
                                                      64))
        self.assertEqual(self.runner.ran, [
            inside("-6", "addr", "flush", "dev", "eth0", "to",
                   "2001:db8::5/128"),
            inside("-6", "addr", "add", "2001:db8::5/128", "dev", "eth0"),
            inside("-6", "route", "add", "default", "via", "fe80::1", "dev",
                   "eth0"),
            [IP, "-6", "route", "replace", "2001:db8::5/128", "dev",
             "veth2-149"]])

    def test_existingDefaultRoute(self):
        """
        A default route already there is fine; another failure is a
        KernelError naming the command.
        """
        self.runner.answers[("-4", "route", "add", "default", "dev",
                             "eth0")] = (b"RTNETLINK answers: File exists",
                                         2)
        self.successResultOf(self.commands.setAddress(77, VETH, "198.18.4.5",
                                                      24))
        self.runner.answers[("-4", "addr", "add", "198.18.4.5/24",
                             "broadcast", "+", "dev", "eth0")] = (
            b"Error: permission denied", 2)
        failure = self.failureResultOf(
            self.commands.setAddress(77, VETH, "198.18.4.5", 24), KernelError)
        self.assertIn("addr add 198.18.4.5/24", str(failure.value))
        self.assertIn("permission denied", str(failure.value))

    def test_removeAll(self):
        """
        Removing every address takes each address the host routes to the
        VPS's veth off eth0, and its host route; a route already gone is
        fine. What the VPS lists itself is not asked.
        """
        self.runner.answers[("-4", "-o", "route", "show", "dev", VETH)] = (
            b"198.18.1.2 scope link \n10.9.0.0/24 scope link\n", 0)
        self.runner.answers[("-6", "-o", "route", "show", "dev", VETH)] = (
            b"2001:db8::2 metric 1024 pref medium\n"
            b"fe80::/64 proto kernel metric 256 pref medium\n", 0)
        self.runner.answers[("-6", "route", "del", "2001:db8::2/128", "dev",
                             VETH)] = (b"RTNETLINK answers: No such"
                                       b" process", 2)
        removed = self.successResultOf(self.commands.removeAddress(77, VETH))
        self.assertEqual(removed, ["198.18.1.2", "2001:db8::2"])
        self.assertIn([IP, "-4", "route", "del", "198.18.1.2/32", "dev",
                       VETH], self.runner.ran)
        self.assertIn(inside("-6", "addr", "flush", "dev", "eth0", "to",
                             "2001:db8::2/128"), self.runner.ran)
        self.assertNotIn(inside("-o", "addr", "show", "dev", "eth0",
                                "scope", "global"), self.runner.ran)
