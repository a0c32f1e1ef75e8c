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

from vcd.kernel.contextconfig import (boundingSet, contextLines,
                                     seccompProfile)
from vcd.kernel.hostfeatures import PRLIMITS
from vcd.kernel.vethrouting import gatewayHookLine, upScriptLine

UNLIMITED = 2 ** 64 - 1
#: The seccomp policy of every VPS: LXC's default (no module loading, no
#: kexec, no open_by_handle_at, no forced umount) and more calls no VPS
#: needs, whose reach goes beyond it (the host's kernel memory, BPF
#: programs, performance counters, page-fault handling of other users),
#: and io_uring, whose operations (sockets among them) seccomp never sees.
SECCOMP_RULES = """2
denylist
reject_force_umount
[all]
kexec_load errno 1
kexec_file_load errno 1
open_by_handle_at errno 1
init_module errno 1
finit_module errno 1
delete_module errno 1
bpf errno 1
perf_event_open errno 1
userfaultfd errno 1
io_uring_setup errno 1
io_uring_enter errno 1
io_uring_register errno 1
"""
#: Character devices a VPS may use (C{type major:minor}): null, zero,
#: full, random, urandom, tty, console, ptmx and the PTYs; every other
#: device is denied, whatever nodes exist in the VPS.
ALLOWED_DEVICES = ("c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0",
                   "c 5:1", "c 5:2", "c 136:*")
