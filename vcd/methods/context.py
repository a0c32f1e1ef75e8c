# -*- test-case-name: tests.test_vxdb_methods -*-
"""
The C{vxdb.vx} namespace: the context settings of the configuration
database (manual chapter 13): system and context capabilities, context
flags, resource limits, the CPU scheduler, the original's
C{vxdb.vx.cpuset.*}, and uname values.

Every knob is checked twice: its value against the manual's rules, and its
name against what this host can enforce (L{vcd.kernel.hostfeatures}); what
cannot be enforced is refused, never stored and ignored.
"""

import re

from zope.interface import implementer
from twisted.plugin import IPlugin

from vcd.api import arguments as A
from vcd.api.families import (keyedMethods, nameParam, nameSetMethods,
                               refuseUnenforceable, singleRowMethods)
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_VPS, Method, Param
from vcd.faults import invalid
from vcd.kernel import knobmap
from vcd.kernel.hostfeatures import parseIdList
from vcd.vps.capceiling import refuseAboveCeiling
from vcd.vps.unamelive import UnameChange
from vcd.vps.liveknobs import (LiveCpuset, LiveLimit, LiveSchedHard,
                               LiveScheduler)
from vcd.vps.contextflags import CcapChange, FlagChange
from vcd.vxdb import settings, tables, userns


# -- system capabilities ---------------------------------------------------

def _checkBcap(call, cursor, bcap):
    ns = userns.usernsOf(cursor, call.vps.xid)
    refuseAboveCeiling(call.services.config.bcapCeiling, bcap,
                       call.user.admin, privileged=ns is None
                       or ns.privileged)


# -- limits -----------------------------------------------------------------

def _checkLimit(call, cursor, args):
    limit = args["limit"]
    refuseUnenforceable(call.services.features, "limit", "limit", limit)
    if args["max"] is None:
        args["max"] = args["soft"]
    if args["soft"] > args["max"]:
        raise invalid("soft", "soft limit %d is above the hard limit %d"
                      % (args["soft"], args["max"]))
    if limit == "NPROC" and args["soft"] != args["max"]:
        raise invalid("soft", "NPROC is enforced by the cgroup pids.max, a"
                      " hard limit only; give soft equal to max")
    if limit == "RSS" and args["soft"] != args["max"] \
            and call.services.features.cgroupLayout != "v2":
        raise invalid("soft", "a soft RSS limit apart from the hard one"
                      " needs cgroup v2's memory.high: this host's cgroup"
                      " v1 soft limit acts only under global memory"
                      " pressure, so it would not hold; give soft equal to"
                      " max")
    try:
        knobmap.refuseAboveNrOpen(limit, args["soft"], args["max"])
    except knobmap.Unmappable as e:
        raise invalid(e.argument, str(e))
    args["soft"], args["max"] = str(args["soft"]), str(args["max"])


LIMITS = keyedMethods(
    "vxdb.vx.limit", tables.LIMITS,
    lambda allowEmpty: A.KnobName("limit", allowEmpty=allowEmpty),
    [Param("soft", A.UInt64(), doc="Soft limit (memory limits in KiB)"),
     Param("max", A.UInt64(), None, "Hard limit (default: the soft limit)")],
    "RLIM", "resource limit", check=_checkLimit, keyAlias="type",
    live=LiveLimit())


# -- scheduler --------------------------------------------------------------

ALL_ENTRIES = -2
NO_SPECIFIC_CPU = -1


