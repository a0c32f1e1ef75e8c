# -*- test-case-name: tests.test_contextflags -*-
"""
The LXC configuration lines of a VPS's context flags and context
capabilities (the manual's C{vxdb.vx.flags} and C{vxdb.vx.ccaps}), for
L{vcd.kernel.lxcconfig.renderConfig}:

  - VIRT_MEM, VIRT_LOAD, VIRT_CPU: lxcfs's views bound over the VPS's own
    files (L{VIEWS}; lxcfs is kept serving by L{vcd.kernel.lxcfs}), after
    LXC has mounted its /proc and
    /sys (a fresh procfs and sysfs of the VPS's: no file there is a link
    the VPS made, and the targets exist, so nothing is created);
  - VIRT_UPTIME: a time namespace whose boot clock starts at 0 when the
    VPS starts (C{lxc.time.offset.boot} minus the host's boot time, so
    /proc/uptime, sysinfo(2) and CLOCK_BOOTTIME count from the start);
  - SET_UTSNAME: without it, a seccomp profile that refuses sethostname
    and setdomainname (the VPS's root has CAP_SYS_ADMIN in its own user
    namespace, so only seccomp can refuse them);
  - RAW_ICMP: every group of the VPS may open ICMP datagram sockets
    (C{net.ipv4.ping_group_range}, set right after the start:
    L{vcd.vps.contextflags.afterStart}), and raw ICMP sockets, as
    VServer allowed them without CAP_NET_RAW: CAP_NET_RAW stays in the
    bounding set, and unless the bcap NET_RAW is set too, a seccomp profile
    refuses every raw socket that is not ICMP or ICMPv6, packet sockets,
    and the socket options that would forge headers or addresses
    (IP_HDRINCL, IPV6_HDRINCL, IP_TRANSPARENT, IPV6_TRANSPARENT). Raw
    sockets reach only the VPS's own network namespace.

The seccomp variants are files beside the daemon's base profile, written
once at start-up (L{writeSeccompVariants}); each VPS's configuration
names the one its ccaps and bcaps select (L{seccompProfile}).
"""

import contextlib
import os
import time

#: Where lxcfs serves (Debian's default, which its mount hooks use).
MOUNT_POINT = "/var/lib/lxcfs"
#: The views each context flag mounts over the VPS's own files (paths
#: below the mount point, and as seen inside the VPS).
VIEWS = {
    "VIRT_MEM": ("proc/meminfo", "proc/swaps"),
    "VIRT_LOAD": ("proc/loadavg",),
    "VIRT_CPU": ("proc/cpuinfo", "proc/stat", "sys/devices/system/cpu/online"),
}

#: Rules added without the ccap SET_UTSNAME.
NO_UTSNAME_RULES = """sethostname errno 1
setdomainname errno 1
"""
_AF_INET, _AF_INET6, _AF_PACKET = 2, 10, 17
_SOCK_RAW, _SOCK_PACKET, _SOCK_TYPE_MASK = 3, 10, 0xf
_IPPROTO_ICMP, _IPPROTO_ICMPV6 = 1, 58
_SOL_IP, _SOL_IPV6 = 0, 41
_IP_HDRINCL, _IP_TRANSPARENT = 3, 19
_IPV6_HDRINCL, _IPV6_TRANSPARENT = 36, 75
#: Rules added with the ccap RAW_ICMP but without the bcap NET_RAW: raw
#: sockets for ICMP only (socketcall, the 32-bit multiplexer whose
#: arguments seccomp cannot see, is refused: 32-bit programs fall back to
#: the direct calls).
ICMP_ONLY_RULES = "".join(
    "%s errno 1 %s\n" % (call, "".join(
        "[%s]" % ",".join(str(field) for field in a) for a in args))
    for call, args in [
        ("socket", [(0, _AF_PACKET, "SCMP_CMP_EQ")]),
        # Masked: SOCK_PACKET|SOCK_CLOEXEC is SOCK_PACKET to the kernel.
        ("socket", [(0, _AF_INET, "SCMP_CMP_EQ"),
                    (1, _SOCK_PACKET, "SCMP_CMP_MASKED_EQ",
                     _SOCK_TYPE_MASK)]),
        ("setsockopt", [(1, _SOL_IP, "SCMP_CMP_EQ"),
                        (2, _IP_HDRINCL, "SCMP_CMP_EQ")]),
        ("setsockopt", [(1, _SOL_IP, "SCMP_CMP_EQ"),
                        (2, _IP_TRANSPARENT, "SCMP_CMP_EQ")]),
        ("setsockopt", [(1, _SOL_IPV6, "SCMP_CMP_EQ"),
                        (2, _IPV6_HDRINCL, "SCMP_CMP_EQ")]),
        ("setsockopt", [(1, _SOL_IPV6, "SCMP_CMP_EQ"),
                        (2, _IPV6_TRANSPARENT, "SCMP_CMP_EQ")]),
    ]) + "".join(
    "socket errno 1 [0,%d,SCMP_CMP_EQ][1,%d,SCMP_CMP_MASKED_EQ,%d]"
    "[2,%d,SCMP_CMP_NE]\n" % (family, _SOCK_RAW, _SOCK_TYPE_MASK, protocol)
    for family, protocol in ((_AF_INET, _IPPROTO_ICMP),
                             (_AF_INET6, _IPPROTO_ICMPV6))) + \
    "socketcall errno 38\n"

