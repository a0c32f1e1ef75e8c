# -*- test-case-name: tests.test_vxdb_methods -*-
"""
The names VXDB accepts: daemon capabilities, system capabilities (bcaps),
context capabilities (ccaps), context flags, resource limits and uname
types, with their canonical upper-case spelling.

Which of them this host can enforce is a separate question, answered by
L{vcd.kernel.hostfeatures}.
"""

#: The daemon's own capabilities (manual 9.2.4), in the manual's order.
DAEMON_CAPS = (
    "AUTH", "DLIM", "INIT", "MOUNT", "NET", "BCAP", "CCAP", "CFLAG", "RLIM",
    "SCHED", "UNAME", "CREATE", "EXEC", "INFO", "HELPER",
)

#: The user the kernel helper (vshelper) calls as, seeded in every VXDB;
#: accepted only on the daemon's Unix socket.
HELPER_USER = "vshelper"

#: Capabilities that can never be granted over the API.
UNGRANTABLE_CAPS = frozenset(["HELPER"])

BCAPS = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
    "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
    "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)

#: System capabilities whose checks are, or reach, host-global state
#: (kernel modules, raw I/O, the clock, the kernel log, MAC policy, audit,
#: BPF, perf, process accounting, immutable files, wake-up alarms,
#: suspend): never for callers without the admin flag
#: (L{vcd.vps.capceiling}).
HOST_GLOBAL_BCAPS = frozenset(
    "SYS_MODULE SYS_RAWIO SYS_TIME MAC_ADMIN MAC_OVERRIDE SYSLOG WAKE_ALARM"
    " BLOCK_SUSPEND BPF PERFMON SYS_PACCT LINUX_IMMUTABLE AUDIT_CONTROL"
    " AUDIT_READ".split())

CCAPS = (
    "SET_UTSNAME", "SET_RLIMIT", "RAW_ICMP", "SYSLOG", "SECURE_MOUNT",
    "SECURE_REMOUNT", "BINARY_MOUNT", "QUOTA_CTL", "ADMIN_MAPPER",
    "ADMIN_CLOOP",
)

CFLAGS = (
    "INFO_PRIVATE", "INFO_INIT", "INFO_HIDE", "SCHED_HARD", "SCHED_PRIO",
    "SCHED_PAUSE", "VIRT_MEM", "VIRT_UPTIME", "VIRT_CPU", "VIRT_LOAD",
    "VIRT_TIME", "HIDE_MOUNT", "HIDE_NETIF", "HIDE_VINFO", "FORK_RSS",
)

LIMITS = (
    "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
    "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NSOCK", "OPENFD",
    "ANON", "SHMEM", "SEMARY", "NSEMS", "DENTRY", "MAPPED",
)

#: Limits given in KiB rather than in units.
MEMORY_LIMITS = frozenset(["ANON", "AS", "MAPPED", "MEMLOCK", "RSS", "SHMEM"])

UNAME_TYPES = (
    "SYSNAME", "NODENAME", "RELEASE", "VERSION", "MACHINE", "DOMAINNAME",
)

#: Prefixes a client may put before a name (C{cap_net_raw} is C{NET_RAW}).
_PREFIXES = {
    "bcap": ("CAP_",),
    "ccap": ("VXC_",),
    "flag": ("VXF_",),
    "limit": ("RLIMIT_", "VLIMIT_"),
    "uname": (),
    "capability": (),
}


def canonicalName(kind, value):
    """
    Return the canonical spelling of C{value} of kind C{kind} (one of
    C{bcap}, C{ccap}, C{flag}, C{limit}, C{uname}, C{capability}): upper
    case without prefix. Membership is not checked here.
    """
    upper = value.strip().upper()
    for prefix in _PREFIXES[kind]:
        if upper.startswith(prefix):
            return upper[len(prefix):]
    return upper


#: The known names of each kind.
KNOWN = {
    "bcap": frozenset(BCAPS),
    "ccap": frozenset(CCAPS),
    "flag": frozenset(CFLAGS),
    "limit": frozenset(LIMITS),
    "uname": frozenset(UNAME_TYPES),
    "capability": frozenset(DAEMON_CAPS),
}

#: What the manual calls each kind, for messages.
KIND_DESCRIPTIONS = {
    "bcap": "system capability",
    "ccap": "context capability",
    "flag": "context flag",
    "limit": "resource limit",
    "uname": "uname type",
    "capability": "daemon capability",
}
