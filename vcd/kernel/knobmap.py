# -*- test-case-name: tests.test_knobmap -*-
"""
How the CPU, memory and process knobs of VXDB map onto the kernel: the
cgroup files (named as LXC names them, for C{lxc.cgroup.*} at a start and
for a live change alike) and the rlimits of the VPS's processes. Pure: it
reads nothing but C{/proc/sys/fs/nr_open} (L{refuseAboveNrOpen}).

The token-bucket scheduler (manual 2.4.7) on CFS bandwidth control:

  - with the context flag SCHED_HARD, the hard limit L = fillrate/interval
    (of one CPU, a token being a millisecond: the manual's 1000 Hz) is the
    quota/period, for all the VPS's CPUs together;
  - the bucket size tokensmax is CFS's pool: a period's quota plus the
    burst it may bank (C{cpu.cfs_burst_us}, C{cpu.max.burst}), which the
    kernel allows up to one quota. The period is the interval, moved
    within the range where the quota plus at most one quota of burst
    makes exactly tokensmax, and no shorter than 10 ms (where CFS still
    holds a limit: a smaller bucket gets a 10 ms period's quota as its
    pool); a bucket no period up to CFS's 1 s can hold is refused;
  - fillrate2/interval2 (the share of idle time, a proportion among the
    VPSes) is the cgroup's weight (C{cpu.shares}, C{cpu.weight}): a VPS
    without it weighs as one with 1/100. CFS never lets a VPS above its
    quota, so the weight shares the CPU among VPSes below their limits;
  - without SCHED_HARD the VPS has no ceiling: only the weight applies;
  - there are no per-CPU buckets (the CFS pool serves all CPUs): cpuid
    other than -1 is refused;
  - a throttled VPS runs again when the next period refills a whole
    quota: the period is long enough for the quota to hold at least
    tokensmin tokens, so the hold threshold is always met at the refill.
"""

from math import ceil

#: A token of the manual's scheduler: one tick at 1000 Hz, in microseconds.
TOKEN_US = 1000
#: CFS's bounds on a bandwidth period, and its smallest quota.
MIN_PERIOD_US = 1000
MAX_PERIOD_US = 1000000
MIN_QUOTA_US = 1000
#: The shortest period used: below it CFS throttles poorly (measured here:
#: two hogs held at 1/2 by a 2 ms period used 0.38 CPU); a bucket smaller
#: than this period's quota gets that quota as its pool.
MIN_USEFUL_PERIOD_US = 10000
#: The period when no quota is set (the kernel's default).
DEFAULT_PERIOD_US = 100000
#: The weight standing for an idle-time share of 1: v1 shares, v2 weight.
#: The kernels' defaults (1024, 100) are then a share of 1/100.
SHARES_PER_SHARE = 102400
WEIGHT_PER_SHARE = 10000
UNLIMITED = 2 ** 64 - 1
#: The most pids a 64-bit kernel can have (PID_MAX_LIMIT).
PID_MAX_LIMIT = 4 * 1024 * 1024
#: Limits given in KiB.
KIB_LIMITS = ("MEMLOCK", "AS", "RSS")
NR_OPEN = "/proc/sys/fs/nr_open"


class Unmappable(ValueError):
    """
    A setting with no honest mapping onto this kernel; the message says
    why (and which argument, L{argument}).
    """

    def __init__(self, argument, why):
        ValueError.__init__(self, why)
        self.argument = argument