def _checkSched(call, cursor, args):
    features = call.services.features
    if not features.supportsScheduler():
        raise invalid("cpuid", "the CPU scheduler cannot be enforced on this"
                      " host: it lacks the cgroup cpu controller")
    cpuid = args["cpuid"]
    if cpuid != NO_SPECIFIC_CPU:
        if cpuid not in features.cpus:
            raise invalid("cpuid", "CPU %d is not online here (online: %s)"
                          % (cpuid, ",".join(map(str, features.cpus))))
        raise invalid("cpuid", "CFS has no per-CPU buckets: one bandwidth"
                      " pool serves all CPUs of a virtual server; give"
                      " cpuid -1 (and pin CPUs with vxdb.vx.cpuset.set)")
    for argument in ("interval", "fillrate", "tokensmax"):
        if args[argument] < 1:
            raise invalid(argument, "must be at least 1")
    if (args["fillrate2"] == 0) != (args["interval2"] == 0):
        raise invalid("fillrate2", "fillrate2 and interval2 must both be set"
                      " or both be 0")
    if args["fillrate"] > args["interval"]:
        raise invalid("fillrate", "fillrate %d is above interval %d"
                      % (args["fillrate"], args["interval"]))
    if args["fillrate2"] > args["interval2"]:
        raise invalid("fillrate2", "fillrate2 %d is above interval2 %d"
                      % (args["fillrate2"], args["interval2"]))
    if args["tokensmax"] < max(args["fillrate"], args["fillrate2"]):
        raise invalid("tokensmax", "tokensmax must be at least fillrate and"
                      " fillrate2")
    if args["tokensmin"] > args["tokensmax"]:
        raise invalid("tokensmin", "tokensmin %d is above tokensmax %d"
                      % (args["tokensmin"], args["tokensmax"]))
    try:
        knobmap.bandwidth(args["interval"], args["fillrate"],
                          args["tokensmax"], args["tokensmin"],
                          features.cpuBurst)
    except knobmap.Unmappable as e:
        raise invalid(e.argument, str(e))


def _schedKey(args):
    return None if args["cpuid"] == ALL_ENTRIES else args["cpuid"]


def _schedGet(call, cursor, args):
    return settings.keyedRows(cursor, tables.SCHED, call.vps.xid,
                              _schedKey(args))


def _schedRemove(call, cursor, args):
    settings.removeRows(cursor, tables.SCHED, call.vps.xid, _schedKey(args))


def _schedSet(call, cursor, args):
    _checkSched(call, cursor, args)
    settings.storeRow(cursor, tables.SCHED, call.vps.xid, args)


def _cpuidParam(allowAll):
    if allowAll:
        return Param("cpuid", A.Int(ALL_ENTRIES, 4095), ALL_ENTRIES,
                     "CPU id, -1 for the bucket of no specific CPU, -2 for"
                     " all entries")
    return Param("cpuid", A.Int(NO_SPECIFIC_CPU, 4095), NO_SPECIFIC_CPU,
                 "CPU id, or -1 for no specific CPU")


SCHED = [
    Method("vxdb.vx.sched.get", "SCHED", OWNER_VPS,
           [nameParam(), _cpuidParam(True)], "array",
           "Get CPU scheduler buckets.", transaction=_schedGet,
           readOnly=True),
    Method("vxdb.vx.sched.remove", "SCHED", OWNER_VPS,
           [nameParam(), _cpuidParam(True)], "nil",
           "Remove CPU scheduler buckets.", transaction=_schedRemove,
           live=LiveScheduler()),
    Method("vxdb.vx.sched.set", "SCHED", OWNER_VPS, [
        nameParam(), _cpuidParam(False),
        Param("interval", A.Int(0), doc="Interval between fills (jiffies)"),
        Param("fillrate", A.Int(0), doc="Tokens filled each interval"),
        Param("interval2", A.Int(0), 0, "Idle-time interval"),
        Param("fillrate2", A.Int(0), 0, "Idle-time fill rate"),
        Param("tokensmin", A.Int(0), 0, "Minimum tokens to schedule"),
        Param("tokensmax", A.Int(0), doc="Bucket size"),
    ], "nil", "Add or change a CPU scheduler bucket: with the flag"
        " SCHED_HARD, fillrate/interval (tokens of 1 ms) is the CFS quota of"
        " all its CPUs together and tokensmax its pool (a quota plus at most"
        " as much burst); fillrate2/interval2 is its weight (a VPS without"
        " weighs 1/100); without SCHED_HARD only the weight applies. Per-CPU"
        " buckets (cpuid other than -1) and buckets larger than CFS can"
        " hold are refused.", transaction=_schedSet,
        live=LiveScheduler()),
]


