# -*- test-case-name: tests.test_lxcconfig -*-
"""
The LXC configuration of a VPS, generated from VXDB at every start (so
edits made while it was stopped apply at the next start).

It is written deliberately, key by key: no distribution C{common.conf}
(whose lxcfs hooks sleep at every stop), C{lxc.start.auto = 0} so the
distribution's lxc service never races the daemon, and a post-stop hook
that calls vshelper (the manual's kernel helper) and fails on a reboot so
liblxc never reboots a VPS itself with a stale configuration.
"""

import ipaddress
import os

from vcd.kernel.hostfeatures import PRLIMITS

UNLIMITED = 2 ** 64 - 1
#: The most pids a 64-bit kernel can have (PID_MAX_LIMIT); pids.max
#: refuses anything above it, which is no limit anyway.
PID_MAX_LIMIT = 4 * 1024 * 1024
SECCOMP_PROFILE = "/usr/share/lxc/config/common.seccomp"
#: Mount types LXC provides itself (lxc.mount.auto, autodev, devpts).
LXC_PROVIDED_TYPES = ("proc", "sysfs", "devpts")


class StartConfig:
    """
    Everything VXDB says about how to start one VPS.

    @ivar name: the VPS name (also the container name).
    @ivar xid: its context id.
    @ivar rootfs: the value of C{lxc.rootfs.path}.
    @ivar init: the init command line.
    @ivar bcaps: the capability bounding set (upper-case names).
    @ivar mounts: C{(src, dst, type, opts)} tuples.
    @ivar addresses: C{(addr, netmask)} tuples (IPv4 dotted netmask or an
        IPv6 prefix length).
    @ivar broadcast: the IPv4 broadcast address, or C{""} for the network's.
    @ivar uname: a dict of uname values (NODENAME, DOMAINNAME).
    @ivar limits: a dict from limit name to C{(soft, max)} ints.
    """

    def __init__(self, name, xid, rootfs, init, bcaps=(), mounts=(),
                 addresses=(), broadcast="", uname=None, limits=None):
        self.name = name
        self.xid = xid
        self.rootfs = rootfs
        self.init = init
        self.bcaps = tuple(bcaps)
        self.mounts = tuple(mounts)
        self.addresses = tuple(addresses)
        self.broadcast = broadcast
        self.uname = dict(uname or {})
        self.limits = dict(limits or {})


class HostPaths:
    """
    Where things are on this host, for the generated configuration.

    @ivar lxcpath: the daemon's private lxcpath.
    @ivar hook: the post-stop hook command (vshelper with its options),
        to which C{shutdown <xid>} is appended.
    @ivar cgroupLayout: C{"v1"}, C{"v2"} or C{"hybrid"}.
    @ivar apparmor: whether the kernel has AppArmor.
    @ivar seccomp: whether to load LXC's default seccomp profile.
    """

    def __init__(self, lxcpath, hook, cgroupLayout, apparmor=None,
                 seccomp=None):
        self.lxcpath = lxcpath
        self.hook = hook
        self.cgroupLayout = cgroupLayout
        self.apparmor = (os.path.isdir("/sys/kernel/security/apparmor")
                         if apparmor is None else apparmor)
        self.seccomp = (os.path.exists(SECCOMP_PROFILE) if seccomp is None
                        else seccomp)


def _prefix(address, netmask):
    if address.version == 6:
        return int(netmask)
    return ipaddress.IPv4Network("0.0.0.0/" + netmask).prefixlen


def _cgroupKey(layout, v1, v2):
    if layout == "v2":
        return "lxc.cgroup2." + v2
    return "lxc.cgroup." + v1


def _limitLines(start, layout):
    lines = []
    for limit, (soft, hard) in sorted(start.limits.items()):
        if limit in PRLIMITS:
            lines.append(("lxc.prlimit." + limit.lower(), "%s:%s" % (
                _rlimitValue(limit, soft), _rlimitValue(limit, hard))))
        elif limit == "NPROC":
            lines.append((_cgroupKey(layout, "pids.max", "pids.max"),
                          "max" if hard > PID_MAX_LIMIT else str(hard)))
        elif limit == "RSS":
            hard, soft = _bytes(hard), _bytes(soft)
            if hard is not None:
                lines.append((_cgroupKey(layout, "memory.limit_in_bytes",
                                         "memory.max"), str(hard)))
            if soft is not None and soft != hard:
                lines.append((_cgroupKey(layout,
                                         "memory.soft_limit_in_bytes",
                                         "memory.high"), str(soft)))
    return lines


