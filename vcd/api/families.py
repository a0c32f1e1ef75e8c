# -*- test-case-name: tests.test_vxdb_methods,tests.test_original_forms -*-
"""
Families of VXDB methods that share one shape, declared once:

  - L{nameSetMethods}: C{add/get/remove} of names in a set (bcaps, ccaps,
    flags), where an empty name on remove means "all", as the original's
    clients sent it;
  - L{keyedMethods}: C{get/remove/set} of rows keyed by one field, where
    an empty key means "all" for get and remove (limits, uname, mounts,
    addresses), the key member optionally also accepted under the
    original's name (C{type}) and returned under both;
  - L{singleRowMethods}: C{get/remove/set} of one row per VPS (disk limits,
    broadcast, cpuset), C{get} answering the empty values when nothing is
    set.

Each family takes the table's description from L{vcd.vxdb.tables} and
reads and writes it through L{vcd.vxdb.settings}; the declared parameters
are named as the table's fields.
"""

import copy

from zope.interface import implementer

from vcd.api import arguments as A
from vcd.faults import invalid
from vcd.api.interfaces import ILiveChange
from vcd.api.method import NEXT_START, OWNER_VPS, Method, Param
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


@implementer(ILiveChange)
class AtNextStart:
    """
    A knob that never reaches a running VPS: it applies at the next start.
    """

    def __init__(self, why="it is read when the virtual server starts"):
        self.why = why
        self.doc = "Applies at the next start: %s." % (why,)

    def __call__(self, call, args):
        return "%s (%s)" % (NEXT_START, self.why)


def nameSetMethods(prefix, table, kind, capability, argument, what,
                   check=None, live=None):
    """
    Declare C{<prefix>.add}, C{.get} and C{.remove} for a set of names.

    @param table: the L{vcd.vxdb.tables.SetTable}.
    @param argument: the name of the argument carrying one name (C{bcap}).
    @param what: what the names are, for the docs.
    @param check: C{check(call, cursor, name)} raising a fault, run before
        an add of a name this host can enforce.
    @param live: the L{ILiveChange} of an add or remove (default:
        L{AtNextStart}).
    """
    live = live or AtNextStart()

    def add(call, cursor, args):
        refuseUnenforceable(call.services.features, kind, argument,
                            args[argument])
        if check is not None:
            check(call, cursor, args[argument])
        settings.addToSet(cursor, table, call.vps.xid, args[argument])

    def get(call, cursor, args):
        return settings.setMembers(cursor, table, call.vps.xid)

    def remove(call, cursor, args):
        settings.removeFromSet(cursor, table, call.vps.xid,
                               args[argument] or None)

    one = Param(argument, A.KnobName(kind), doc=what.capitalize())
    oneOrAll = Param(argument, A.KnobName(kind, allowEmpty=True),
                     doc="%s (empty for all, as the original's clients"
                     " sent it)" % (what.capitalize(),))
    return [
        Method(prefix + ".add", capability, OWNER_VPS, [nameParam(), one],
               "nil", "Add a %s." % (what,), transaction=add, live=live),
        Method(prefix + ".get", capability, OWNER_VPS, [nameParam()],
               "array", "Get the configured %ss." % (what,), transaction=get,
               readOnly=True),
        Method(prefix + ".remove", capability, OWNER_VPS,
               [nameParam(), oneOrAll], "nil",
               "Remove a %s, or all of them." % (what,), transaction=remove,
               live=live),
    ]


def keyedMethods(prefix, table, keyType, valueParams, capability, what,
                 check=None, render=None, keyPosition=0, keyAlias=None,
                 live=None):
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
    @param keyAlias: another member name accepted for the key (the
        original's C{type}); C{get} then returns the key under both names.
    @param live: the L{ILiveChange} of a set or remove (default:
        L{AtNextStart}).
    @param returns: the XML-RPC type C{get} answers (what C{render}
        makes).
    """
    live = live or AtNextStart()
    key = table.key
    _requireFields(table, [key] + [p.name for p in valueParams])
    aliases = {keyAlias: key} if keyAlias else None

    def get(call, cursor, args):
        result = settings.keyedRows(cursor, table, call.vps.xid,
                                    args[key] or None)
        if render:
            result = [render(r) for r in result]
        if keyAlias:
            result = [dict(r, **{keyAlias: r[key]}) for r in result]
        return result

    def remove(call, cursor, args):
        settings.removeRows(cursor, table, call.vps.xid, args[key] or None)

    def set_(call, cursor, args):
        if check is not None:
            check(call, cursor, args)
        settings.storeRow(cursor, table, call.vps.xid, args)

    setParams = list(valueParams)
    setParams.insert(keyPosition, Param(key, keyType(False), doc=key))
    keyDoc = "%s (empty for all)" % (key,)
    getDoc = "Get configured %ss." % (what,)
    if keyAlias:
        getDoc += " Each struct carries the key as %s and as %s." % (
            key, keyAlias)
    return [
        Method(prefix + ".get", capability, OWNER_VPS,
               [nameParam(), Param(key, keyType(True), "", keyDoc)],
               "array", getDoc, transaction=get, readOnly=True,
               aliases=aliases),
        Method(prefix + ".remove", capability, OWNER_VPS,
               [nameParam(), Param(key, keyType(True), "", keyDoc)],
               "nil", "Remove configured %ss." % (what,), transaction=remove,
               aliases=aliases, live=live),
        Method(prefix + ".set", capability, OWNER_VPS,
               [nameParam()] + setParams,
               "nil", "Add or change a %s." % (what,), transaction=set_,
               aliases=aliases, live=live),
    ]


def singleRowMethods(prefix, table, valueParams, capability, what,
                     empty, check=None, render=None, live=None,
                     returns="struct"):
    """
    Declare C{<prefix>.get}, C{.remove} and C{.set} for one row per VPS.

    @param table: the L{vcd.vxdb.tables.RowTable}.
    @param valueParams: the L{Param}s stored, named as the table's fields.
    @param empty: what C{get} returns when nothing is configured (the
        manual promises the result's type whatever is stored; the
        original answered its empty values).
    @param render: C{render(row dict)} shaping a stored row for C{get}.
    @param live: the L{ILiveChange} of a set or remove (default:
        L{AtNextStart}).
    @param returns: the XML-RPC type C{get} answers (what C{render}
        makes).
    """
    live = live or AtNextStart()
    _requireFields(table, [p.name for p in valueParams])

    def get(call, cursor, args):
        result = settings.getRow(cursor, table, call.vps.xid)
        if result is None:
            return copy.deepcopy(empty)
        return render(result) if render else result

    def remove(call, cursor, args):
        settings.removeRows(cursor, table, call.vps.xid)

    def set_(call, cursor, args):
        if check is not None:
            check(call, cursor, args)
        settings.storeRow(cursor, table, call.vps.xid, args)

    return [
        Method(prefix + ".get", capability, OWNER_VPS, [nameParam()],
               returns, "Get the configured %s." % (what,), transaction=get,
               readOnly=True),
        Method(prefix + ".remove", capability, OWNER_VPS, [nameParam()],
               "nil", "Remove the configured %s." % (what,),
               transaction=remove, live=live),
        Method(prefix + ".set", capability, OWNER_VPS,
               [nameParam()] + list(valueParams), "nil",
               "Set the %s." % (what,), transaction=set_, live=live),
    ]
