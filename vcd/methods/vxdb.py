# -*- test-case-name: tests.test_vxdb_methods -*-
"""
The C{vxdb} namespace: the manual's configuration database methods
(chapter 13) and the original's C{vxdb.vx.cpuset.*}.

Every knob is checked twice: its value against the manual's rules, and its
name against what this host can enforce (L{vcd.kernel.hostfeatures}); what
cannot be enforced is refused, never stored and ignored.
"""

import ipaddress
import re

from zope.interface import implementer
from twisted.plugin import IPlugin

from vcd.api import arguments as A
from vcd.faults import MEEXIST, MENOVPS, VCDFault, invalid
from vcd.kernel.hostfeatures import parseIdList
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_EXISTS, OWNER_NONE, OWNER_VPS, Method, Param
from vcd.vxdb import registry, roots, settings, store, tables, users
from vcd.vxdb.defaults import (DEFAULT_HALT, DEFAULT_INIT, DEFAULT_REBOOT,
                               DEFAULT_TIMEOUT)
from vcd.api.families import (keyedMethods, nameParam, nameSetMethods,
                               refuseUnenforceable, singleRowMethods)

DEFAULT_NETMASK4 = "255.255.255.0"
DEFAULT_PREFIX6 = "64"


# -- disk limits ------------------------------------------------------------

def _checkDiskLimit(call, cursor, args):
    if not call.services.features.supportsDiskLimits():
        raise invalid("space", "disk limits cannot be enforced on this host:"
                      " it lacks loop devices or mkfs.ext4 (e2fsprogs)")
    for argument in ("space", "inodes"):
        if args[argument] == 0:
            raise invalid(argument, "must be at least 1")
        if args[argument] > 2 ** 32 - 1:
            raise invalid(argument, "must fit in 32 bits (manual: uint32)")


def _renderDiskLimit(row):
    if row is None:
        return None
    return {"space": str(row["space"]), "inodes": str(row["inodes"]),
            "reserved": row["reserved"]}


DISK_LIMIT = singleRowMethods(
    "vxdb.dx.limit", tables.DISK_LIMIT,
    [Param("space", A.UInt64(), doc="Disk space in KiB"),
     Param("inodes", A.UInt64(), doc="Number of inodes"),
     Param("reserved", A.Int(0, 100), 5,
           doc="Percent reserved for root inside the VPS")],
    "DLIM", "disk limit", check=_checkDiskLimit, render=_renderDiskLimit)


# -- init commands ----------------------------------------------------------

def _initGet(call, cursor, args):
    row = settings.getRow(cursor, tables.INIT_METHOD, call.vps.xid) or {
        "init": "", "halt": "", "reboot": "", "timeout": DEFAULT_TIMEOUT}
    return {"init": row["init"] or DEFAULT_INIT,
            "halt": row["halt"] or DEFAULT_HALT,
            "reboot": row["reboot"] or DEFAULT_REBOOT,
            "timeout": row["timeout"]}


def _initSet(call, cursor, args):
    settings.storeRow(cursor, tables.INIT_METHOD, call.vps.xid, args)


INIT = [
    Method("vxdb.init.get", "INIT", OWNER_VPS, [nameParam()], "struct",
           "Get the init, halt and reboot commands and the stop timeout.",
           transaction=_initGet,
               readOnly=True),
    Method("vxdb.init.set", "INIT", OWNER_VPS, [
        nameParam(),
        Param("init", A.Command(), "", "Init command (default /sbin/init)"),
        Param("halt", A.Command(), "", "Halt command (default /sbin/halt)"),
        Param("reboot", A.Command(), "",
              "Reboot command (default /sbin/reboot)"),
        Param("timeout", A.Int(1, 3600), DEFAULT_TIMEOUT,
              "Seconds vx.stop waits for the halt command"),
    ], "nil", "Set the init, halt and reboot commands.",
        transaction=_initSet),
]


# -- list, names and ids ----------------------------------------------------

def _list(call, cursor, args):
    username = args["username"]
    owners = []
    if username:
        uid = users.findUid(cursor, username)
        if uid is None:
            if not call.user.admin:
                return []  # no user-existence oracle for non-admins
            store.requireUser(cursor, username)
        owners.append(uid)
    if not call.user.admin:
        owners.append(call.user.uid)
    return registry.vpsNames(cursor, owners)


def _nameGet(call, cursor, args):
    name = registry.nameOfXid(cursor, args["xid"])
    if name is None:
        raise VCDFault(MENOVPS, "no virtual server has context id %d"
                       % (args["xid"],))
    return name


def _xidGet(call, cursor, args):
    return call.vps.xid


def _vdirGet(call, cursor, args):
    vdir = roots.currentVdir(cursor, call.vps.xid)
    return vdir if vdir is not None else ""


