"""
Tests for L{vcd.kernel.liveaddress}: the commands that change a running
VPS's addresses, run by a scripted runner, and the check of the host
side of its eth0. (Real VPSes: L{tests.test_vpsnetwork}.)
"""

import socket

from twisted.internet import defer
from twisted.trial import unittest

from vcd.kernel.errors import KernelError
from vcd.kernel import liveaddress
from vcd.kernel.liveaddress import (IP, NSENTER, AddressCommands,
                                    NoNetworkDevice, hostPrefix, hostSide)

LINKS = (b"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue\\"
         b"    link/loopback 00:00:00:00:00:00\n"
         b"2: eth0@if149: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\\"
         b"    link/ether 6a:a3:a4:fb:ee:32\n")


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
        self.runner = Runner({("-o", "link", "show"): (LINKS, 0)})
        self.commands = AddressCommands(None, run=self.runner)
        self.patch(liveaddress, "hostSide",
                   lambda inner, outer: "veth%d-%d" % (inner, outer))

    def test_hostPrefix(self):
        self.assertEqual(hostPrefix("198.18.0.1"), "198.18.0.1/32")
        self.assertEqual(hostPrefix("2001:db8::1"), "2001:db8::1/128")

    def test_set(self):
        """
        A set replaces the address on eth0 inside, makes sure of a default
        route there, and routes the address alone to the veth found from
        eth0's peer index.
        """
        self.successResultOf(self.commands.setAddress(77, "198.18.4.5", 23,
                                                      "198.18.5.255"))
        self.assertEqual(self.runner.ran, [
            inside("-o", "link", "show"),
            inside("-4", "addr", "flush", "dev", "eth0", "to",
                   "198.18.4.5/32"),
            inside("-4", "addr", "add", "198.18.4.5/23", "broadcast",
                   "198.18.5.255", "dev", "eth0"),
            inside("-4", "route", "add", "default", "dev", "eth0"),
            [IP, "-4", "route", "replace", "198.18.4.5/32", "dev",
             "veth2-149"]])

    def test_setIPv6(self):
        self.successResultOf(self.commands.setAddress(77, "2001:db8::5", 64))
        self.assertIn(inside("-6", "addr", "add", "2001:db8::5/64", "dev",
                             "eth0"), self.runner.ran)

    def test_existingDefaultRoute(self):
        """
        A default route already there is fine; another failure is a
        KernelError naming the command.
        """
        self.runner.answers[("-4", "route", "add", "default", "dev",
                             "eth0")] = (b"RTNETLINK answers: File exists",
                                         2)
        self.successResultOf(self.commands.setAddress(77, "198.18.4.5", 24))
        self.runner.answers[("-4", "addr", "add", "198.18.4.5/24",
                             "broadcast", "+", "dev", "eth0")] = (
            b"Error: permission denied", 2)
        failure = self.failureResultOf(
            self.commands.setAddress(77, "198.18.4.5", 24), KernelError)
        self.assertIn("addr add 198.18.4.5/24", str(failure.value))
        self.assertIn("permission denied", str(failure.value))

    def test_removeAll(self):
        """
        Removing every address takes each global address of eth0 off and
        its host route; a route already gone is fine.
        """
        self.runner.answers[("-o", "addr", "show", "dev", "eth0", "scope",
                             "global")] = (
            b"2: eth0    inet 198.18.1.2/24 brd 198.18.1.255 scope global"
            b" eth0\\       valid_lft forever\n"
            b"2: eth0    inet6 2001:db8::2/64 scope global \\  valid\n", 0)
        self.runner.answers[("-6", "route", "del", "2001:db8::2/128", "dev",
                             "veth2-149")] = (b"RTNETLINK answers: No such"
                                              b" process", 2)
        removed = self.successResultOf(self.commands.removeAddress(77))
        self.assertEqual(removed, ["198.18.1.2", "2001:db8::2"])
        self.assertIn([IP, "-4", "route", "del", "198.18.1.2/32", "dev",
                       "veth2-149"], self.runner.ran)
        self.assertIn(inside("-6", "addr", "flush", "dev", "eth0", "to",
                             "2001:db8::2/128"), self.runner.ran)

    def test_noDevice(self):
        self.runner.answers[("-o", "link", "show")] = (LINKS.split(b"\n")[0],
                                                       0)
        self.failureResultOf(self.commands.setAddress(77, "198.18.4.5", 24),
                             NoNetworkDevice)


class HostSideTests(unittest.TestCase):
    """
    L{hostSide} accepts only a veth whose peer is the VPS's eth0.
    """

    def test_notVeth(self):
        """
        An eth0 whose peer index names a host interface that is no veth
        (here the host's loopback) is refused.
        """
        index = socket.if_nametoindex("lo")
        self.assertRaises(KernelError, hostSide, 2, index)

    def test_gone(self):
        self.assertRaises(KernelError, hostSide, 2, 2 ** 31 - 1)
