# -*- test-case-name: tests.test_limstatus -*-
"""
vx.limstatus: the original's C{{type, min, cur, max}} for each limit the
kernel counts per VPS, plus C{hits}, the number of times the limit was
reached, all from the kernel's own cgroup counters (read in one go from
the running VPS's cgroup):

  - RSS (KiB): the memory in use, its peak, and the times an allocation
    met the limit (v2 C{memory.events} C{max}; v1 the largest of
    C{memory.failcnt}, C{memory.memsw.failcnt} and the OOM kills of
    C{memory.oom_control}: some kernels, like 6.18, leave v1's failcnt
    at 0);
  - NPROC: the tasks, their peak, and the forks refused at the limit
    (C{pids.events} C{max}).

The kernel keeps no minimum, so C{min} is 0. The per-process limits
(NOFILE, CORE, ...) have no per-VPS counter in the kernel and are not
listed.
"""

from twisted.internet import defer

from vcd.faults import MESTOPPED, MESYS, VCDFault
from vcd.kernel.errors import KernelError

#: The largest value an XML-RPC int carries.
INT_MAX = 2 ** 31 - 1

#: The cgroup files read, per layout: (current, peak, [hit counters]) for
#: RSS and NPROC. A hit counter is C{(file, key)} (a flat-keyed file) or
#: C{(file, None)} (a number); the hits are the largest counter.
_FILES = {
    "v1": {"RSS": ("memory.usage_in_bytes", "memory.max_usage_in_bytes",
                   [("memory.failcnt", None),
                    ("memory.memsw.failcnt", None),
                    ("memory.oom_control", "oom_kill")]),
           "NPROC": ("pids.current", "pids.peak", [("pids.events", "max")])},
    "v2": {"RSS": ("memory.current", "memory.peak",
                   [("memory.events", "max")]),
           "NPROC": ("pids.current", "pids.peak", [("pids.events", "max")])},
}


def _number(text, key=None):
    """
    The number in a cgroup file's text (of C{key} in a flat-keyed one), or
    None.
    """
    if text is None:
        return None
    if key is None:
        try:
            return int(text.split()[0])
        except (ValueError, IndexError):
            return None
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == key and words[1].isdigit():
            return int(words[1])
    return None


def _int(value):
    return min(max(value or 0, 0), INT_MAX)


def statusEntries(layout, values, controllers):
    """
    The limstatus entries from the cgroup files' texts C{values} (key to
    text or None).

    @param controllers: the cgroup controllers of this host: a limit whose
        controller it lacks is left out.
    """
    files = _FILES["v2" if layout == "v2" else "v1"]
    entries = []
    for limit, controller, scale in (("RSS", "memory", 1024),
                                     ("NPROC", "pids", 1)):
        if controller not in controllers:
            continue
        current, peak, hits = files[limit]
        cur = _number(values.get(current))
        top = _number(values.get(peak))
        entries.append({
            "type": limit, "min": 0,
            "cur": _int((cur or 0) // scale),
            "max": _int(max(top or 0, cur or 0) // scale),
            "hits": _int(max(_number(values.get(f), k) or 0
                             for f, k in hits)),
        })
    return entries


def statusKeys(layout, controllers):
    """
    The cgroup files L{statusEntries} reads.
    """
    files = _FILES["v2" if layout == "v2" else "v1"]
    keys = []
    for limit, controller in (("RSS", "memory"), ("NPROC", "pids")):
        if controller in controllers:
            current, peak, hits = files[limit]
            keys.extend([current, peak] + [f for f, _ in hits])
    return keys


@defer.inlineCallbacks
def limitStatus(services, name):
    """
    The limstatus of running VPS C{name}.

    @raise VCDFault: MESTOPPED if it is not running.
    """
    features = services.features
    layout, controllers = features.cgroupLayout, features.controllers
    try:
        values = yield services.kernel.cgroupItems(
            name, statusKeys(layout, controllers))
    except KernelError as e:
        if not (yield services.kernel.isRunning(name)):
            raise VCDFault(MESTOPPED, "virtual server %r is not running"
                           % (name,))
        raise VCDFault(MESYS, "cannot read the counters of %r: %s"
                       % (name, e))
    return statusEntries(layout, values, controllers)
