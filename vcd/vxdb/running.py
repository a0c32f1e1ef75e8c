# -*- test-case-name: tests.test_running,tests.test_vx_methods -*-
"""
What running a VPS reads from and writes to VXDB: everything a start needs
in one read, the halt and reboot commands, and the pending-restart mark.
"""

import json
from collections import namedtuple

from vcd.faults import MEINVAL, VCDFault
from vcd.vxdb import registry, roots, settings, tables
from vcd.vxdb.restarts import clearRestart, isRestartPending
from vcd.vxdb.userns import usernsOf
from vcd.vxdb.defaults import (DEFAULT_HALT, DEFAULT_INIT, DEFAULT_REBOOT,
                               DEFAULT_TIMEOUT)

#: Everything VXDB says about starting one VPS, as plain data.
#: C{rootRecord} is the root layout's record (a dict), C{mounts} are
#: C{(src, dst, type, opts)}, C{addresses} C{(addr, netmask)}, C{uname} a
#: dict, C{limits} a dict from name to C{(soft, max)} ints, and
#: C{restartPending} whether a reboot left a mark to clear, and
#: C{userns} its L{vcd.vxdb.userns.UserNamespace} (None if it has none),
#: C{flags} its context flags, C{sched} its scheduler bucket of no
#: specific CPU (a dict, or None) and C{cpuset} its CPU set (a dict, or
#: None), C{ccaps} its context capabilities.
StartRecord = namedtuple(
    "StartRecord", "xid name rootRecord init bcaps mounts addresses"
    " broadcast uname limits restartPending userns flags sched cpuset ccaps")

#: What the scheduler and CPU set of a running VPS are made of: its
#: context flags, its bucket of no specific CPU and its CPU set (dicts or
#: None).
CpuSettings = namedtuple("CpuSettings", "flags sched cpuset")

#: The init settings of a VPS, defaults applied.
InitMethod = namedtuple("InitMethod", "init halt reboot timeout")


def initMethod(cursor, xid):
    """
    @return: the L{InitMethod} of VPS C{xid}, with the defaults of
        L{vcd.vxdb.defaults} for what is not set.
    """
    row = settings.getRow(cursor, tables.INIT_METHOD, xid) or {
        "init": "", "halt": "", "reboot": "", "timeout": DEFAULT_TIMEOUT}
    return InitMethod(row["init"] or DEFAULT_INIT,
                      row["halt"] or DEFAULT_HALT,
                      row["reboot"] or DEFAULT_REBOOT, row["timeout"])


def startRecord(cursor, xid):
    """
    Read everything a start of VPS C{xid} needs, in one read.

    @return: a L{StartRecord}.
    @raise VCDFault: MEINVAL if the VPS has no complete root record.
    """
    name = registry.requireNameOfXid(cursor, xid)
    state, layout = roots.rootState(cursor, xid)
    if state != "ready" or not layout:
        raise VCDFault(MEINVAL, "virtual server %r has no complete root"
                       " filesystem (state %s); rebuild it with vx.create"
                       " force" % (name, state or "missing"))
    broadcast = settings.getRow(cursor, tables.BROADCAST, xid)
    return StartRecord(
        xid=xid, name=name, rootRecord=json.loads(layout),
        init=initMethod(cursor, xid).init,
        bcaps=settings.setMembers(cursor, tables.BCAPS, xid),
        mounts=[(m["src"], m["dst"], m["type"], m["opts"]) for m in
                settings.keyedRows(cursor, tables.MOUNTS, xid)],
        addresses=[(a["addr"], a["netmask"]) for a in
                   settings.keyedRows(cursor, tables.ADDRESSES, xid)],
        broadcast=broadcast["broadcast"] if broadcast else "",
        uname={u["uname"]: u["value"] for u in
               settings.keyedRows(cursor, tables.UNAME, xid)},
        limits={r["limit"]: (int(r["soft"]), int(r["max"])) for r in
                settings.keyedRows(cursor, tables.LIMITS, xid)},
        restartPending=isRestartPending(cursor, xid),
        userns=usernsOf(cursor, xid),
        **cpuSettings(cursor, xid)._asdict(),
        ccaps=settings.setMembers(cursor, tables.CCAPS, xid),
    )


#: The cpuid of the bucket of no specific CPU (the only one CFS has).
NO_SPECIFIC_CPU = -1


def cpuSettings(cursor, xid):
    """
    @return: the L{CpuSettings} of VPS C{xid}.
    """
    buckets = settings.keyedRows(cursor, tables.SCHED, xid, NO_SPECIFIC_CPU)
    flags = settings.setMembers(cursor, tables.FLAGS, xid)
    cpuset = settings.getRow(cursor, tables.CPUSET, xid)
    if cpuset is not None and cpuset["virtualize"] \
            and "VIRT_CPU" not in flags:
        # The VPS's own view of its CPUs is VIRT_CPU's (lxcfs's
        # /proc/cpuinfo, /proc/stat and /sys/devices/system/cpu views,
        # which follow the cgroup's cpuset).
        flags = sorted(flags + ["VIRT_CPU"])
    return CpuSettings(
        flags=flags, sched=buckets[0] if buckets else None, cpuset=cpuset)


def limitOf(cursor, xid, limit):
    """
    @return: C{(soft, max)} ints of limit C{limit} of VPS C{xid}, or None
        if it has none.
    """
    rows = settings.keyedRows(cursor, tables.LIMITS, xid, limit)
    if not rows:
        return None
    return int(rows[0]["soft"]), int(rows[0]["max"])


def takeStopSettings(cursor, xid):
    """
    For a stop: forget a pending restart and read the halt command.

    @return: C{(halt command, timeout in seconds)}.
    """
    clearRestart(cursor, xid)
    init = initMethod(cursor, xid)
    return init.halt, init.timeout


def isNamed(cursor, xid, name):
    """
    @return: whether VPS C{xid} still is called C{name}.
    """
    return registry.nameOfXid(cursor, xid) == name