#: Files of /proc that tell about the host, hidden behind /dev/null as
#: Docker and Podman do (LXC's "proc:mixed" makes /proc/sys read-only and
#: leaves these).
MASKED_PROC_FILES = ("keys", "timer_list", "sched_debug", "kcore",
                     "latency_stats", "timer_stats", "sysrq-trigger",
                     "kallsyms", "kmsg")
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
    @ivar idBase: the host id of the VPS's root (unprivileged), or C{0}.
    @ivar idCount: how many ids it has, or C{0} for a privileged VPS.
    @ivar cgroup: C{(key, value)} cgroup writes, keys as LXC names them
        without the C{lxc.cgroup.} prefix (L{vcd.kernel.knobmap.startItems}:
        NPROC, RSS, the scheduler, the CPU set).
    @ivar flags: its context flags (L{vcd.kernel.contextconfig}).
    @ivar ccaps: its context capabilities.
    """

    def __init__(self, name, xid, rootfs, init, bcaps=(), mounts=(),
                 addresses=(), broadcast="", uname=None, limits=None,
                 idBase=0, idCount=0, cgroup=(), flags=(), ccaps=()):
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
        self.idBase = idBase
        self.idCount = idCount
        self.cgroup = tuple(cgroup)
        self.flags = tuple(flags)
        self.ccaps = tuple(ccaps)


class HostPaths:
    """
    Where things are on this host, for the generated configuration.

    @ivar lxcpath: the daemon's private lxcpath.
    @ivar hook: the post-stop hook command (vshelper with its options),
        to which C{shutdown <xid>} is appended.
    @ivar cgroupLayout: C{"v1"}, C{"v2"} or C{"hybrid"}.
    @ivar apparmor: whether the kernel has AppArmor.
    @ivar seccomp: the seccomp profile to load (L{writeSeccompProfile}),
        or C{None}.
    """

    def __init__(self, lxcpath, hook, cgroupLayout, apparmor=None,
                 seccomp=None):
        self.lxcpath = lxcpath
        self.hook = hook
        self.cgroupLayout = cgroupLayout
        self.apparmor = (os.path.isdir("/sys/kernel/security/apparmor")
                         if apparmor is None else apparmor)
        self.seccomp = seccomp


def writeSeccompProfile(lxcpath):
    """
    Write L{SECCOMP_RULES} where the VPS configurations refer to them.

    @return: the profile's path.
    """
    path = os.path.join(lxcpath, "vcd.seccomp")
    with open(path + ".new", "w") as f:
        f.write(SECCOMP_RULES)
    os.rename(path + ".new", path)
    return path


def _prefix(address, netmask):
    if address.version == 6:
        return int(netmask)
    return ipaddress.IPv4Network("0.0.0.0/" + netmask).prefixlen


def _cgroupKey(layout, v1, v2):
    if layout == "v2":
        return "lxc.cgroup2." + v2
    return "lxc.cgroup." + v1


def _limitLines(start, layout):
    # NPROC and RSS are cgroup files (StartConfig.cgroup).
    lines = []
    for limit, (soft, hard) in sorted(start.limits.items()):
        if limit in PRLIMITS:
            lines.append(("lxc.prlimit." + limit.lower(), "%s:%s" % (
                _rlimitValue(limit, soft), _rlimitValue(limit, hard))))
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
        ("lxc.pty.max", "1024"),
        ("lxc.tty.max", "0"),
        ("lxc.mount.auto", "proc:mixed sys:mixed"),
        ("lxc.log.file", os.path.join(directory, "log")),
        ("lxc.log.level", "NOTICE"),
        ("lxc.console.logfile", os.path.join(directory, "console.log")),
        ("lxc.cap.keep", " ".join(sorted(c.lower()
                                         for c in boundingSet(
                                             start, bool(paths.seccomp))))
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
        lines.append(("lxc.seccomp.profile",
                      seccompProfile(paths.seccomp, start)))
    lines.extend(_userNamespaceLines(start))
    lines.extend(_deviceLines(paths.cgroupLayout))
    lines.extend(("lxc.mount.entry",
                  "/dev/null proc/%s none bind,ro,optional 0 0" % (name,))
                 for name in MASKED_PROC_FILES)
    lines.extend(_networkLines(start))
    lines.extend(_mountLines(start))
    lines.extend(_limitLines(start, paths.cgroupLayout))
    lines.extend((_cgroupKey(paths.cgroupLayout, key, key), value)
                 for key, value in start.cgroup)
    lines.extend(contextLines(start))
    for key, value in lines:
        if "\n" in value or "\0" in value:
            raise ValueError("%s: a value with a newline or NUL" % (key,))
    return "".join("%s = %s\n" % line for line in lines)


def _userNamespaceLines(start):
    if not start.idCount:
        return []
    return [("lxc.idmap", "%s 0 %d %d" % (kind, start.idBase, start.idCount))
            for kind in ("u", "g")]


def _deviceLines(layout):
    deny = _cgroupKey(layout, "devices.deny", "devices.deny")
    allow = _cgroupKey(layout, "devices.allow", "devices.allow")
    return [(deny, "a")] + [(allow, device + " rwm")
                            for device in ALLOWED_DEVICES]


def _networkLines(start):
    if not start.addresses:
        # Its own network namespace with only the loopback device, up.
        return [("lxc.net.0.type", "empty"), ("lxc.net.0.flags", "up")]
    # Router mode; the host side forwards to other VPSes (vethrouting).
    lines = [("lxc.net.0.type", "veth"), ("lxc.net.0.veth.mode", "router"),
             ("lxc.net.0.name", "eth0"), ("lxc.net.0.flags", "up"),
             ("lxc.net.0.script.up", upScriptLine())]
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
            # Alone (/128), whatever its prefix: every other address, in
            # the same prefix or not, goes through the gateway, which
            # answers for itself (no proxy NDP for other VPSes).
            lines.append(("lxc.net.0.ipv6.address",
                          "%s/%d" % (address, address.max_prefixlen)))
    if 4 in families:
        lines.append(("lxc.net.0.ipv4.gateway", "dev"))
    if 6 in families:
        # The default route goes through the link-local address of the
        # host-side veth (vethrouting), added by a hook: liblxc 5.0 refuses
        # a gateway address in router mode unless the host forwards IPv6
        # on all its interfaces (net.ipv6.conf.all.forwarding).
        lines.append(("lxc.hook.start-host", gatewayHookLine()))
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
        # No create=dir: liblxc would follow a symbolic link the VPS owns
        # out of its root. The kernel worker creates the mount points
        # inside the root first (L{vcd.kernel.idmap.makeMountPoints}).
        lines.append(("lxc.mount.entry", "%s %s %s %s 0 0" % (
            src, target, fstype, ",".join(options))))
    return lines