LOOKUPS = [
    Method("vxdb.list", None, OWNER_NONE, [
        Param("username", A.userName(allowEmpty=True), "",
              "Only VPSes this user owns (empty for all)")],
        "array", "List the VPSes the caller passes owner checks for.",
        transaction=_list,
               readOnly=True),
    Method("vxdb.name.get", "INFO", OWNER_NONE, [
        Param("xid", A.Int(2, 65534), doc="Context id")],
        "string", "Look up a VPS name by context id.", transaction=_nameGet,
               readOnly=True),
    Method("vxdb.xid.get", "INFO", OWNER_EXISTS, [nameParam()], "int",
           "Look up the context id of a VPS.", transaction=_xidGet,
               readOnly=True),
    Method("vxdb.vdir.get", "INFO", OWNER_EXISTS, [nameParam()], "string",
           "Get the directory of a VPS.", transaction=_vdirGet,
               readOnly=True),
]


# -- mounts -----------------------------------------------------------------

_MOUNT_SOURCE_ID = re.compile(r"[A-Za-z0-9_.:@+-]{1,255}")
_FSTYPE = re.compile(r"[a-z0-9._-]{1,32}")
_MOUNT_OPTS = re.compile(r"[A-Za-z0-9_=,.:/@+-]{1,512}")


_MOUNT_PATH = re.compile(r"/[A-Za-z0-9_.@+=,:/-]*")
#: Options that would mount something of the host's into the VPS.
_HOST_REACHING_OPTIONS = frozenset(["bind", "rbind", "move", "remount"])


def _checkMount(call, cursor, args):
    src, fstype, opts = args["src"], args["type"], args["opts"]
    if args["dst"] == "/":
        raise invalid("dst", "cannot mount over the root of the VPS")
    if not _MOUNT_PATH.fullmatch(args["dst"]):
        raise invalid("dst", "must be a path of [A-Za-z0-9_.@+=,:/-] (no"
                      " spaces, tabs or backslashes)")
    if src.startswith("/"):
        A.AbsolutePath().check("src", src)
        if not _MOUNT_PATH.fullmatch(src):
            raise invalid("src", "must be a path of [A-Za-z0-9_.@+=,:/-] (no"
                          " spaces, tabs or backslashes)")
        if not call.user.admin:
            raise invalid("src", "a path source is a host device or file;"
                          " only administrators may mount one")
    elif src and not _MOUNT_SOURCE_ID.fullmatch(src):
        raise invalid("src", "must be an absolute path or an identifier of"
                      " [A-Za-z0-9_.:@+-]")
    reaching = _HOST_REACHING_OPTIONS.intersection(opts.split(","))
    if reaching:
        raise invalid("opts", "%s mounts are refused: their source could be"
                      " redirected by a symlink inside the VPS to the host's"
                      " files" % (sorted(reaching)[0],))
    if fstype and not _FSTYPE.fullmatch(fstype):
        raise invalid("type", "must be a filesystem type of [a-z0-9._-]")
    if opts and not _MOUNT_OPTS.fullmatch(opts):
        raise invalid("opts", "must be mount options of"
                      " [A-Za-z0-9_=,.:/@+-] without spaces")
    args["src"] = src or "none"
    args["type"] = fstype or "auto"
    args["opts"] = opts or "defaults"


MOUNT = keyedMethods(
    "vxdb.mount", tables.MOUNTS,
    lambda allowEmpty: A.AbsolutePath(allowEmpty=allowEmpty, maxLength=255),
    [Param("src", A.String(maxLength=255), "",
           "Source path or identifier (default none)"),
     Param("type", A.String(maxLength=32), "",
           "Filesystem type (default auto)"),
     Param("opts", A.String(maxLength=512), "",
           "Mount options (default defaults)")],
    "MOUNT", "mount point", check=_checkMount, keyPosition=1)


# -- network ----------------------------------------------------------------

def _checkAddress(call, cursor, args):
    address = ipaddress.ip_address(args["addr"])
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise invalid("addr", "%s is not a usable unicast address"
                      % (address,))
    netmask = args["netmask"]
    if address.version == 4:
        if not netmask:
            netmask = DEFAULT_NETMASK4
        elif netmask.isdigit():
            if int(netmask) > 32:
                raise invalid("netmask", "an IPv4 prefix is at most 32")
            netmask = str(ipaddress.IPv4Network("0.0.0.0/" + netmask).netmask)
    else:
        if not netmask:
            netmask = DEFAULT_PREFIX6
        elif not netmask.isdigit():
            raise invalid("netmask", "an IPv6 address takes a prefix length,"
                          " not a dotted netmask")
    args["netmask"] = netmask
    if settings.addressHolder(cursor, str(address), call.vps.xid) is not None:
        raise VCDFault(MEEXIST, "address %s is already used by another"
                       " virtual server" % (address,))


ADDRESSES = keyedMethods(
    "vxdb.nx.addr", tables.ADDRESSES,
    lambda allowEmpty: A.IPAddress(allowEmpty=allowEmpty),
    [Param("netmask", A.Netmask(), "",
           "Netmask (default 255.255.255.0; IPv6: prefix, default 64)")],
    "NET", "network address", check=_checkAddress)


def _checkBroadcast(call, cursor, args):
    address = ipaddress.ip_address(args["broadcast"])
    if address.version != 4:
        raise invalid("broadcast", "broadcast addresses are IPv4 only")
    if address.is_loopback or address.is_multicast or address.is_unspecified:
        raise invalid("broadcast", "%s is not a usable broadcast address"
                      % (address,))


