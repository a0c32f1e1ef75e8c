"""
Networking of real VPSes (L{vcd.kernel.vethrouting}, L{vcd.methods.netstatus}),
measured from inside them: the loopback of a VPS without addresses is up,
VPSes on one host reach each other over TCP on their addresses while each
sees only its own interfaces, none sends from another's address, no
host-global setting changes, an address added to a running VPS is
reachable at once, and vx.netstatus counts the bytes the test sends to a
VPS. The same holds for IPv6 (through the gateway fe80::1 on each VPS's
host-side veth), and a VPS never receives what is sent to an IPv6 address
of another VPS, even one it claims.

Needs root, liblxc with the compiled binding (Debian lxc, lxc-dev) and
busybox-static (its nc); a missing component fails the test saying what
to install. VPS addresses are from 198.18.0.0/15 and, for IPv6, from
the documentation prefix 2001:db8::/32 only.
"""

import os
import secrets
import socket
import subprocess
import time

from twisted.internet import defer, threads

from tests.harness import DaemonTestCase, Fault
from tests.running import RunningHelpers, pause, testAddress
from vcd.api.method import APPLIED_NOW
from vcd.faults import MESTOPPED
from vcd.kernel.vethharden import hardenRunning

#: Host-global settings no VPS start may change.
HOST_GLOBALS = ("net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding",
                "net/ipv4/conf/default/forwarding",
                "net/ipv4/conf/all/proxy_arp",
                "net/ipv4/conf/default/proxy_arp",
                "net/ipv4/conf/all/rp_filter",
                "net/ipv6/conf/all/forwarding",
                "net/ipv6/conf/default/forwarding")
#: How long a network step may take before the test fails.
DEADLINE = 15


def testAddress6(prefix=None):
    """
    A random address in C{prefix} (a C{2001:db8:<n>::} string), or in a
    random /64 of the documentation prefix 2001:db8::/32.
    """
    if prefix is None:
        prefix = "2001:db8:%x::" % (1 + secrets.randbelow(0xfffe),)
    return "%s%x" % (prefix, 2 + secrets.randbelow(0xfffd))


def hostGlobals():
    values = {}
    for path in HOST_GLOBALS:
        with open(os.path.join("/proc/sys", path)) as f:
            values[path] = f.read().strip()
    return values


def linkNames(ipLink):
    """
    The interface names of C{ip -o link} output (C{eth0@if12} is eth0).
    """
    return sorted(line.split(":")[1].strip().split("@")[0]
                  for line in ipLink.splitlines())


class NetworkTestsMixin(RunningHelpers):
    """
    Helpers for VPSes that talk over the network.
    """

    def setUp(self):
        if not os.path.exists("/bin/busybox"):
            self.fail("/bin/busybox missing: apt-get install busybox-static")
        return super().setUp()

    @defer.inlineCallbacks
    def addressedVps(self, address, bcaps=()):
        """
        A started VPS with C{address}/24 (an IPv6 one /64), once its boot
        is over.
        """
        name = yield self.newVps()
        for bcap in bcaps:
            yield self.admin.call("vxdb.vx.bcaps.add", name=name, bcap=bcap)
        yield self.admin.call("vxdb.nx.addr.set", name=name, addr=address,
                              netmask="64" if ":" in address
                              else "255.255.255.0")
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        return name

    def listen(self, name, port, output):
        """
        Start busybox C{nc -l} on C{port} in VPS C{name} (in the
        background), writing what it receives to C{output} inside.
        """
        return self.execIn(name, 'sh -c "nc -l -p %d > %s 2>&1 &"'
                           % (port, output))

    @defer.inlineCallbacks
    def sendFrom(self, name, host, port, text):
        """
        Send C{text} from VPS C{name} to C{host}:C{port} with busybox nc,
        retrying (within L{DEADLINE}) while nothing listens yet.
        """
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                yield self.execIn(name, 'sh -c "echo %s | nc -w 3 %s %d"'
                                  % (text, host, port))
                return
            except Fault as e:
                if time.monotonic() > deadline:
                    self.fail("%s could not send to %s:%d within %ds: %s"
                              % (name, host, port, DEADLINE, e.message))
            yield pause(0.1)

    def sendFromHost(self, address, port, data):
        """
        Connect from the host to C{address}:C{port} (retrying within
        L{DEADLINE} while nothing listens) and send C{data}.
        """
        def send():
            deadline = time.monotonic() + DEADLINE
            while True:
                try:
                    s = socket.create_connection((address, port), timeout=5)
                    break
                except ConnectionRefusedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            with s:
                s.sendall(data)
        return threads.deferToThread(send)

    @defer.inlineCallbacks
    def waitReceived(self, name, output, text):
        """
        Wait until file C{output} inside VPS C{name} holds C{text}.
        """
        deadline = time.monotonic() + DEADLINE
        while True:
            got = yield self.execIn(name, "cat %s" % (output,))
            if text in got:
                return
            if time.monotonic() > deadline:
                self.fail("%s: %r not received within %ds (got %r)"
                          % (name, text, DEADLINE, got))
            yield pause(0.1)