def bandwidth(interval, fillrate, tokensmax, tokensmin=0, burst=True):
    """
    The CFS bandwidth of a token bucket (see the module's doc).

    @param burst: whether the kernel can bank burst time.
    @return: C{(period, quota, burst)} in microseconds.
    @raise Unmappable: for a bucket CFS cannot hold.
    """
    rate = fillrate / interval
    size = tokensmax * TOKEN_US
    # The pool (quota plus burst) must be the bucket: quota between half
    # the bucket (burst = quota, the kernel's most) and all of it.
    # The refill (a quota) holds at least tokensmin tokens.
    forMin = max(MIN_QUOTA_US, tokensmin * TOKEN_US) / rate
    if forMin > MAX_PERIOD_US:
        raise Unmappable("tokensmin", "CFS resumes a throttled virtual"
                         " server when the next period refills its quota,"
                         " at most 1 s of it: at %d/%d tokensmin may be at"
                         " most %d" % (fillrate, interval,
                                       int(MAX_PERIOD_US * rate // TOKEN_US)))
    shortest = max(size / (2 * rate) if burst else size / rate, forMin)
    longest = max(size / rate, MIN_USEFUL_PERIOD_US)
    period = min(max(interval * TOKEN_US, shortest, MIN_USEFUL_PERIOD_US),
                 longest)
    period = int(ceil(period))
    if period > MAX_PERIOD_US:
        most = int(MAX_PERIOD_US * rate * (2 if burst else 1) // TOKEN_US)
        raise Unmappable("tokensmax", "a bucket of %d tokens at %d/%d is more"
                         " than CFS can hold: its pool is one period's"
                         " quota%s, with periods up to 1 s; at this rate"
                         " tokensmax may be at most %d" % (
                             tokensmax, fillrate, interval,
                             " plus at most as much burst" if burst else
                             " (this kernel has no burst)", most))
    quota = max(int(round(period * rate)), MIN_QUOTA_US)
    banked = min(max(size - quota, 0), quota) if burst else 0
    return period, quota, banked


def _weightOf(bucket, perShare, lowest, highest):
    if not bucket or not bucket.get("interval2"):
        return None
    share = bucket["fillrate2"] / bucket["interval2"]
    return max(lowest, min(highest, int(round(share * perShare))))


def schedItems(layout, bucket, hard, burst=True, fresh=False):
    """
    The cgroup writes that give a VPS its scheduler.

    @param bucket: the VXDB bucket (a dict with interval, fillrate,
        interval2, fillrate2, tokensmin, tokensmax) of cpuid -1, or None.
    @param hard: whether the VPS has the flag SCHED_HARD.
    @param burst: whether the kernel has burst time.
    @param fresh: for a new cgroup (a start): leave out the writes that
        only undo an earlier setting.
    @return: C{(key, value)} pairs, to write in order.
    """
    items = []
    limited = hard and bucket is not None
    if limited:
        period, quota, banked = bandwidth(
            bucket["interval"], bucket["fillrate"], bucket["tokensmax"],
            bucket["tokensmin"], burst)
    if layout == "v2":
        if burst and not fresh:
            items.append(("cpu.max.burst", "0"))
        if limited:
            items.append(("cpu.max", "%d %d" % (quota, period)))
            if burst and banked:
                items.append(("cpu.max.burst", str(banked)))
        elif not fresh:
            items.append(("cpu.max", "max %d" % (DEFAULT_PERIOD_US,)))
        weight = _weightOf(bucket, WEIGHT_PER_SHARE, 1, 10000)
        if weight is not None or not fresh:
            items.append(("cpu.weight", str(weight or 100)))
        return items
    if burst and not fresh:
        items.append(("cpu.cfs_burst_us", "0"))
    if limited:
        items.append(("cpu.cfs_period_us", str(period)))
        items.append(("cpu.cfs_quota_us", str(quota)))
        if burst and banked:
            items.append(("cpu.cfs_burst_us", str(banked)))
    elif not fresh:
        items.append(("cpu.cfs_quota_us", "-1"))
        items.append(("cpu.cfs_period_us", str(DEFAULT_PERIOD_US)))
    shares = _weightOf(bucket, SHARES_PER_SHARE, 2, 262144)
    if shares is not None or not fresh:
        items.append(("cpu.shares", str(shares or 1024)))
    return items


def cpusetItems(cpuset, cpus, mems):
    """
    The cgroup writes of a CPU set (C{cpuset} a dict with cpus and mems,
    or None for every online CPU C{cpus} and memory node C{mems}).
    """
    if cpuset is None:
        return [("cpuset.mems", _idList(mems)),
                ("cpuset.cpus", _idList(cpus))]
    return [("cpuset.mems", cpuset["mems"] or _idList(mems)),
            ("cpuset.cpus", cpuset["cpus"] or _idList(cpus))]


def _idList(ids):
    return ",".join(str(i) for i in ids)


def _bytes(kib):
    """
    KiB in bytes; None (no limit) for UNLIMITED and beyond 64 bits.
    """
    if kib is None or kib == UNLIMITED or kib * 1024 > UNLIMITED:
        return None
    return kib * 1024


def limitAlternatives(layout, limit, soft, hard, swap=True):
    """
    The cgroup writes of limit NPROC or RSS (C{soft}, C{hard} None when the
    limit is removed), as alternative orders: a live change tries each in
    turn until one is accepted (v1 wants its memory limit at most its
    memory+swap limit at every step).

    RSS: the hard limit is the memory limit; swap is held within it
    (memsw on v1 when the kernel accounts swap, no swap at all on v2);
    the soft limit is v2's memory.high (v1 refuses a soft limit apart
    from the hard one at set time: its soft limit acts only under global
    memory pressure).

    @return: a list of lists of C{(key, value)} pairs.
    """
    if limit == "NPROC":
        value = "max" if hard is None or hard > PID_MAX_LIMIT else str(hard)
        return [[("pids.max", value)]]
    if limit != "RSS":
        raise KeyError(limit)
    hardBytes, softBytes = _bytes(hard), _bytes(soft)
    if layout == "v2":
        items = [("memory.max", str(hardBytes or "max")),
                 ("memory.high", str(softBytes) if softBytes is not None
                  and softBytes != hardBytes else "max")]
        if swap:
            items.append(("memory.swap.max",
                          "max" if hardBytes is None else "0"))
        return [items]
    value = "-1" if hardBytes is None else str(hardBytes)
    items = [("memory.limit_in_bytes", value)]
    if not swap:
        return [items]
    memsw = ("memory.memsw.limit_in_bytes", value)
    return [items + [memsw], [memsw] + items]


def startItems(layout, limits, flags, bucket, cpuset, burst=True,
               swap=True):
    """
    The cgroup writes of a start: limits NPROC and RSS (C{limits} a dict
    from name to C{(soft, hard)}), the scheduler and the CPU set.
    """
    items = []
    for limit in ("NPROC", "RSS"):
        if limit in limits:
            soft, hard = limits[limit]
            if limit == "RSS" and _bytes(hard) is None \
                    and _bytes(soft) is None:
                continue
            if limit == "NPROC" and hard > PID_MAX_LIMIT:
                continue
            # A new cgroup has no limit: "no limit" writes are left out.
            items.extend(item for item in limitAlternatives(
                layout, limit, soft, hard, swap)[0]
                if item[1] not in ("max", "-1"))
    items.extend(schedItems(layout, bucket, "SCHED_HARD" in flags, burst,
                            fresh=True))
    if cpuset is not None:
        items.extend(cpusetItems(cpuset, (), ()))
    return items


def rlimitPair(limit, soft, hard):
    """
    The rlimit of C{limit} (a name of L{vcd.kernel.hostfeatures.PRLIMITS})
    as the kernel takes it: C{(soft, hard)}, RLIM_INFINITY (2 ** 64 - 1)
    for no limit, KiB limits in bytes; C{None} values (a removed limit)
    become RLIM_INFINITY.
    """
    def one(value):
        if value is None:
            return UNLIMITED
        if limit in KIB_LIMITS:
            value = _bytes(value)
            return UNLIMITED if value is None else value
        return value
    return one(soft), one(hard)


def nrOpen(path=NR_OPEN):
    """
    The kernel's ceiling on RLIMIT_NOFILE (C{fs.nr_open}).
    """
    with open(path) as f:
        return int(f.read())


def refuseAboveNrOpen(limit, soft, hard, path=NR_OPEN):
    """
    Raise L{Unmappable} for a NOFILE above C{fs.nr_open} (including
    unlimited): the kernel refuses such an rlimit, so the VPS could never
    start with it.
    """
    if limit != "NOFILE":
        return
    ceiling = nrOpen(path)
    for argument, value in (("soft", soft), ("max", hard)):
        if value > ceiling:
            raise Unmappable(argument, "NOFILE %s is above this host's"
                             " fs.nr_open (%d), the most open files the"
                             " kernel allows a process (unlimited"
                             " included)" % (
                                 "unlimited" if value == UNLIMITED
                                 else value, ceiling))
