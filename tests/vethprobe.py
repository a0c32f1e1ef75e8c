"""
Run by L{tests.test_vethhostile} as C{unshare -n python vethprobe.py
<mode>}, in a network namespace of its own that plays the host: two veth
pairs whose other sides (C{eth0}, C{eth1}) are in a second namespace, the
VPS's. The host side C{vcdprot0} gets L{vcd.kernel.vethrouting.UP_SCRIPT}
(run as LXC runs it); the control C{vcdctl0} gets only what the script
gave before it refused routes from the VPS (force_forwarding, fe80::1).
Once both veths' own link-local addresses have passed duplicate address
detection (before, the kernel ignores advertisements), the VPS's root
sends one router advertisement out of each (default route, preference
high; an on-link /128 for another VPS's address and an autoconfigured
/64), the protected one first, and the probe waits until the control's
routes show the advertisements arrived.

Prints a JSON object: C{protected} and C{control}, each the host's IPv6
routes and global addresses on that veth.
"""

import json
import os
import socket
import struct
import subprocess
import sys
import time

from vcd.kernel.vethrouting import IPV6_GATEWAY, upScriptLine

#: Another VPS's address, which the advertisements claim as on-link.
VICTIM = "2001:db8::b"
PROTECTED, CONTROL = "vcdprot0", "vcdctl0"


def ip(*args, netns=None):
    argv = ["ip"] + list(args)
    if netns is not None:
        argv = ["nsenter", "--net=/proc/%d/ns/net" % (netns,), "--"] + argv
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          text=True).stdout


def advertisement():
    """
    A router advertisement: default router (lifetime 1800 s, preference
    high), on-link L{VICTIM}/128, on-link and autonomous 2001:db8:5::/64.
    """
    def prefix(address, length, flags):
        return struct.pack("!BBBBIII", 3, 4, length, flags, 3600, 3600,
                           0) + socket.inet_pton(socket.AF_INET6, address)
    return (struct.pack("!BBHBBHII", 134, 0, 0, 64, 0x08, 1800, 0, 0)
            + prefix(VICTIM, 128, 0x80) + prefix("2001:db8:5::", 64, 0xc0))


def sendAdvertisements():
    """
    In the VPS's namespace: one advertisement out of C{eth0} (the
    protected veth's peer), then C{eth1} (the control's), from one CPU.
    """
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for device in ("eth0", "eth1"):
        index = socket.if_nametoindex(device)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                          socket.IPPROTO_ICMPV6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        s.sendto(advertisement(), ("ff02::1", 0, 0, index))
        s.close()


def state(device):
    return {"routes": ip("-6", "route", "show", "dev", device).splitlines(),
            "addresses": ip("-6", "-o", "addr", "show", "dev", device,
                            "scope", "global").splitlines()}


def main():
    ip("link", "set", "lo", "up")
    vps = subprocess.Popen(["unshare", "-n", "sleep", "60"])
    try:
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while os.readlink("/proc/%d/ns/net" % (vps.pid,)) == own:
            if time.monotonic() > deadline:
                raise SystemExit("no network namespace for the VPS")
            time.sleep(0.01)
        for host, peer in ((PROTECTED, "eth0"), (CONTROL, "eth1")):
            ip("link", "add", host, "type", "veth", "peer", "name", peer,
               "netns", str(vps.pid))
            ip("link", "set", peer, "addrgenmode", "none", "up",
               netns=vps.pid)
            ip("-6", "addr", "add", "fe80::a/64", "dev", peer, "nodad",
               netns=vps.pid)
        subprocess.run(["/bin/sh", "-c", upScriptLine().split("'")[1],
                        "vcd-veth-up", "vps", "net", "up", "veth",
                        PROTECTED], check=True)
        with open("/proc/sys/net/ipv6/conf/%s/force_forwarding"
                  % (CONTROL,), "w") as f:
            f.write("1")
        ip("-6", "addr", "add", IPV6_GATEWAY + "/64", "dev", CONTROL,
           "nodad")
        for host in (PROTECTED, CONTROL):
            ip("link", "set", host, "up")
        # A veth takes advertisements once its own link-local address
        # has passed duplicate address detection.
        deadline = time.monotonic() + 10
        for host in (PROTECTED, CONTROL):
            while not ip("-6", "-o", "addr", "show", "dev", host,
                         "scope", "link", "-tentative").count("fe80::") > 1:
                if time.monotonic() > deadline:
                    raise SystemExit("%s stays tentative" % (host,))
                time.sleep(0.01)
        subprocess.run(["nsenter", "--net=/proc/%d/ns/net" % (vps.pid,),
                        "--", sys.executable, __file__, "send"], check=True)
        while "proto ra" not in ip("-6", "route", "show", "dev", CONTROL):
            if time.monotonic() > deadline:
                raise SystemExit("the control never took the advertisement")
            time.sleep(0.01)
        print(json.dumps({"protected": state(PROTECTED),
                          "control": state(CONTROL)}))
    finally:
        vps.kill()
        vps.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["send"]:
        sendAdvertisements()
    else:
        main()