class LoopbackTests(NetworkTestsMixin, DaemonTestCase):
    """
    A VPS without addresses has its own network namespace with only its
    loopback device, and that is up.
    """

    @defer.inlineCallbacks
    def test_loopbackUp(self):
        """
        Inside a VPS without addresses, lo is its only interface, it is
        up, and a TCP connection to 127.0.0.1 carries data.
        """
        name = yield self.newVps(start=True)
        yield self.waitBooted(name)
        links = yield self.execIn(name, "ip -o link")
        self.assertEqual(linkNames(links), ["lo"])
        self.assertIn(",UP", links.split(">")[0])
        token = secrets.token_hex(8)
        yield self.listen(name, 7001, "/tmp/lo.out")
        yield self.sendFrom(name, "127.0.0.1", 7001, token)
        yield self.waitReceived(name, "/tmp/lo.out", token)


class BetweenVpsTests(NetworkTestsMixin, DaemonTestCase):
    """
    Two VPSes on one host reach each other on their addresses, as two
    VServers could, and still see only their own interfaces.
    """

    @defer.inlineCallbacks
    def test_vpsToVps(self):
        """
        A VPS connects over TCP to a server in another VPS on the other's
        address; neither sees the other's interfaces or address; the
        host's global forwarding settings are what they were.
        """
        before = hostGlobals()
        first = testAddress()
        second = testAddress()
        while second == first:
            second = testAddress()
        client = yield self.addressedVps(first)
        server = yield self.addressedVps(second)
        for name, mine, other in ((client, first, second),
                                  (server, second, first)):
            self.assertEqual(linkNames((yield self.execIn(name,
                                                          "ip -o link"))),
                             ["eth0", "lo"])
            addresses = yield self.execIn(name, "ip -o addr")
            self.assertIn(mine + "/24", addresses)
            self.assertNotIn(other, addresses)
        token = secrets.token_hex(8)
        yield self.listen(server, 7002, "/tmp/vps.out")
        yield self.sendFrom(client, second, 7002, token)
        yield self.waitReceived(server, "/tmp/vps.out", token)
        self.assertEqual(hostGlobals(), before)