#: Variant suffix -> rules added to the base profile.
_VARIANTS = {"": "", "-nouts": NO_UTSNAME_RULES, "-icmp": ICMP_ONLY_RULES,
             "-nouts-icmp": NO_UTSNAME_RULES + ICMP_ONLY_RULES}


def _variantPath(base, suffix):
    stem, extension = os.path.splitext(base)
    return stem + suffix + extension


def writeSeccompVariants(base):
    """
    Beside the base seccomp profile C{base} (its rules end with the
    C{[all]} section), write the variants L{seccompProfile} names.
    """
    with open(base) as f:
        text = f.read()
    if not text.endswith("\n"):
        text += "\n"
    for suffix, rules in _VARIANTS.items():
        if not suffix:
            continue
        path = _variantPath(base, suffix)
        with open(path + ".new", "w") as f:
            f.write(text + rules)
        os.rename(path + ".new", path)


def restrictsRaw(start):
    """
    Whether VPS C{start} (a L{vcd.kernel.lxcconfig.StartConfig}) keeps
    CAP_NET_RAW for ICMP only.
    """
    return "RAW_ICMP" in start.ccaps and "NET_RAW" not in start.bcaps


def seccompProfile(base, start):
    """
    The seccomp profile of VPS C{start}: C{base}, or its variant.
    """
    suffix = ""
    if "SET_UTSNAME" not in start.ccaps:
        suffix += "-nouts"
    if restrictsRaw(start):
        suffix += "-icmp"
    return _variantPath(base, suffix)


def boundingSet(start, seccomp=True):
    """
    The capability bounding set of VPS C{start} (upper-case names): its
    bcaps, and NET_RAW with the ccap RAW_ICMP where a seccomp profile
    restricts it to ICMP.
    """
    caps = set(start.bcaps)
    if "RAW_ICMP" in start.ccaps and seccomp:
        caps.add("NET_RAW")
    return sorted(caps)


def bootOffset():
    """
    The value of C{lxc.time.offset.boot} that makes a time namespace made
    now start its boot clock at (just above) 0.
    """
    return "-%ds" % (int(time.clock_gettime(time.CLOCK_BOOTTIME)),)


@contextlib.contextmanager
def keptTimeNamespace():
    """
    Around a start or an attach in the kernel worker: liblxc makes (or
    joins) the time namespace of a VIRT_UPTIME VPS by moving the calling
    process into it, and every VPS started next would be born in it too
    (and the worker's own clocks would be the VPS's). Afterwards, move this
    process (and its future children) back into the time namespace it had.
    The caller must be single-threaded.

    @raise OSError: if setns(2) fails.
    """
    fd = os.open("/proc/self/ns/time", os.O_RDONLY)
    try:
        yield
        saved = os.fstat(fd).st_ino
        if saved != os.stat("/proc/self/ns/time").st_ino or \
                saved != os.stat("/proc/self/ns/time_for_children").st_ino:
            from vcd.kernel.binding import ffi, lib
            if lib.setns(fd, 0) != 0:
                errno = ffi.errno
                raise OSError(errno, os.strerror(errno), "setns time")
    finally:
        os.close(fd)


def contextLines(start, mountPoint=MOUNT_POINT, offset=bootOffset):
    """
    The LXC configuration lines of the flags and ccaps of VPS C{start}
    (but its seccomp profile and bounding set: L{seccompProfile},
    L{boundingSet}).

    @param offset: a function giving the value of C{lxc.time.offset.boot}.
    @return: C{(key, value)} pairs.
    """
    lines = []
    for flag in sorted(set(start.flags) & set(VIEWS)):
        for view in VIEWS[flag]:
            lines.append(("lxc.mount.entry", "%s %s none bind 0 0" % (
                os.path.join(mountPoint, view), view)))
    if "VIRT_UPTIME" in start.flags:
        lines.append(("lxc.time.offset.boot", offset()))
    return lines