# -- cpuset -----------------------------------------------------------------

def _checkCpuset(call, cursor, args):
    features = call.services.features
    if not features.supportsCpuset():
        raise invalid("cpus", "CPU sets cannot be enforced on this host: it"
                      " lacks the cgroup cpuset controller")
    for argument, online in (("cpus", features.cpus),
                             ("mems", features.memNodes)):
        try:
            ids = parseIdList(args[argument])
        except ValueError as e:
            raise invalid(argument, str(e))
        offline = sorted(set(ids) - set(online))
        if offline:
            raise invalid(argument, "%s not online here (online: %s)" % (
                ",".join(map(str, offline)), ",".join(map(str, online))))
    if args["virtualize"] and features.lxcfsProblem() is not None:
        raise invalid("virtualize", "virtualising /proc/cpuinfo needs lxcfs,"
                      " which does not serve here: "
                      + features.lxcfsProblem())
    args["virtualize"] = int(args["virtualize"])


def _renderCpuset(row):
    return dict(row, virtualize=bool(row["virtualize"]))


_ID_LIST = A.Pattern(r"[0-9,-]{1,256}", "a list of ids such as 0-3,6",
                     maxLength=256)

CPUSET = singleRowMethods(
    "vxdb.vx.cpuset", tables.CPUSET,
    [Param("cpus", _ID_LIST, doc="CPU list, such as 0-3,6"),
     Param("mems", _ID_LIST, "0", doc="Memory node list (default 0)"),
     Param("virtualize", A.Bool(), False,
           "Show only these CPUs in the VPS's /proc/cpuinfo (lxcfs)")],
    "SCHED", "CPU set",
    # With no CPU set, the original answered these empty values.
    empty={"cpus": "", "mems": "", "virtualize": False},
    check=_checkCpuset, render=_renderCpuset, live=LiveCpuset())


# -- uname ------------------------------------------------------------------

_UNAME_VALUE = re.compile(r"[\x21-\x7e]{1,64}")


def _checkUname(call, cursor, args):
    refuseUnenforceable(call.services.features, "uname", "uname",
                        args["uname"])
    if not _UNAME_VALUE.fullmatch(args["value"]):
        raise invalid("value", "must be 1-64 printable ASCII characters"
                      " without spaces")


UNAME = keyedMethods(
    "vxdb.vx.uname", tables.UNAME,
    lambda allowEmpty: A.KnobName("uname", allowEmpty=allowEmpty),
    [Param("value", A.String(maxLength=64), doc="Value, up to 64 characters")],
    "UNAME", "uname value", check=_checkUname, keyAlias="type",
    live=UnameChange())



@implementer(IPlugin, IMethodNamespace)
class ContextNamespace:
    """
    The C{vxdb.vx} namespace.
    """

    name = "vxdb.vx"
    description = "Context settings in the configuration database (manual" \
        " chapter 13)"

    def __init__(self):
        self.methods = (
            nameSetMethods("vxdb.vx.bcaps", tables.BCAPS, "bcap",
                           "BCAP", "bcap", "system capability",
                           check=_checkBcap)
            + nameSetMethods("vxdb.vx.ccaps", tables.CCAPS, "ccap",
                             "CCAP", "ccap", "context capability",
                             live=CcapChange())
            + nameSetMethods("vxdb.vx.flags", tables.FLAGS, "flag",
                             "CFLAG", "flag", "context flag",
                             live=LiveSchedHard(FlagChange()))
            + LIMITS + SCHED + CPUSET + UNAME)


context = ContextNamespace()