def _bytes(kib):
    """
    A limit given in KiB, in bytes; C{None} (no limit) for C{UNLIMITED} and
    for values whose bytes exceed 2 ** 64 - 1, which nothing can reach:
    written as numbers, the kernel's memory-limit parser would wrap them
    (2 ** 64 bytes to 0) and LXC would refuse them as an rlimit.
    """
    if kib == UNLIMITED or kib * 1024 > UNLIMITED:
        return None
    return kib * 1024


def _rlimitValue(limit, value):
    if limit in ("MEMLOCK", "AS"):
        value = _bytes(value)
    if value is None or value == UNLIMITED:
        return "unlimited"
    return str(value)


def renderConfig(start, paths):
    """
    Render the LXC configuration text of a VPS.
    """
    directory = os.path.join(paths.lxcpath, start.name)
    lines = [
        ("lxc.uts.name", start.uname.get("NODENAME") or start.name),
        ("lxc.rootfs.path", start.rootfs),
        ("lxc.rootfs.mount", os.path.join(directory, "rootfs.mnt")),
        ("lxc.init.cmd", start.init),
        ("lxc.start.auto", "0"),
        ("lxc.autodev", "1"),
        ("lxc.mount.auto", "proc:mixed sys:mixed"),
        ("lxc.log.file", os.path.join(directory, "log")),
        ("lxc.log.level", "NOTICE"),
        ("lxc.console.logfile", os.path.join(directory, "console.log")),
        ("lxc.cap.keep", " ".join(sorted(c.lower() for c in start.bcaps))
         or "none"),
        # LXC appends the VPS name and more after "--", so that no name
        # can pass for an option of vshelper's.
        ("lxc.hook.post-stop", "%s -- shutdown %d" % (paths.hook,
                                                      start.xid)),
    ]
    if paths.apparmor:
        lines.append(("lxc.apparmor.profile", "generated"))
        lines.append(("lxc.apparmor.allow_nesting", "0"))
    if paths.seccomp:
        lines.append(("lxc.seccomp.profile", SECCOMP_PROFILE))
    lines.extend(_networkLines(start))
    lines.extend(_mountLines(start))
    lines.extend(_limitLines(start, paths.cgroupLayout))
    for key, value in lines:
        if "\n" in value or "\0" in value:
            raise ValueError("%s: a value with a newline or NUL" % (key,))
    return "".join("%s = %s\n" % line for line in lines)


def _networkLines(start):
    if not start.addresses:
        # Its own network namespace with only the loopback device.
        return [("lxc.net.0.type", "empty")]
    lines = [("lxc.net.0.type", "veth"), ("lxc.net.0.veth.mode", "router"),
             ("lxc.net.0.name", "eth0"), ("lxc.net.0.flags", "up")]
    families = set()
    for addr, netmask in start.addresses:
        address = ipaddress.ip_address(addr)
        prefix = _prefix(address, netmask)
        families.add(address.version)
        if address.version == 4:
            network = ipaddress.IPv4Network("%s/%d" % (address, prefix),
                                            strict=False)
            broadcast = start.broadcast or str(network.broadcast_address)
            lines.append(("lxc.net.0.ipv4.address",
                          "%s/%d %s" % (address, prefix, broadcast)))
        else:
            lines.append(("lxc.net.0.ipv6.address",
                          "%s/%d" % (address, prefix)))
    if 4 in families:
        lines.append(("lxc.net.0.ipv4.gateway", "dev"))
    if 6 in families:
        lines.append(("lxc.net.0.ipv6.gateway", "dev"))
    return lines


def _mountLines(start):
    lines = []
    for src, dst, fstype, opts in start.mounts:
        if fstype in LXC_PROVIDED_TYPES:
            continue  # LXC mounts proc, sys and devpts itself
        for field in (src, dst, fstype, opts):
            # VXDB refuses these; a field that has one would shift the
            # others (LXC splits mount entries on white space).
            if not field or any(c in field for c in " \t\\#"):
                raise ValueError("mount field %r is not safe in an LXC"
                                 " mount entry" % (field,))
        target = dst.lstrip("/")
        if not target or ".." in target.split("/"):
            # LXC mounts relative to the root (and creates the directory
            # first): an empty target would shift the columns, ".." leave
            # the root.
            raise ValueError("mount target %r is not below the root of"
                             " the VPS" % (dst,))
        options = opts.split(",")
        if {"bind", "rbind", "move", "remount"}.intersection(options):
            raise ValueError("mount of %s: bind mounts are refused" % (dst,))
        options.append("create=dir")
        lines.append(("lxc.mount.entry", "%s %s %s %s 0 0" % (
            src, target, fstype, ",".join(options))))
    return lines
