# -*- test-case-name: tests.test_vxdb_methods -*-
"""
Reading and writing the per-VPS configuration tables described in
L{vcd.vxdb.tables}, each function taking a cursor inside the caller's
transaction and handing back plain values: lists of names, and records as
dicts keyed by the table's field names.
"""


def addToSet(cursor, table, xid, value):
    """
    Add name C{value} to the set C{table} (a L{vcd.vxdb.tables.SetTable})
    of VPS C{xid}; a name already there stays once.
    """
    cursor.execute("INSERT OR IGNORE INTO %s (xid, %s) VALUES (?, ?)"
                   % (table.name, table.column), (xid, value))


def setMembers(cursor, table, xid):
    """
    @return: the names in the set C{table} of VPS C{xid}, sorted.
    """
    return [value for (value,) in cursor.execute(
        "SELECT %s FROM %s WHERE xid = ? ORDER BY %s"
        % (table.column, table.name, table.column), (xid,))]


def removeFromSet(cursor, table, xid, value):
    """
    Remove name C{value} from the set C{table} of VPS C{xid}, if there;
    C{value} None removes every name.
    """
    if value is None:
        cursor.execute("DELETE FROM %s WHERE xid = ?" % (table.name,),
                       (xid,))
        return
    cursor.execute("DELETE FROM %s WHERE xid = ? AND %s = ?"
                   % (table.name, table.column), (xid, value))


def _keyClause(table, key):
    if key is None:
        return "", ()
    return " AND %s = ?" % (table.keyColumn,), (key,)


def _select(table, clause=""):
    return ("SELECT %s FROM %s WHERE xid = ?%s"
            % (", ".join(table.columns), table.name, clause))


def keyedRows(cursor, table, xid, key=None):
    """
    @param table: a L{vcd.vxdb.tables.KeyedTable}.
    @param key: the key of the one row wanted, or None for every row.
    @return: the records of VPS C{xid}, ordered by key.
    """
    clause, extra = _keyClause(table, key)
    rows = cursor.execute(_select(table, clause) + " ORDER BY %s"
                          % (table.keyColumn,), (xid,) + extra)
    return [dict(zip(table.fields, row)) for row in rows]


def getRow(cursor, table, xid):
    """
    @param table: a L{vcd.vxdb.tables.RowTable}.
    @return: the record of VPS C{xid}, or None if it has none.
    """
    row = cursor.execute(_select(table), (xid,)).fetchone()
    return dict(zip(table.fields, row)) if row is not None else None


def storeRow(cursor, table, xid, record):
    """
    Add or replace a row of VPS C{xid} in C{table} (a
    L{vcd.vxdb.tables.RowTable} or a L{vcd.vxdb.tables.KeyedTable}: the row
    with the same key is replaced).

    @param record: a mapping holding at least the table's fields.
    """
    cursor.execute("INSERT OR REPLACE INTO %s (xid, %s) VALUES (?%s)"
                   % (table.name, ", ".join(table.columns),
                      ", ?" * len(table.columns)),
                   (xid,) + tuple(record[f] for f in table.fields))


def removeRows(cursor, table, xid, key=None):
    """
    Remove rows of VPS C{xid} from C{table}: the row with key C{key} of a
    L{vcd.vxdb.tables.KeyedTable}, or, with no key, all of them.
    """
    clause, extra = _keyClause(table, key)
    cursor.execute("DELETE FROM %s WHERE xid = ?%s" % (table.name, clause),
                   (xid,) + extra)


def addressHolder(cursor, address, exceptXid):
    """
    @param address: an IP address in its canonical text form.
    @return: the name of a VPS other than C{exceptXid} configured with
        C{address}, or None.
    """
    row = cursor.execute(
        "SELECT m.name FROM nx_addr a JOIN xid_name_map m ON a.xid = m.xid"
        " WHERE a.addr = ? AND a.xid != ?", (address, exceptXid)).fetchone()
    return row[0] if row is not None else None
