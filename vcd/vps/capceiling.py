# -*- test-case-name: tests.test_policy -*-
"""
The host's ceiling of bounding capabilities: the system capabilities
(bcaps) a caller without the admin flag may give a VPS. Administrators
may go above it; templates (which administrators make) may too.

The default is made for unprivileged VPSes, which run in their own user
namespace: there a capability in the bounding set only gives power over
what that namespace owns (its mounts, network, hostname, processes), and
root inside could get all of them anyway in a nested user namespace. So
the default keeps what LXC and Incus keep for unprivileged containers
that an ordinary distribution needs (SYS_ADMIN among them: Debian's
systemd does not boot without it), and leaves out:

  - L{NEVER}: capabilities whose checks are, or reach, host-global state
    (kernel modules, raw I/O, the clock, the kernel log, MAC policy,
    audit, BPF, perf, process accounting, immutable files, wake-up
    alarms, suspend); a host's configuration cannot put them in the
    ceiling;
  - MKNOD (no use in a user namespace, where the kernel refuses device
    nodes; in a privileged VPS it is half of writing a host block device)
    and CHECKPOINT_RESTORE (CRIU only): a host may add them.
"""

from vcd.faults import MEPERM, VCDFault
from vcd.names import KNOWN

#: Never in the ceiling, whatever the configuration says.
NEVER = frozenset(
    "SYS_MODULE SYS_RAWIO SYS_TIME MAC_ADMIN MAC_OVERRIDE SYSLOG WAKE_ALARM"
    " BLOCK_SUSPEND BPF PERFMON SYS_PACCT LINUX_IMMUTABLE AUDIT_CONTROL"
    " AUDIT_READ".split())

#: The default ceiling (configuration key C{bcapceiling}).
DEFAULT_CEILING = frozenset(
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID"
    " SETPCAP SETFCAP NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW"
    " IPC_LOCK IPC_OWNER SYS_CHROOT SYS_PTRACE SYS_ADMIN SYS_BOOT SYS_NICE"
    " SYS_RESOURCE SYS_TTY_CONFIG LEASE AUDIT_WRITE".split())


def parseCeiling(text):
    """
    Read a ceiling: capability names separated by white space (upper
    case, no C{CAP_} prefix).

    @return: a frozenset of the names.
    @raise ValueError: naming an unknown capability or one of L{NEVER}.
    """
    ceiling = frozenset(text.split())
    unknown = sorted(ceiling - KNOWN["bcap"])
    if unknown:
        raise ValueError("unknown system capabilities: %s"
                         % (" ".join(unknown),))
    forbidden = sorted(ceiling & NEVER)
    if forbidden:
        raise ValueError("%s can never be given by callers without the"
                         " admin flag (they reach host-global state)"
                         % (" ".join(forbidden),))
    return ceiling


def refuseAboveCeiling(ceiling, bcap, admin):
    """
    Refuse a system capability above the ceiling to a caller without the
    admin flag.

    @param ceiling: the host's ceiling (a set of names).
    @param bcap: the canonical name asked for.
    @param admin: whether the caller has the admin flag.
    @raise VCDFault: MEPERM naming C{bcap}.
    """
    if admin or bcap in ceiling:
        return
    why = ("it reaches host-global state" if bcap in NEVER
           else "it is above this host's ceiling")
    raise VCDFault(MEPERM, "system capability %s is for administrators"
                   " only: %s (see bcapceiling in vcd.hostinfo)"
                   % (bcap, why))
