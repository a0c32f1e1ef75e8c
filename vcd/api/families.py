# -*- test-case-name: tests.test_vxdb_methods -*-
"""
Families of VXDB methods that share one shape, declared once:

  - L{nameSetMethods}: C{add/get/remove} of names in a set (bcaps, ccaps,
    flags);
  - L{keyedMethods}: C{get/remove/set} of rows keyed by one field, where
    an empty key means "all" for get and remove (limits, uname, mounts,
    addresses);
  - L{singleRowMethods}: C{get/remove/set} of one row per VPS (disk limits,
    broadcast, cpuset).

Each family takes the table's description from L{vcd.vxdb.tables} and
reads and writes it through L{vcd.vxdb.settings}; the declared parameters
are named as the table's fields.
"""

from vcd.api import arguments as A
from vcd.faults import invalid
from vcd.api.method import OWNER_VPS, Method, Param
from vcd.vxdb import settings


def nameParam():
    """
    The C{name} parameter every per-VPS method takes.
    """
    return Param("name", A.vpsName(), doc="Unique virtual server name")


def refuseUnenforceable(features, kind, argument, value):
    """
    Raise MEINVAL if this host cannot enforce knob C{value} of C{kind}.
    """
    ok, why = features.support(kind, value)
    if not ok:
        raise invalid(argument, "%s cannot be enforced on this host: %s"
                      % (value, why))


def _requireFields(table, names):
    if tuple(names) != table.fields:
        raise ValueError("parameters %s do not match the fields %s of the"
                         " table described" % (tuple(names), table.fields))


def nameSetMethods(prefix, table, kind, capability, argument, what):
    """
    Declare C{<prefix>.add}, C{.get} and C{.remove} for a set of names.

    @param table: the L{vcd.vxdb.tables.SetTable}.
    @param argument: the name of the argument carrying one name (C{bcap}).
    @param what: what the names are, for the docs.
    """

    def add(call, cursor, args):
        refuseUnenforceable(call.services.features, kind, argument,
                            args[argument])
        settings.addToSet(cursor, table, call.vps.xid, args[argument])

    def get(call, cursor, args):
        return settings.setMembers(cursor, table, call.vps.xid)

    def remove(call, cursor, args):
        settings.removeFromSet(cursor, table, call.vps.xid, args[argument])

    one = Param(argument, A.KnobName(kind), doc=what.capitalize())
    return [
        Method(prefix + ".add", capability, OWNER_VPS, [nameParam(), one],
               "nil", "Add a %s." % (what,), transaction=add),
        Method(prefix + ".get", capability, OWNER_VPS, [nameParam()],
               "array", "Get the configured %ss." % (what,), transaction=get,
               readOnly=True),
        Method(prefix + ".remove", capability, OWNER_VPS, [nameParam(), one],
               "nil", "Remove a %s." % (what,), transaction=remove),
    ]


def keyedMethods(prefix, table, keyType, valueParams, capability, what,
                 check=None, render=None, keyPosition=0):
    """
    Declare C{<prefix>.get}, C{.remove} and C{.set} for rows keyed by
    the table's key (an empty key on get and remove means every row).

    @param table: the L{vcd.vxdb.tables.KeyedTable}; its key names the key
        parameter.
    @param keyType: a function C{allowEmpty -> ArgumentType}.
    @param valueParams: the L{Param}s stored beside the key, in the
        manual's order; their names are the table's other fields.
    @param check: C{check(call, cursor, args)} raising MEINVAL, run before a
        set.
    @param render: C{render(row dict) -> dict} shaping a returned struct.
    @param keyPosition: where the key stands among C{valueParams} in the
        manual's order for C{set}.
    """
    key = table.key
    _requireFields(table, [key] + [p.name for p in valueParams])

    def get(call, cursor, args):
        result = settings.keyedRows(cursor, table, call.vps.xid,
                                    args[key] or None)
        return [render(r) for r in result] if render else result

    def remove(call, cursor, args):
        settings.removeRows(cursor, table, call.vps.xid, args[key] or None)

    def set_(call, cursor, args):
        if check is not None:
            check(call, cursor, args)
        settings.storeRow(cursor, table, call.vps.xid, args)

    setParams = list(valueParams)
    setParams.insert(keyPosition, Param(key, keyType(False), doc=key))
    keyDoc = "%s (empty for all)" % (key,)
    return [
        Method(prefix + ".get", capability, OWNER_VPS,
               [nameParam(), Param(key, keyType(True), "", keyDoc)],
               "array", "Get configured %ss." % (what,), transaction=get,
               readOnly=True),
        Method(prefix + ".remove", capability, OWNER_VPS,
               [nameParam(), Param(key, keyType(True), "", keyDoc)],
               "nil", "Remove configured %ss." % (what,), transaction=remove),
        Method(prefix + ".set", capability, OWNER_VPS,
               [nameParam()] + setParams,
               "nil", "Add or change a %s." % (what,), transaction=set_),
    ]


def singleRowMethods(prefix, table, valueParams, capability, what,
                     check=None, render=None):
    """
    Declare C{<prefix>.get}, C{.remove} and C{.set} for one row per VPS.
    C{get} returns nil when nothing is configured, unless C{render}
    decides otherwise.

    @param table: the L{vcd.vxdb.tables.RowTable}.
    @param valueParams: the L{Param}s stored, named as the table's fields.
    """
    _requireFields(table, [p.name for p in valueParams])

    def get(call, cursor, args):
        result = settings.getRow(cursor, table, call.vps.xid)
        return render(result) if render else result

    def remove(call, cursor, args):
        settings.removeRows(cursor, table, call.vps.xid)

    def set_(call, cursor, args):
        if check is not None:
            check(call, cursor, args)
        settings.storeRow(cursor, table, call.vps.xid, args)

    return [
        Method(prefix + ".get", capability, OWNER_VPS, [nameParam()],
               "struct", "Get the configured %s." % (what,), transaction=get,
               readOnly=True),
        Method(prefix + ".remove", capability, OWNER_VPS, [nameParam()],
               "nil", "Remove the configured %s." % (what,),
               transaction=remove),
        Method(prefix + ".set", capability, OWNER_VPS,
               [nameParam()] + list(valueParams), "nil",
               "Set the %s." % (what,), transaction=set_),
    ]