def tcpSegmentsReceived(pid):
    """
    The TCP segments the network namespace of process C{pid} received
    (C{Tcp: InSegs} of its /proc/<pid>/net/snmp).
    """
    with open("/proc/%d/net/snmp" % (pid,)) as f:
        lines = [line.split() for line in f if line.startswith("Tcp:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("InSegs")])


class SpoofingTests(NetworkTestsMixin, DaemonTestCase):
    """
    A VPS sends only from its own addresses.
    """

    @defer.inlineCallbacks
    def test_spoofedSourceDropped(self):
        """
        A VPS that may configure its network (NET_ADMIN) reaches another
        from its own address, but not from a third VPS's: the host's
        reverse-path filter on its veth drops that (no ARP answer, no
        packet), and the target's TCP receives no segment.
        """
        addresses = set()
        while len(addresses) < 3:
            addresses.add(testAddress())
        mine, target, other = sorted(addresses)
        spoofer = yield self.newVps()
        yield self.admin.call("vxdb.vx.bcaps.add", name=spoofer,
                              bcap="NET_ADMIN")
        yield self.admin.call("vxdb.nx.addr.set", name=spoofer, addr=mine,
                              netmask="255.255.255.0")
        yield self.admin.call("vx.start", name=spoofer)
        yield self.waitBooted(spoofer)
        server = yield self.addressedVps(target)
        # The owner of the address spoofed, so that nothing the target
        # answers leaves the host whatever happens.
        yield self.addressedVps(other)
        serverPid = (yield self.status(server))["initpid"]
        yield self.listen(server, 7005, "/tmp/spoof.out")
        # From its own address, it reaches the server.
        yield self.sendFrom(spoofer, target, 7005, "hello")
        yield self.waitReceived(server, "/tmp/spoof.out", "hello")
        yield self.listen(server, 7005, "/tmp/spoof.out")
        yield self.execIn(spoofer, "ip addr add %s/32 dev eth0" % (other,))
        yield self.execIn(spoofer, "ip route add %s/32 dev eth0 src %s"
                          % (target, other))
        before = tcpSegmentsReceived(serverPid)
        with self.assertRaises(Fault):
            yield self.execIn(spoofer, 'sh -c "echo spoofed | nc -w 2 %s'
                              ' 7005"' % (target,))
        self.assertEqual(tcpSegmentsReceived(serverPid), before)
        self.assertEqual((yield self.execIn(server, "cat /tmp/spoof.out")),
                         "")


class HostInfoTests(DaemonTestCase):
    """
    vcd.hostinfo says how VPSes reach each other here.
    """

    @defer.inlineCallbacks
    def test_network(self):
        """
        The settings made on each VPS's veth are listed; IPv6 forwarding
        is said to be per interface exactly when this kernel has
        force_forwarding; IPv6 between VPSes is said to work, and its
        source addresses not to be validated.
        """
        network = (yield self.admin.call("vcd.hostinfo"))["network"]
        self.assertIn("net.ipv4.conf.<veth>.forwarding=1",
                      network["vethSettings"])
        self.assertIn("loopback", network)
        self.assertEqual(
            "(force_forwarding)" in network["ipv6"],
            os.path.exists("/proc/sys/net/ipv6/conf/default/"
                           "force_forwarding"))
        # What IPv6Tests measures is said where it holds, and what they
        # do not measure is said too.
        with open("/proc/sys/net/ipv6/conf/all/forwarding") as f:
            forwards = f.read().strip() == "1" or os.path.exists(
                "/proc/sys/net/ipv6/conf/default/force_forwarding")
        with open("/proc/sys/net/ipv6/conf/default/disable_ipv6") as f:
            enabled = f.read().strip() == "0"
        self.assertEqual(network["ipv6"].startswith(
            "VPSes reach the host and each other"), forwards and enabled,
            network["ipv6"])
        self.assertIn("source addresses are not validated", network["ipv6"])
        self.assertIn("address fe80::1/64 nodad on <veth>",
                      network["vethSettings"])
        self.assertTrue(network["liveAddresses"].startswith("at once"),
                        network)
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            self.assertIn("left as it is: %s)" % (f.read().strip(),),
                          network["ipv4"])


class NetStatusTests(NetworkTestsMixin, DaemonTestCase):
    """
    vx.netstatus, from the kernel's counters.
    """

    @defer.inlineCallbacks
    def counters(self, name):
        rows = yield self.admin.call("vx.netstatus", name=name)
        return {row["type"]: row for row in rows}

    @defer.inlineCallbacks
    def test_countsBytesSent(self):
        """
        The bytes the host sends to a VPS show in the received bytes of
        its eth0 (at least as many), and its loopback is listed.
        """
        address = testAddress()
        name = yield self.addressedVps(address)
        before = yield self.counters(name)
        self.assertEqual(sorted(before), ["eth0", "lo"])
        for row in before.values():
            self.assertEqual(set(row), {"type", "recvp", "recvb", "sendp",
                                        "sendb", "failp"})
            for key in ("recvp", "recvb", "sendp", "sendb", "failp"):
                self.assertTrue(row[key].isdigit(), row)
        size = 300000
        yield self.execIn(name, 'sh -c "nc -l -p 7003 > /dev/null 2>&1 &"')
        yield self.sendFromHost(address, 7003, b"x" * size)
        # The host's kernel may still be sending when sendall returns.
        deadline = time.monotonic() + DEADLINE
        while True:
            after = yield self.counters(name)
            received = (int(after["eth0"]["recvb"])
                        - int(before["eth0"]["recvb"]))
            if received >= size or time.monotonic() > deadline:
                break
            yield pause(0.05)
        self.assertGreaterEqual(received, size)
        self.assertGreater(int(after["eth0"]["recvp"]),
                           int(before["eth0"]["recvp"]))
        # The VPS's own view of the same counter, read afterwards.
        inside = yield self.execIn(name, "cat /proc/net/dev")
        eth0 = [line for line in inside.splitlines()
                if line.strip().startswith("eth0:")][0]
        self.assertGreaterEqual(int(eth0.split(":")[1].split()[0]),
                                int(after["eth0"]["recvb"]))

    @defer.inlineCallbacks
    def test_stopped(self):
        """
        A stopped VPS has no interfaces: MESTOPPED.
        """
        name = yield self.newVps()
        yield self.assertFault(MESTOPPED, self.admin.call("vx.netstatus",
                                                          name=name),
                               "not running")


def hostRoute(address):
    """
    The host's route to C{address} alone (iproute2), or C{""}.
    """
    family, length = ("-6", "128") if ":" in address else ("-4", "32")
    return subprocess.run(["ip", family, "route", "show",
                           address + "/" + length],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def routeDevice(address):
    """
    The device of the host's route to C{address} alone, or C{None}.
    """
    words = hostRoute(address).split()
    return words[words.index("dev") + 1] if "dev" in words else None


class IPv6Tests(NetworkTestsMixin, DaemonTestCase):
    """
    VPSes with IPv6 addresses reach each other and the host through the
    link-local gateway of their host-side veths, each on its own
    addresses only.
    """

    @defer.inlineCallbacks
    def test_vpsToVps(self):
        """
        Two VPSes with addresses of one /64 connect over TCP to each other
        in both directions and the host connects to each; the host routes
        each address alone to its VPS's veth; no host-global setting
        changes.
        """
        before = hostGlobals()
        first = testAddress6()
        second = testAddress6(first.rsplit(":", 1)[0] + ":")
        while second == first:
            second = testAddress6(first.rsplit(":", 1)[0] + ":")
        one = yield self.addressedVps(first)
        other = yield self.addressedVps(second)
        self.assertNotEqual(routeDevice(first), None)
        self.assertNotEqual(routeDevice(first), routeDevice(second))
        for name, mine, theirs in ((one, first, second),
                                   (other, second, first)):
            addresses = yield self.execIn(name, "ip -o -6 addr")
            self.assertIn(" %s/" % (mine,), addresses)
            self.assertNotIn(theirs, addresses)
        for client, server, address, port in ((one, other, second, 7011),
                                              (other, one, first, 7012)):
            token = secrets.token_hex(8)
            yield self.listen(server, port, "/tmp/v6.out")
            yield self.sendFrom(client, address, port, token)
            yield self.waitReceived(server, "/tmp/v6.out", token)
        for name, address in ((one, first), (other, second)):
            token = secrets.token_hex(8)
            yield self.listen(name, 7013, "/tmp/v6host.out")
            yield self.sendFromHost(address, 7013, token.encode())
            yield self.waitReceived(name, "/tmp/v6host.out", token)
        self.assertEqual(hostGlobals(), before)

    @defer.inlineCallbacks
    def test_othersAddressNotReceived(self):
        """
        A VPS that puts another VPS's IPv6 address on its own eth0
        (NET_ADMIN) receives nothing sent to it, from the host or from a
        third VPS: the owner does.
        """
        prefix = testAddress6().rsplit(":", 1)[0] + ":"
        addresses = set()
        while len(addresses) < 3:
            addresses.add(testAddress6(prefix))
        claimed, thief, sender = sorted(addresses)
        owner = yield self.addressedVps(claimed)
        claimer = yield self.addressedVps(thief, bcaps=("NET_ADMIN",))
        third = yield self.addressedVps(sender)
        yield self.execIn(claimer, "ip -6 addr add %s/128 dev eth0"
                          % (claimed,))
        self.assertIn(claimed, (yield self.execIn(claimer, "ip -o -6 addr")))
        claimerPid = (yield self.status(claimer))["initpid"]
        for name in (owner, claimer):
            yield self.listen(name, 7014, "/tmp/claim.out")
        before = tcpSegmentsReceived(claimerPid)
        yield self.sendFrom(third, claimed, 7014, "fromvps")
        yield self.waitReceived(owner, "/tmp/claim.out", "fromvps")
        yield self.listen(owner, 7014, "/tmp/claim.out")
        yield self.sendFromHost(claimed, 7014, b"fromhost")
        yield self.waitReceived(owner, "/tmp/claim.out", "fromhost")
        self.assertEqual((yield self.execIn(claimer, "cat /tmp/claim.out")),
                         "")
        self.assertEqual(tcpSegmentsReceived(claimerPid), before)


class LiveAddressTests(NetworkTestsMixin, DaemonTestCase):
    """
    vxdb.nx.addr.set and .remove on a running VPS.
    """

    @defer.inlineCallbacks
    def test_addAndRemoveLive(self):
        """
        An address added to a running VPS is on its eth0 and reachable
        from the host at once, without a restart; removed, it is gone
        from the VPS and from the host's routes.
        """
        first = testAddress()
        extra = testAddress()
        while extra.rsplit(".", 1)[0] == first.rsplit(".", 1)[0]:
            extra = testAddress()
        name = yield self.addressedVps(first)
        initPid = (yield self.status(name))["initpid"]
        self.assertEqual((yield self.admin.call(
            "vxdb.nx.addr.set", name=name, addr=extra, netmask="24")),
            APPLIED_NOW)
        self.assertIn(extra + "/24", (yield self.execIn(name,
                                                        "ip -o addr")))
        self.assertIn(" dev veth", " " + hostRoute(extra))
        token = secrets.token_hex(8)
        yield self.listen(name, 7004, "/tmp/live.out")
        yield self.sendFromHost(extra, 7004, token.encode())
        yield self.waitReceived(name, "/tmp/live.out", token)
        self.assertEqual((yield self.status(name))["initpid"], initPid)

        self.assertEqual((yield self.admin.call(
            "vxdb.nx.addr.remove", name=name, addr=extra)), APPLIED_NOW)
        addresses = yield self.execIn(name, "ip -o addr")
        self.assertNotIn(extra, addresses)
        self.assertIn(first + "/24", addresses)
        self.assertEqual(hostRoute(extra), "")
        self.assertNotEqual(hostRoute(first), "")
        # It still stops as LXC expects.
        yield self.admin.call("vx.stop", name=name)
        self.assertEqual(hostRoute(first), "")

    @defer.inlineCallbacks
    def test_addIPv6Live(self):
        """
        An IPv6 address added to a running VPS that started with an IPv4
        address only is on its eth0 alone and reachable at once from the
        host and, in both directions, from a VPS of the same /64; removed,
        its host route is gone.
        """
        added = testAddress6()
        peerAddress = testAddress6(added.rsplit(":", 1)[0] + ":")
        while peerAddress == added:
            peerAddress = testAddress6(added.rsplit(":", 1)[0] + ":")
        name = yield self.addressedVps(testAddress())
        peer = yield self.addressedVps(peerAddress)
        self.assertEqual(hostRoute(added), "")
        self.assertEqual((yield self.admin.call(
            "vxdb.nx.addr.set", name=name, addr=added, netmask="64")),
            APPLIED_NOW)
        self.assertIn(" %s/128 " % (added,),
                      (yield self.execIn(name, "ip -o -6 addr")))
        self.assertIn(" dev veth", " " + hostRoute(added))
        token = secrets.token_hex(8)
        yield self.listen(name, 7015, "/tmp/live6.out")
        yield self.sendFromHost(added, 7015, token.encode())
        yield self.waitReceived(name, "/tmp/live6.out", token)
        for client, server, address, port in ((peer, name, added, 7016),
                                              (name, peer, peerAddress,
                                               7017)):
            token = secrets.token_hex(8)
            yield self.listen(server, port, "/tmp/live6vps.out")
            yield self.sendFrom(client, address, port, token)
            yield self.waitReceived(server, "/tmp/live6vps.out", token)
        self.assertEqual((yield self.admin.call(
            "vxdb.nx.addr.remove", name=name, addr=added)), APPLIED_NOW)
        self.assertNotIn(added, (yield self.execIn(name, "ip -o addr")))
        self.assertEqual(hostRoute(added), "")


class OlderVethTests(NetworkTestsMixin, DaemonTestCase):
    """
    A VPS started by an older vcd has a host-side veth that accepts router
    advertisements and redirects from it; the daemon's start-up
    (L{vcd.kernel.vethharden.hardenRunning}) refuses them and removes the
    routes such advertisements put there.
    """

    @defer.inlineCallbacks
    def test_hardenedAtStartup(self):
        name = yield self.addressedVps("2001:db8:0:7::a")
        veth = routeDevice("2001:db8:0:7::a")
        conf = "/proc/sys/net/ipv6/conf/%s/" % (veth,)
        # What the older up script left (the kernel's defaults), and a
        # route an advertisement from the VPS made.
        for key in ("accept_ra", "accept_redirects"):
            with open(conf + key, "w") as f:
                f.write("1")
        subprocess.run(["ip", "-6", "route", "add", "2001:db8:77::/64",
                        "dev", veth, "proto", "ra"], check=True)
        lines = yield threads.deferToThread(hardenRunning,
                                            self.config.lxcpath)
        for key in ("accept_ra", "accept_redirects"):
            with open(conf + key) as f:
                self.assertEqual(f.read().strip(), "0", key)
        with open("/proc/sys/net/ipv4/conf/%s/accept_redirects"
                  % (veth,)) as f:
            self.assertEqual(f.read().strip(), "0")
        self.assertEqual(subprocess.run(
            ["ip", "-6", "route", "show", "2001:db8:77::/64"],
            capture_output=True, text=True, check=True).stdout.strip(), "")
        [line] = lines
        self.assertIn(name, line)
        self.assertIn("removed routes from router advertisements", line)
        # Once done, nothing more to do.
        self.assertEqual((yield threads.deferToThread(
            hardenRunning, self.config.lxcpath)), [])
