# -*- test-case-name: tests.test_policy -*-
"""
The host's ceiling of bounding capabilities: the system capabilities
(bcaps) a caller without the admin flag may give a VPS (configuration key
C{bcapceiling}, default L{vcd.config.DEFAULT_BCAP_CEILING}). Administrators
may go above it; templates (which administrators make) may too.

The default is made for unprivileged VPSes, which run in their own user
namespace: there a capability in the bounding set only gives power over
what that namespace owns (its mounts, network, hostname, processes), and
root inside could get all of them anyway in a nested user namespace. So
the default keeps what LXC and Incus keep for unprivileged containers
that an ordinary distribution needs (SYS_ADMIN among them: Debian's
systemd does not boot without it), and leaves out:

  - L{vcd.names.HOST_GLOBAL_BCAPS}: capabilities whose checks are, or
    reach, host-global state (kernel modules, raw I/O, the clock, the
    kernel log, MAC policy, audit, BPF, perf, process accounting,
    immutable files, wake-up alarms, suspend); a host's configuration
    cannot put them in the ceiling;
  - MKNOD (no use in a user namespace, where the kernel refuses device
    nodes; in a privileged VPS it is half of writing a host block device)
    and CHECKPOINT_RESTORE (CRIU only): a host may add them.

In a privileged VPS (one an administrator asked for) the capabilities of
L{HOST_REACHING_WHEN_PRIVILEGED} act on the host itself (SYS_ADMIN mounts
and remounts, DAC_READ_SEARCH opens any file by handle, SYS_RESOURCE and
IPC_LOCK lift the host's own limits): there they are for administrators
only, whatever the ceiling says.
"""

from vcd.faults import MEPERM, VCDFault
from vcd.names import HOST_GLOBAL_BCAPS


#: Capabilities that reach the host from a privileged VPS.
HOST_REACHING_WHEN_PRIVILEGED = frozenset(
    ["SYS_ADMIN", "DAC_READ_SEARCH", "SYS_RESOURCE", "IPC_LOCK"])


def refuseAboveCeiling(ceiling, bcap, admin, privileged=False):
    """
    Refuse a system capability above the ceiling to a caller without the
    admin flag.

    @param ceiling: the host's ceiling (a set of names).
    @param bcap: the canonical name asked for.
    @param admin: whether the caller has the admin flag.
    @param privileged: whether the VPS is privileged (or not yet given a
        user namespace).
    @raise VCDFault: MEPERM naming C{bcap}.
    """
    if admin:
        return
    if privileged and bcap in HOST_REACHING_WHEN_PRIVILEGED:
        raise VCDFault(MEPERM, "system capability %s is for administrators"
                       " only in a privileged virtual server: there it acts"
                       " on the host" % (bcap,))
    if bcap in ceiling:
        return
    why = ("it reaches host-global state" if bcap in HOST_GLOBAL_BCAPS
           else "it is above this host's ceiling")
    raise VCDFault(MEPERM, "system capability %s is for administrators"
                   " only: %s (see bcapceiling in vcd.hostinfo)"
                   % (bcap, why))
