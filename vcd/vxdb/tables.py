# -*- test-case-name: tests.test_vxdb_methods -*-
"""
Declared descriptions of the per-VPS configuration tables, for
L{vcd.vxdb.settings} to read and write. Three shapes:

  - L{SetTable}: a set of names per VPS (bcaps, ccaps, flags);
  - L{KeyedTable}: rows per VPS keyed by one field (limits, uname, mounts,
    addresses, scheduler buckets);
  - L{RowTable}: at most one row per VPS (disk limit, broadcast, CPU set,
    init method).

Records going in and out are keyed by field names, which are the
manual's names; the table and column names stay here.
"""


class SetTable:
    """
    A set of names per VPS.

    @ivar name: the table.
    @ivar column: the column holding a name.
    """

    def __init__(self, name, column):
        self.name = name
        self.column = column


class RowTable:
    """
    At most one row per VPS.

    @ivar name: the table.
    @ivar fields: the record's field names, in order.
    @ivar columns: the column of each field, in the same order.
    """

    def __init__(self, name, fields):
        self.name = name
        self.fields = tuple(fields)
        self.columns = self.fields


class KeyedTable(RowTable):
    """
    Rows per VPS, keyed by one field.

    @ivar key: the field naming a row.
    @ivar values: the other fields, in order.
    @ivar keyColumn: the column of the key.
    """

    def __init__(self, name, key, values, keyColumn=None):
        RowTable.__init__(self, name, (key,) + tuple(values))
        self.key = key
        self.values = tuple(values)
        self.keyColumn = keyColumn or key
        self.columns = (self.keyColumn,) + self.values


BCAPS = SetTable("vx_bcaps", "bcap")
CCAPS = SetTable("vx_ccaps", "ccap")
FLAGS = SetTable("vx_flags", "flag")

LIMITS = KeyedTable("vx_limit", "limit", ("soft", "max"), keyColumn="type")
UNAME = KeyedTable("vx_uname", "uname", ("value",))
MOUNTS = KeyedTable("mount", "dst", ("src", "type", "opts"))
ADDRESSES = KeyedTable("nx_addr", "addr", ("netmask",))
SCHED = KeyedTable("vx_sched", "cpuid", ("interval", "fillrate", "interval2",
                                         "fillrate2", "tokensmin",
                                         "tokensmax"))

DISK_LIMIT = RowTable("dx_limit", ("space", "inodes", "reserved"))
BROADCAST = RowTable("nx_broadcast", ("broadcast",))
CPUSET = RowTable("vx_cpuset", ("cpus", "mems", "virtualize"))
INIT_METHOD = RowTable("init_method", ("init", "halt", "reboot", "timeout"))