BROADCAST = singleRowMethods(
    "vxdb.nx.broadcast", tables.BROADCAST,
    [Param("broadcast", A.IPAddress(), doc="Broadcast address")],
    "NET", "broadcast address", check=_checkBroadcast,
    render=lambda row: row["broadcast"] if row else "")
BROADCAST[0].returns = "string"


# -- owners -----------------------------------------------------------------

def _ownerAdd(call, cursor, args):
    uid = store.requireUser(cursor, args["username"])
    registry.addOwner(cursor, call.vps.xid, uid)


def _ownerGet(call, cursor, args):
    return registry.ownerNames(cursor, call.vps.xid)


def _ownerRemove(call, cursor, args):
    uid = None
    if args["username"]:
        uid = store.requireUser(cursor, args["username"])
    registry.removeOwners(cursor, call.vps.xid, uid)


OWNERS = [
    Method("vxdb.owner.add", "AUTH", OWNER_EXISTS, [
        nameParam(), Param("username", A.userName(), doc="Unique username")],
        "nil", "Add an owner to a VPS.", transaction=_ownerAdd),
    Method("vxdb.owner.get", "AUTH", OWNER_EXISTS, [nameParam()], "array",
           "Get the owners of a VPS.", transaction=_ownerGet,
               readOnly=True),
    Method("vxdb.owner.remove", "AUTH", OWNER_EXISTS, [
        nameParam(), Param("username", A.userName(allowEmpty=True), "",
                           "Username (empty for all owners)")],
        "nil", "Remove owners of a VPS.", transaction=_ownerRemove),
]


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
    args["soft"], args["max"] = str(args["soft"]), str(args["max"])


LIMITS = keyedMethods(
    "vxdb.vx.limit", tables.LIMITS,
    lambda allowEmpty: A.KnobName("limit", allowEmpty=allowEmpty),
    [Param("soft", A.UInt64(), doc="Soft limit (memory limits in KiB)"),
     Param("max", A.UInt64(), None, "Hard limit (default: the soft limit)")],
    "RLIM", "resource limit", check=_checkLimit)


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
        if not features.supportsCpuset():
            raise invalid("cpuid", "per-CPU buckets need the cgroup cpuset"
                          " controller, which this host lacks")
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
           "Remove CPU scheduler buckets.", transaction=_schedRemove),
    Method("vxdb.vx.sched.set", "SCHED", OWNER_VPS, [
        nameParam(), _cpuidParam(False),
        Param("interval", A.Int(0), doc="Interval between fills (jiffies)"),
        Param("fillrate", A.Int(0), doc="Tokens filled each interval"),
        Param("interval2", A.Int(0), 0, "Idle-time interval"),
        Param("fillrate2", A.Int(0), 0, "Idle-time fill rate"),
        Param("tokensmin", A.Int(0), 0, "Minimum tokens to schedule"),
        Param("tokensmax", A.Int(0), doc="Bucket size"),
    ], "nil", "Add or change a CPU scheduler bucket.", transaction=_schedSet),
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
    if args["virtualize"] and not features.lxcfs:
        raise invalid("virtualize", "virtualising /proc/cpuinfo needs lxcfs"
                      " (apt-get install lxcfs)")
    args["virtualize"] = int(args["virtualize"])


def _renderCpuset(row):
    if row is None:
        return None
    return dict(row, virtualize=bool(row["virtualize"]))


_ID_LIST = A.Pattern(r"[0-9,-]{1,256}", "a list of ids such as 0-3,6",
                     maxLength=256)

CPUSET = singleRowMethods(
    "vxdb.vx.cpuset", tables.CPUSET,
    [Param("cpus", _ID_LIST, doc="CPU list, such as 0-3,6"),
     Param("mems", _ID_LIST, "0", doc="Memory node list (default 0)"),
     Param("virtualize", A.Bool(), False,
           "Show only these CPUs in the VPS's /proc/cpuinfo (lxcfs)")],
    "SCHED", "CPU set", check=_checkCpuset, render=_renderCpuset)


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
    "UNAME", "uname value", check=_checkUname)


@implementer(IPlugin, IMethodNamespace)
class VXDBNamespace:
    """
    The C{vxdb} namespace.
    """

    name = "vxdb"
    description = "Configuration database methods (manual chapter 13)"

    def __init__(self):
        self.methods = (
            DISK_LIMIT + INIT + LOOKUPS + MOUNT + ADDRESSES + BROADCAST
            + OWNERS
            + nameSetMethods("vxdb.vx.bcaps", tables.BCAPS, "bcap",
                             "BCAP", "bcap", "system capability")
            + nameSetMethods("vxdb.vx.ccaps", tables.CCAPS, "ccap",
                             "CCAP", "ccap", "context capability")
            + nameSetMethods("vxdb.vx.flags", tables.FLAGS, "flag",
                             "CFLAG", "flag", "context flag")
            + LIMITS + SCHED + CPUSET + UNAME)


vxdb = VXDBNamespace()
