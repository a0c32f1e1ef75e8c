# -*- test-case-name: tests.test_vxdb_methods,tests.test_mountinfo -*-
"""
What this host can enforce of the manual's knobs, detected once at start-up.

The Linux-VServer kernel is gone; each knob maps onto a namespace, a cgroup
controller, a prlimit, lxcfs or seccomp (see kernel-mapping.md). A knob this
host has no mechanism for is refused when it is set, with the reason, never
stored and silently ignored. L{HostFeatures.support} answers for one knob.
"""

import os

from vcd import names
from vcd.kernel import diskimage
from vcd.kernel.idmap import IDS_PER_VPS
from vcd.kernel.contextconfig import VIEWS as LXCFS_VIEWS
from vcd.kernel.subids import subordinateIds
from vcd.kernel.hostprobes import (cgroupMounts, controllerHas,
                                   detectCgroups, parseIdList, pathExists,
                                   readIdList, seccompAvailable)
from vcd.kernel.vethrouting import detectNetwork

# cgroupMounts, detectCgroups and parseIdList (in vcd.kernel.hostprobes)
# stay importable from here.
__all__ = ["HostFeatures", "LxcfsState", "PRLIMITS", "cgroupMounts", "detectCgroups",
           "parseIdList"]

#: Knobs for which no modern kernel has an equivalent: the reason.
_NEVER = {
    ("ccap", "SET_RLIMIT"): "no per-container rlimit permission exists;"
                            " use vxdb.vx.limit.set instead",
    ("ccap", "SYSLOG"): "the kernel log is host-wide; grant the bcap SYSLOG"
                        " to allow reading it",
    ("ccap", "SECURE_MOUNT"): "mount permission inside a VPS follows the"
                              " bcap SYS_ADMIN",
    ("ccap", "SECURE_REMOUNT"): "mount permission inside a VPS follows the"
                                " bcap SYS_ADMIN",
    ("ccap", "BINARY_MOUNT"): "binary mount data has no modern equivalent",
    ("ccap", "QUOTA_CTL"): "quota control inside a VPS has no equivalent",
    ("ccap", "ADMIN_MAPPER"): "device-mapper administration inside a VPS has"
                              " no equivalent",
    ("ccap", "ADMIN_CLOOP"): "cloop administration has no equivalent",
    ("flag", "INFO_PRIVATE"): "VServer context info flags have no modern"
                              " equivalent",
    ("flag", "INFO_INIT"): "VServer context info flags have no modern"
                           " equivalent",
    ("flag", "INFO_HIDE"): "VServer context info flags have no modern"
                           " equivalent",
    ("flag", "SCHED_PRIO"): "the token-bucket priority bonus has no CFS"
                            " equivalent",
    ("flag", "VIRT_TIME"): "time namespaces cannot offset the real-time"
                           " clock",
    ("flag", "HIDE_VINFO"): "there is no VServer info in /proc to hide",
    ("flag", "FORK_RSS"): "per-fork RSS accounting has no equivalent",
    ("limit", "NSOCK"): "the kernel has no per-container socket limit",
    ("limit", "OPENFD"): "the kernel has no per-container open-file limit;"
                         " use NOFILE (per process)",
    ("limit", "ANON"): "anonymous memory cannot be limited apart from RSS;"
                       " use RSS",
    ("limit", "SHMEM"): "shared memory cannot be limited apart from RSS;"
                        " use RSS",
    ("limit", "SEMARY"): "the kernel has no per-container semaphore array"
                         " limit",
    ("limit", "NSEMS"): "the kernel has no per-container semaphore limit",
    ("limit", "DENTRY"): "the kernel has no per-container dentry limit",
    ("limit", "MAPPED"): "mapped memory cannot be limited apart from RSS;"
                         " use RSS",
    ("uname", "SYSNAME"): "a vanilla kernel cannot virtualise the system"
                          " name",
    ("uname", "RELEASE"): "a vanilla kernel cannot virtualise the kernel"
                          " release",
    ("uname", "VERSION"): "a vanilla kernel cannot virtualise the kernel"
                          " version",
    ("uname", "MACHINE"): "a vanilla kernel cannot virtualise the machine"
                          " type",
}

#: Limits that become a per-process prlimit inside the VPS.
PRLIMITS = ("CPU", "FSIZE", "DATA", "STACK", "CORE", "NOFILE", "MEMLOCK",
            "AS", "LOCKS", "SIGPENDING", "MSGQUEUE")


class LxcfsState:
    """
    What is known of lxcfs where no L{vcd.kernel.lxcfs.LxcfsService}
    watches it (before the daemon starts one, and on fake hosts).

    @ivar why: None if it serves, else why not.
    """

    def __init__(self, why=None):
        self.why = why

    @classmethod
    def of(cls, lxcfs):
        """
        C{lxcfs} itself if it says why (a service or a state), else the
        state a bool says: serving (True) or not installed.
        """
        if hasattr(lxcfs, "why"):
            return lxcfs
        return cls(None if lxcfs else
                   "lxcfs is not installed (apt-get install lxcfs)")

    def describe(self):
        """
        A plain struct for C{vcd.hostinfo}, as the service's.
        """
        return {"serving": self.why is None, "problem": self.why or ""}


