# -*- test-case-name: tests.test_kernel_interface,tests.test_contextflags -*-
"""
The ccap RAW_ICMP on a running VPS: C{net.ipv4.ping_group_range} in the
VPS's own network namespace (the groups whose processes may open ICMP
datagram sockets: unprivileged ping).

A network sysctl is written in the namespace of the process that opens
it, so the write is done by a short-lived C{nsenter} that joins the VPS's
network namespace (L{command}): the daemon and its kernel worker never
change namespace. It stays in the host's user namespace, so the groups are
host ids: the whole range the VPS's C{gid_map} maps. A VPS started with
RAW_ICMP gets it this way too, right after its start: LXC's
C{lxc.sysctl} would write it after /proc/sys is read-only
(C{proc:mixed}), and fail.
"""

import os

from vcd.kernel.vethrouting import NSENTER

KEY = "/proc/sys/net/ipv4/ping_group_range"
#: The kernel's value for "no group": its default.
NO_GROUPS = "1 0"
#: The widest range a privileged VPS (the host's ids) can give.
ALL_GROUPS = "0 2147483647"


def hostRange(gidMap):
    """
    The host group ids a VPS maps, as a ping_group_range value.

    @param gidMap: the text of its init's C{/proc/PID/gid_map}.
    """
    lines = [line.split() for line in gidMap.splitlines() if line.strip()]
    if len(lines) == 1 and lines[0] == ["0", "0", "4294967295"]:
        return ALL_GROUPS  # privileged: the host's own ids
    low = min(int(host) for _, host, _ in lines)
    high = max(int(host) + int(count) - 1 for _, host, count in lines)
    return "%d %d" % (low, min(high, 2 ** 31 - 1))


def command(initPid, allowed, nsenter=NSENTER):
    """
    The command that sets ping_group_range in the network namespace of
    process C{initPid}: every group of its VPS (C{allowed}), or none.
    Blocking (reads the process's C{gid_map}).

    @return: an argv.
    @raise OSError: if the process is gone, or is in this process's own
        network namespace (the host's: never written).
    """
    netns = "/proc/%d/ns/net" % (initPid,)
    if os.stat(netns).st_ino == os.stat("/proc/self/ns/net").st_ino:
        raise OSError("process %d is in the host's network namespace:"
                      " refused" % (initPid,))
    with open("/proc/%d/gid_map" % (initPid,)) as f:
        value = hostRange(f.read()) if allowed else NO_GROUPS
    return [nsenter, "--net=" + netns, "--", "/bin/sh", "-c",
            'echo "$1" > %s' % (KEY,), "sh", value]
