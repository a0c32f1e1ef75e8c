# -*- test-case-name: tests.test_contextflags -*-
"""
The ccap RAW_ICMP on a running VPS: C{net.ipv4.ping_group_range} in the
VPS's own network namespace (the groups whose processes may open ICMP
datagram sockets: unprivileged ping).

A network sysctl is written in the namespace of the process that opens
it, so the write runs in a short-lived process of its own (this module
run with C{python -m}) that joins the VPS's network namespace: the daemon
and its kernel worker never change namespace. It stays in the host's user
namespace, so the groups are host ids: the whole range the VPS's
C{gid_map} maps. A VPS started with RAW_ICMP gets it this way too, right
after its start: LXC's C{lxc.sysctl} would write it after /proc/sys is
read-only (C{proc:mixed}), and fail.

    python -m vcd.kernel.pinggroups INITPID on|off
"""

import os
import sys

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


def setPingGroups(initPid, allowed):
    """
    Join the network namespace of process C{initPid} (this process must be
    single-threaded; its namespace changes for good) and let every group
    of its VPS ping, or none.

    @raise OSError: if a step fails.
    """
    from vcd.kernel.binding import ffi, lib
    with open("/proc/%d/gid_map" % (initPid,)) as f:
        value = hostRange(f.read()) if allowed else NO_GROUPS
    fd = os.open("/proc/%d/ns/net" % (initPid,), os.O_RDONLY)
    try:
        if os.fstat(fd).st_ino == os.stat("/proc/self/ns/net").st_ino:
            raise OSError("process %d is in the host's network namespace:"
                          " refused" % (initPid,))
        if lib.setns(fd, 0) != 0:
            errno = ffi.errno
            raise OSError(errno, os.strerror(errno), "setns")
    finally:
        os.close(fd)
    with open(KEY, "w") as f:
        f.write(value)


def main(argv):
    """
    The command line: C{INITPID on|off}.
    """
    if len(argv) != 2 or argv[1] not in ("on", "off") \
            or not argv[0].isdigit():
        sys.stderr.write("usage: python -m vcd.kernel.pinggroups INITPID"
                         " on|off\n")
        return 2
    try:
        setPingGroups(int(argv[0]), argv[1] == "on")
    except OSError as e:
        sys.stderr.write("%s\n" % (e,))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