class HostFeatures:
    """
    The mechanisms this host offers.

    @ivar cgroupLayout: C{"v1"}, C{"v2"} or C{"hybrid"} (v1 controllers
        beside an empty v2 hierarchy).
    @ivar controllers: the cgroup controllers usable for VPSes.
    @ivar lxcfs: whether lxcfs serves its views (VIRT_MEM, VIRT_LOAD,
        VIRT_CPU), with C{why} (None while it serves) and C{describe()}:
        the daemon's L{vcd.kernel.lxcfs.LxcfsService}, or an
        L{LxcfsState} (given as a bool: installed or not).
    @ivar timeNamespace: whether the kernel has time namespaces.
    @ivar seccomp: whether seccomp filters are available.
    @ivar loopDevices: whether loop devices and mkfs.ext4 exist (disk
        limits).
    @ivar cpus: the online CPU ids.
    @ivar memNodes: the online memory node ids.
    @ivar idRanges: the subordinate ids of root (C{(first, count)} pairs,
        L{vcd.kernel.subids}), from which each unprivileged VPS gets a
        range of its own.
    @ivar network: how VPSes reach each other here
        (L{vcd.kernel.vethrouting.detectNetwork}).
    @ivar cpuBurst: whether CFS can bank burst time (C{cpu.cfs_burst_us},
        C{cpu.max.burst}: Linux >= 5.14).
    @ivar swapAccounting: whether the memory controller accounts swap
        (v1 C{memory.memsw.*}, v2 C{memory.swap.max}).
    """

    def __init__(self, cgroupLayout, controllers, lxcfs, timeNamespace,
                 seccomp, loopDevices, cpus, memNodes, idRanges=(),
                 network=None, cpuBurst=False, swapAccounting=False):
        self.cgroupLayout = cgroupLayout
        self.controllers = frozenset(controllers)
        self.lxcfs = LxcfsState.of(lxcfs)
        self.timeNamespace = timeNamespace
        self.seccomp = seccomp
        self.loopDevices = loopDevices
        self.cpus = tuple(cpus)
        self.memNodes = tuple(memNodes)
        self.idRanges = tuple(tuple(r) for r in idRanges)
        self.network = dict(network or {})
        self.cpuBurst = cpuBurst
        self.swapAccounting = swapAccounting

    @classmethod
    def detect(cls, root="/"):
        """
        Read this host's facts from /proc and /sys.
        """
        layout, controllers = detectCgroups(root)
        return cls(
            cgroupLayout=layout,
            controllers=controllers,
            lxcfs=pathExists(root, "usr/bin/lxcfs"),
            timeNamespace=pathExists(root, "proc/self/ns/time"),
            seccomp=seccompAvailable(root),
            loopDevices=(pathExists(root, "dev/loop-control")
                         and (pathExists(root, "sbin/mkfs.ext4")
                              or pathExists(root, "usr/sbin/mkfs.ext4"))),
            cpus=readIdList(
                os.path.join(root, "sys/devices/system/cpu/online"))
            or range(os.cpu_count() or 1),
            memNodes=readIdList(
                os.path.join(root, "sys/devices/system/node/online")) or [0],
            idRanges=subordinateIds(
                0, os.path.join(root, "etc/subuid"),
                os.path.join(root, "etc/subgid")),
            network=detectNetwork(root),
            cpuBurst=controllerHas(root, layout, "cpu", "cpu.cfs_burst_us",
                                    "cpu.max.burst"),
            swapAccounting=controllerHas(
                root, layout, "memory", "memory.memsw.limit_in_bytes",
                "memory.swap.max"),
        )

    def support(self, kind, name):
        """
        Say how the knob C{name} of kind C{kind} (C{bcap}, C{ccap},
        C{flag}, C{limit}, C{uname}) is enforced here.

        @return: C{(True, how)} or C{(False, why not)}.
        """
        never = _NEVER.get((kind, name))
        if never is not None:
            return False, never
        return getattr(self, "_support_" + kind)(name)

    def _need(self, ok, how, missing):
        if ok:
            return True, how
        return False, "this host lacks " + missing

    def _support_bcap(self, name):
        return True, "capability bounding set (lxc.cap.keep)"

    def _support_ccap(self, name):
        if name == "RAW_ICMP":
            if not self.seccomp:
                return True, "ICMP datagram sockets only (ping_group_range" \
                    " in the VPS's network namespace): without seccomp," \
                    " raw ICMP sockets cannot be told from other raw" \
                    " sockets, so CAP_NET_RAW follows the bcap NET_RAW"
            return True, "ping for every user of the VPS: ICMP datagram" \
                " sockets (net.ipv4.ping_group_range in its network" \
                " namespace) and raw ICMP sockets (CAP_NET_RAW in its" \
                " bounding set, seccomp refusing every other raw or packet" \
                " socket unless the bcap NET_RAW is set)"
        if name == "SET_UTSNAME":
            return self._need(
                self.seccomp, "without it, seccomp refuses sethostname and"
                " setdomainname (EPERM) inside the VPS", "seccomp")
        raise KeyError(name)

    def lxcfsProblem(self):
        """
        @return: None if lxcfs serves its views now, else why not.
        """
        return self.lxcfs.why

    def _support_flag(self, name):
        if name in LXCFS_VIEWS:
            why = self.lxcfsProblem()
            if why is not None:
                return False, "lxcfs does not serve here: " + why
            return True, "lxcfs views mounted over the VPS's %s" % (
                ", ".join("/" + v for v in LXCFS_VIEWS[name]),)
        if name == "VIRT_UPTIME":
            return self._need(self.timeNamespace, "its own time namespace"
                              " (lxc.time.offset.boot): /proc/uptime and"
                              " CLOCK_BOOTTIME start at 0 when it starts",
                              "time namespaces (Linux >= 5.6)")
        if name == "SCHED_HARD":
            return self._need("cpu" in self.controllers,
                              "CFS bandwidth quota", "the cgroup cpu"
                              " controller")
        if name == "SCHED_PAUSE":
            return self._need(self.freezer, "cgroup freezer: the VPS is"
                              " frozen (from its start, or at once while it"
                              " runs) until the flag is removed",
                              "the cgroup freezer")
        if name == "HIDE_MOUNT":
            return True, "always in force: pivot_root in the VPS's own" \
                         " mount namespace (removing the flag changes" \
                         " nothing)"
        if name == "HIDE_NETIF":
            return True, "always in force: the VPS's own network namespace" \
                         " (removing the flag changes nothing)"
        raise KeyError(name)

    def _support_limit(self, name):
        if name in PRLIMITS:
            return True, "prlimit RLIMIT_%s on the VPS's processes" % (name,)
        if name == "NPROC":
            return self._need("pids" in self.controllers, "cgroup pids.max",
                              "the cgroup pids controller")
        if name == "RSS":
            if self.cgroupLayout == "v2":
                how = "cgroup memory.max (soft: memory.high, which" \
                      " throttles)"
            else:
                how = "cgroup memory.limit_in_bytes (no soft limit apart" \
                      " from the hard one: v1's acts only under global" \
                      " pressure)"
            if self.swapAccounting:
                how += "; swap held within it"
            return self._need("memory" in self.controllers, how,
                              "the cgroup memory controller")
        raise KeyError(name)

    def _support_uname(self, name):
        return True, "the VPS's own UTS namespace"

    @property
    def freezer(self):
        """
        Whether VPSes can be frozen (v1 freezer controller or v2
        cgroup.freeze).
        """
        return "freezer" in self.controllers or self.cgroupLayout == "v2"

    def supportsScheduler(self):
        """
        Whether the token-bucket scheduler maps onto CFS here.
        """
        return "cpu" in self.controllers

    def supportsCpuset(self):
        """
        Whether CPU and memory node sets can be enforced here.
        """
        return "cpuset" in self.controllers

    def supportsDiskLimits(self):
        """
        Whether disk limits (a filesystem image per VPS) can be enforced.
        """
        return self.loopDevices

    def accepted(self, kind):
        """
        Return the sorted names of kind C{kind} this host accepts.
        """
        return sorted(n for n in names.KNOWN[kind] if self.support(kind, n)[0])

    def describe(self):
        """
        Return a plain struct of everything accepted and refused, for
        C{vcd.hostinfo}.
        """
        knobs = {}
        for kind in ("bcap", "ccap", "flag", "limit", "uname"):
            accepted, refused = {}, {}
            for name in sorted(names.KNOWN[kind]):
                ok, text = self.support(kind, name)
                (accepted if ok else refused)[name] = text
            knobs[kind] = {"accepted": accepted, "refused": refused}
        return {
            "cgroup": self.cgroupLayout,
            "controllers": sorted(self.controllers),
            "knobs": knobs,
            "sched": self.supportsScheduler(),
            "cpuBurst": self.cpuBurst,
            "swapAccounting": self.swapAccounting,
            "cpuset": self.supportsCpuset(),
            "dlimits": self.supportsDiskLimits(),
            "network": dict(self.network),
            "dlimitMechanism": diskimage.describe(self.supportsDiskLimits()),
            "lxcfs": self.lxcfs.describe(),
            "userns": {
                "subids": [list(r) for r in self.idRanges],
                "idsPerVps": IDS_PER_VPS,
                "vpsCapacity": sum(count // IDS_PER_VPS
                                   for _, count in self.idRanges),
            },
        }
