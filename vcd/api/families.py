"""
Families of VXDB methods that share one shape, declared once:

  - L{nameSetMethods}: C{add/get/remove} of names in a set (bcaps, ccaps,
    flags);
  - L{keyedMethods}: C{get/remove/set} of rows keyed by one column, where
    an empty key means "all" for get and remove (limits, uname, mounts,
    addresses);
  - L{singleRowMethods}: C{get/remove/set} of one row per VPS (disk limits,
    broadcast, cpuset).
"""

from vcd.api import arguments as A
from vcd.faults import invalid
from vcd.api.method import OWNER_VPS, Method, Param


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


def nameSetMethods(prefix, table, column, kind, capability, argument, what):
    """
    Declare C{<prefix>.add}, C{.get} and C{.remove} for a set of names.

    @param argument: the name of the argument carrying one name (C{bcap}).
    @param what: what the names are, for the docs.
    """

    def add(call, cursor, args):
        refuseUnenforceable(call.services.features, kind, argument,
                            args[argument])
        cursor.execute("INSERT OR IGNORE INTO %s (xid, %s) VALUES (?, ?)"
                       % (table, column), (call.vps.xid, args[argument]))

    def get(call, cursor, args):
        return [value for (value,) in cursor.execute(
            "SELECT %s FROM %s WHERE xid = ? ORDER BY %s"
            % (column, table, column), (call.vps.xid,))]

    def remove(call, cursor, args):
        cursor.execute("DELETE FROM %s WHERE xid = ? AND %s = ?"
                       % (table, column), (call.vps.xid, args[argument]))

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


def keyedMethods(prefix, table, key, keyType, valueParams, capability, what,
                 check=None, render=None, keyColumn=None, keyPosition=0):
    """
    Declare C{<prefix>.get}, C{.remove} and C{.set} for rows keyed by
    C{key} (an empty key on get and remove means every row).

    @param keyType: a function C{allowEmpty -> ArgumentType}.
    @param valueParams: the L{Param}s stored beside the key, in the
        manual's order; their names are the column names.
    @param check: C{check(call, cursor, args)} raising MEINVAL, run before a
        set.
    @param render: C{render(row dict) -> dict} shaping a returned struct.
    @param keyColumn: the table's column for the key, if not C{key}.
    @param keyPosition: where the key stands among C{valueParams} in the
        manual's order for C{set}.
    """
    keyColumn = keyColumn or key
    names = [key] + [p.name for p in valueParams]
    columns = [keyColumn] + [p.name for p in valueParams]

    def where(args):
        if args[key]:
            return " AND %s = ?" % (keyColumn,), (args[key],)
        return "", ()

    def get(call, cursor, args):
        clause, extra = where(args)
        rows = cursor.execute(
            "SELECT %s FROM %s WHERE xid = ?%s ORDER BY %s"
            % (", ".join(columns), table, clause, keyColumn),
            (call.vps.xid,) + extra)
        result = [dict(zip(names, row)) for row in rows]
        return [render(r) for r in result] if render else result

    def remove(call, cursor, args):
        clause, extra = where(args)
        cursor.execute("DELETE FROM %s WHERE xid = ?%s" % (table, clause),
                       (call.vps.xid,) + extra)

    def set_(call, cursor, args):
        if check is not None:
            check(call, cursor, args)
        cursor.execute(
            "INSERT OR REPLACE INTO %s (xid, %s) VALUES (?%s)"
            % (table, ", ".join(columns), ", ?" * len(columns)),
            (call.vps.xid,) + tuple(args[n] for n in names))

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
    """
    columns = [p.name for p in valueParams]

    def get(call, cursor, args):
        row = cursor.execute("SELECT %s FROM %s WHERE xid = ?"
                             % (", ".join(columns), table),
                             (call.vps.xid,)).fetchone()
        result = dict(zip(columns, row)) if row is not None else None
        return render(result) if render else result

    def remove(call, cursor, args):
        cursor.execute("DELETE FROM %s WHERE xid = ?" % (table,),
                       (call.vps.xid,))

    def set_(call, cursor, args):
        if check is not None:
            check(call, cursor, args)
        cursor.execute("INSERT OR REPLACE INTO %s (xid, %s) VALUES (?%s)"
                       % (table, ", ".join(columns), ", ?" * len(columns)),
                       (call.vps.xid,)
                       + tuple(args[c] for c in columns))

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
