# -*- test-case-name: tests.test_vpsnetwork,tests.test_lxcconfig -*-
"""
How VPSes reach the host and each other: a VPS with addresses has one
veth pair in LXC's router mode (the VPS's side is its C{eth0}; LXC routes
each of its addresses alone to the host's side); a VPS without addresses
has only its loopback device, brought up.

LXC's router mode alone lets a VPS reach the host only: a packet from one
VPS to another arrives on the first VPS's host-side veth and must be
forwarded to the other's, and the first VPS must get an answer when it
resolves the next hop. Both are settings of the receiving interface, so
each VPS's own host-side veth gets them (never the host's global
C{net.ipv4.ip_forward} nor C{conf.all}/C{conf.default}):

  - C{net.ipv4.conf.<veth>.forwarding = 1}: the kernel forwards what
    arrives on that interface (IPv4 decides by the input interface);
  - C{net.ipv4.conf.<veth>.proxy_arp = 1}: the VPS's IPv4 default route
    is C{dev eth0}, so it asks by ARP for every address, and the host
    answers for those it routes through another interface;
  - C{net.ipv4.conf.<veth>.rp_filter = 1}: strict reverse-path filter, so
    a VPS sends only from its own IPv4 addresses (the host drops anything
    else arriving on its veth), as a VServer could only use its own;
  - C{net.ipv4.conf.<veth>.accept_redirects = 0},
    C{net.ipv6.conf.<veth>.accept_ra = 0} and
    C{net.ipv6.conf.<veth>.accept_redirects = 0}: the host never takes
    routes from a VPS. C{force_forwarding} leaves the veth's own IPv6
    C{forwarding} at 0, and an interface that does not forward accepts
    router advertisements by default: a VPS's root could otherwise send
    one and give the host a default route through itself (preference
    high) and an on-link route (metric 256, before LXC's 1024) for any
    prefix, even another VPS's address alone (/128), taking its traffic;

    (Linux >= 6.17); older kernels forward IPv6 only with the host-global
    C{net.ipv6.conf.all.forwarding}, which the daemon leaves alone;
  - the link-local address L{IPV6_GATEWAY} on the veth (without duplicate
    address detection, so it is usable at once), the IPv6 gateway of the
    VPS, as LXD's and Incus's "routed" NICs do. A VPS has its IPv6
    addresses alone (/128) on C{eth0} and its IPv6 default route through
    that gateway (L{GATEWAY_HOOK}): it only ever resolves the gateway,
    which the host answers for itself, so no proxy NDP entry for other
    VPSes' addresses is needed. The host routes each address to its own
    VPS's veth, so a VPS receives only what is sent to its addresses;
    what it sends is not checked (IPv6 has no C{rp_filter}; only a
    firewall could do it, and vcd changes none): L{detectNetwork} says
    so.

Addresses added to or removed from a running VPS go the same way
(L{vcd.kernel.liveaddress}).

LXC runs L{UP_SCRIPT} on the host (C{lxc.net.0.script.up}) once the veth
exists and before the VPS's init runs, and L{GATEWAY_HOOK}
(C{lxc.hook.start-host}) once the VPS's C{eth0} has its addresses and
before its init runs; a failure of either stops the start. Nothing
changes the host's firewall: a forward chain whose policy drops packets
stops VPS-to-VPS traffic (as it would between any two interfaces), and
packets from outside reach a VPS only if the host's own uplink forwards
(an administrator's choice).
"""

import os

#: The programs that change a running VPS's addresses
#: (L{vcd.kernel.liveaddress}): iproute2's and util-linux's.
IP = "/usr/sbin/ip"
NSENTER = "/usr/bin/nsenter"
#: The link-local address of every VPS's host-side veth: the IPv6 gateway
#: of the VPS (as LXD's and Incus's "routed" NICs do).
IPV6_GATEWAY = "fe80::1"

#: The shell commands LXC runs (through C{/bin/sh -c}, hook version 0) with
#: the arguments C{<name> net up veth [<link>] <host-side device>}: the
#: device is the last one.
UP_SCRIPT = "; ".join([
    "for dev; do :; done",
    "conf=/proc/sys/net/ipv4/conf/$dev",
    "echo 1 > $conf/forwarding && echo 1 > $conf/proxy_arp"
    " && echo 1 > $conf/rp_filter && echo 0 > $conf/accept_redirects"
    " || exit 1",
    "v6=/proc/sys/net/ipv6/conf/$dev",
    "if [ -e $v6 ]; then echo 0 > $v6/accept_ra"
    " && echo 0 > $v6/accept_redirects || exit 1; fi",
    "if [ -e $v6/force_forwarding ]; then"
    " echo 1 > $v6/force_forwarding || exit 1; fi",
    "if [ -e $v6 ] && [ $(cat $v6/disable_ipv6) = 0 ]; then"
    " %s -6 addr add %s/64 dev $dev nodad || exit 1; fi"
    % (IP, IPV6_GATEWAY),
])

