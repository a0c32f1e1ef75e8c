# -*- test-case-name: tests.test_vxdb_methods -*-
"""
The C{vxdb} namespace: the manual's configuration database methods
(chapter 13) but for the context settings C{vxdb.vx.*}
(L{vcd.methods.context}): the VPS list and lookups, owners, init
commands, mounts, network addresses and disk limits.

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
from vcd.api.interfaces import ILiveChange, IMethodNamespace
from vcd.api.method import (NEXT_START, OWNER_EXISTS, OWNER_NONE, OWNER_VPS,
                            Method, Param)
from vcd.vxdb import registry, roots, running, settings, tables, users
from vcd.vxdb.defaults import (DEFAULT_HALT, DEFAULT_INIT, DEFAULT_REBOOT,
                               DEFAULT_TIMEOUT)
from vcd.api.families import keyedMethods, nameParam, singleRowMethods
from vcd.kernel.diskimage import layoutProblem
from vcd.vps.diskstart import DiskLimitChange, refuseShrink
from vcd.vps.mountpolicy import refuseMount
from vcd.vps.addresslive import LiveAddressChange
from vcd.vps.liveknobs import NOT_RUNNING

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
    problem = layoutProblem(args["space"], args["inodes"], args["reserved"])
    if problem is not None:
        raise invalid("space", "no filesystem of %d KiB with %d inodes can"
                      " be made: %s" % (args["space"], args["inodes"],
                                        problem))
    refuseShrink(call, cursor, args["space"])


def _renderDiskLimit(row):
    return {"space": str(row["space"]), "inodes": str(row["inodes"]),
            "reserved": row["reserved"]}


DISK_LIMIT = singleRowMethods(
    "vxdb.dx.limit", tables.DISK_LIMIT,
    [Param("space", A.UInt64(), doc="Disk space in KiB"),
     Param("inodes", A.UInt64(), doc="Number of inodes"),
     Param("reserved", A.Int(0, 100), 5,
           doc="Percent reserved for root inside the VPS")],
    "DLIM", "disk limit",
    # With no disk limit, the original answered these empty values.
    empty={"space": "", "inodes": "", "reserved": 0},
    check=_checkDiskLimit, render=_renderDiskLimit, live=DiskLimitChange())


# -- init commands ----------------------------------------------------------

def _initGet(call, cursor, args):
    return running.initMethod(cursor, call.vps.xid)._asdict()


def _initSet(call, cursor, args):
    if args["timeout"] == 0:
        # What the original's vce sends when the timeout is left out.
        args["timeout"] = DEFAULT_TIMEOUT
    settings.storeRow(cursor, tables.INIT_METHOD, call.vps.xid, args)


@implementer(ILiveChange)
class _InitChange:
    """
    The init command is read when the VPS starts; the halt and reboot
    commands and the timeout each time vx.stop or vx.reboot runs (also
    vx.restart's stop and the group actions'). A running VPS keeps its
    init until its next start, so the reply starts with L{NEXT_START} and
    says what applied now; never L{APPLIED_NOW}, since every call sets
    the init command too (its default when it is left out).
    """

    doc = ("The reply always starts %r: the init command applies at the"
           " next start. The halt and reboot commands and the timeout apply"
           " at once (each vx.stop and vx.reboot reads them), as the reply"
           " says after its start when the virtual server runs."
           % (NEXT_START,))

    def __call__(self, call, args):
        d = call.services.kernel.isRunning(call.vps.name)
        return d.addCallback(lambda running: RUNNING_INIT_REPLY if running
                             else NOT_RUNNING)


#: The reply of vxdb.init.set for a running VPS.
RUNNING_INIT_REPLY = (
    "%s (the init command; the halt and reboot commands and the timeout"
    " applied now: vx.stop and vx.reboot read them when they run)"
    % (NEXT_START,))


INIT = [
    Method("vxdb.init.get", "INIT", OWNER_VPS, [nameParam()], "struct",
           "Get the init, halt and reboot commands and the stop timeout.",
           transaction=_initGet, readOnly=True),
    Method("vxdb.init.set", "INIT", OWNER_VPS, [
        nameParam(),
        Param("init", A.Command(), "",
              "Init command (default %s)" % (DEFAULT_INIT,)),
        Param("halt", A.Command(), "",
              "Halt command (default %s)" % (DEFAULT_HALT,)),
        Param("reboot", A.Command(), "",
              "Reboot command (default %s)" % (DEFAULT_REBOOT,)),
        Param("timeout", A.Int(0, 3600), DEFAULT_TIMEOUT,
              "Seconds vx.stop waits for the halt command, 1-3600; 0 (what"
              " the original's vce sends when it is left out) means the"
              " default, %d" % (DEFAULT_TIMEOUT,)),
    ], "nil", "Set the init, halt and reboot commands.",
        transaction=_initSet, live=_InitChange()),
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
            users.requireUser(cursor, username)
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
    config = call.services.config
    refuseMount(args["src"], args["type"], args["opts"], call.user.admin,
                (config.vbasedir, config.datadir))


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
           "Netmask (default 255.255.255.0; IPv6: prefix, default 64,"
           " kept in VXDB: inside the VPS an IPv6 address is alone (/128),"
           " everything routed through the host's fe80::1)")],
    "NET", "network address", check=_checkAddress,
    live=LiveAddressChange())


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
    "NET", "broadcast address", empty="", check=_checkBroadcast,
    render=lambda row: row["broadcast"], returns="string")


# -- owners -----------------------------------------------------------------

def _ownerAdd(call, cursor, args):
    uid = users.requireUser(cursor, args["username"])
    registry.addOwner(cursor, call.vps.xid, uid)


def _ownerGet(call, cursor, args):
    return registry.ownerNames(cursor, call.vps.xid)


def _ownerRemove(call, cursor, args):
    uid = None
    if args["username"]:
        uid = users.requireUser(cursor, args["username"])
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


@implementer(IPlugin, IMethodNamespace)
class VXDBNamespace:
    """
    The C{vxdb} namespace.
    """

    name = "vxdb"
    description = ("Configuration database methods (manual chapter 13)"
                   " but for vxdb.vx.*")

    def __init__(self):
        self.methods = (
            DISK_LIMIT + INIT + LOOKUPS + MOUNT + ADDRESSES + BROADCAST
            + OWNERS)


vxdb = VXDBNamespace()