#: The settings L{UP_SCRIPT} makes on each VPS's host-side veth (for
#: C{vcd.hostinfo}).
VETH_SETTINGS = ("net.ipv4.conf.<veth>.forwarding=1",
                 "net.ipv4.conf.<veth>.proxy_arp=1",
                 "net.ipv4.conf.<veth>.rp_filter=1",
                 "net.ipv4.conf.<veth>.accept_redirects=0",
                 "net.ipv6.conf.<veth>.accept_ra=0",
                 "net.ipv6.conf.<veth>.accept_redirects=0",
                 "net.ipv6.conf.<veth>.force_forwarding=1",
                 "address %s/64 nodad on <veth>" % (IPV6_GATEWAY,))


#: The shell command LXC runs on the host (C{lxc.hook.start-host}, with
#: C{LXC_PID} the VPS's init, which has not run yet) for a VPS that starts
#: with IPv6 addresses: its IPv6 default route, through L{IPV6_GATEWAY}.
GATEWAY_HOOK = ("%s --net=/proc/$LXC_PID/ns/net -- %s -6 route add default"
                " via %s dev eth0" % (NSENTER, IP, IPV6_GATEWAY))


def gatewayHookLine():
    """
    @return: the value of C{lxc.hook.start-host} running L{GATEWAY_HOOK}.
    """
    return "/bin/sh -c '%s' vcd-ipv6-gateway" % (GATEWAY_HOOK,)


def upScriptLine():
    """
    @return: the value of C{lxc.net.0.script.up} running L{UP_SCRIPT}.
    """
    return "/bin/sh -c '%s' vcd-veth-up" % (UP_SCRIPT,)


def _read(root, path):
    try:
        with open(os.path.join(root, path)) as f:
            return f.read().strip()
    except OSError:
        return None


def _ipv6Text(root):
    """
    What holds for IPv6 on this host (L{detectNetwork}).
    """
    if not os.path.isdir(os.path.join(root, "proc/sys/net/ipv6")):
        return "not available: this kernel has no IPv6"
    if _read(root, "proc/sys/net/ipv6/conf/default/disable_ipv6") == "1":
        return ("not available: new interfaces get no IPv6"
                " (net.ipv6.conf.default.disable_ipv6 is 1, a host-global"
                " setting vcd leaves alone), so a VPS's host-side veth has"
                " no gateway address %s and its IPv6 addresses reach"
                " nothing" % (IPV6_GATEWAY,))
    reach = ("each VPS has its IPv6 addresses alone (/128) on its eth0 and"
             " its default route through %s, the link-local address of its"
             " host-side veth; the host routes each address to its VPS's"
             " veth, so a VPS receives only what is sent to its own"
             " addresses" % (IPV6_GATEWAY,))
    if os.path.exists(os.path.join(
            root, "proc/sys/net/ipv6/conf/default/force_forwarding")):
        between = ("VPSes reach the host and each other on their addresses,"
                   " forwarded by each VPS's veth (force_forwarding)")
    elif _read(root, "proc/sys/net/ipv6/conf/all/forwarding") == "1":
        between = ("VPSes reach the host and each other on their addresses"
                   " (forwarded: the host's net.ipv6.conf.all.forwarding"
                   " is 1)")
    else:
        between = ("VPSes reach the host, not each other: this kernel has no"
                   " per-interface force_forwarding (Linux >= 6.17) and"
                   " net.ipv6.conf.all.forwarding, a host-global setting vcd"
                   " leaves alone, is 0")
    return ("%s; %s; source addresses are not validated: a VPS can send"
            " from an IPv6 address that is not its own (by adding it, with"
            " NET_ADMIN, or through a raw socket, with NET_RAW), though"
            " answers go to the address's owner (IPv6 has no rp_filter;"
            " only a firewall could drop those packets, and vcd changes"
            " none)" % (between, reach))


def detectNetwork(root="/"):
    """
    Say how VPSes reach each other on this host, for C{vcd.hostinfo}.

    @return: a plain struct: C{loopback}, C{ipv4} and C{ipv6} (what holds
        and why), C{vethSettings}, C{firewall}, C{liveAddresses}.
    """
    missing = [path for path in (IP, NSENTER)
               if not os.access(os.path.join(root, path.lstrip("/")),
                                os.X_OK)]
    if missing:
        live = ("at the next start: %s missing (apt-get install iproute2"
                " util-linux)" % (" and ".join(missing),))
    else:
        live = ("at once on a VPS that started with an address (%s in its"
                " network namespace by %s)" % (IP, NSENTER))
    return {
        "loopback": "up in every VPS (lxc.net.0.flags = up)",
        "ipv4": "VPSes reach the host and each other on their addresses"
                " (per-interface forwarding and proxy ARP on each VPS's"
                " host-side veth; the host's ip_forward is left as it is:"
                " %s)"
                % (_read(root, "proc/sys/net/ipv4/ip_forward") or "?",),
        "ipv6": _ipv6Text(root),
        "vethSettings": list(VETH_SETTINGS),
        "firewall": "not changed: a host firewall's forward chain must"
                    " accept packets between VPS veths",
        "liveAddresses": live,
    }
