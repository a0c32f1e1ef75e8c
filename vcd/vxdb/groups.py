# -*- test-case-name: tests.test_groups -*-
"""
Groups of VPSes and their membership, each function taking a cursor inside
the caller's transaction. The group L{RESERVED_GROUP} is never stored: it
always means every VPS. The groups in L{BUILTIN_GROUPS} are created with
the database.
"""

from vcd.faults import MENOVG, VCDFault
from vcd.vxdb.registry import VPS

#: The name that always means every VPS.
RESERVED_GROUP = "all"

#: Groups the daemon itself relies on.
BUILTIN_GROUPS = ("onboot",)


def requireGroup(cursor, group):
    """
    @return: the gid of C{group}.
    @raise VCDFault: MENOVG if there is no such group.
    """
    row = cursor.execute("SELECT gid FROM groups WHERE name = ?",
                         (group,)).fetchone()
    if row is None:
        raise VCDFault(MENOVG, "group %r does not exist" % (group,))
    return row[0]


def createGroup(cursor, group):
    """
    Create C{group} unless it exists.

    @return: its gid.
    """
    cursor.execute("INSERT OR IGNORE INTO groups (name) VALUES (?)", (group,))
    return requireGroup(cursor, group)


def deleteGroup(cursor, gid):
    """
    Delete group C{gid}; its memberships go with it.
    """
    cursor.execute("DELETE FROM groups WHERE gid = ?", (gid,))


def groupNames(cursor):
    """
    @return: the names of the stored groups, sorted.
    """
    return [name for (name,) in cursor.execute(
        "SELECT name FROM groups ORDER BY name")]


def addMember(cursor, gid, xid):
    """
    Put VPS C{xid} into group C{gid} (nothing if it is in it already).
    """
    cursor.execute("INSERT OR IGNORE INTO xid_gid_map (xid, gid) VALUES"
                   " (?, ?)", (xid, gid))


def removeMember(cursor, gid, xid):
    """
    Take VPS C{xid} out of group C{gid}.
    """
    cursor.execute("DELETE FROM xid_gid_map WHERE xid = ? AND gid = ?",
                   (xid, gid))


def members(cursor, group, ownerUid=None):
    """
    The VPSes of C{group} (L{RESERVED_GROUP}: every VPS), sorted by name.

    @param ownerUid: if not None, only the VPSes this user owns.
    @return: a list of L{VPS} records.
    @raise VCDFault: MENOVG for an unknown group.
    """
    values = []
    if group == RESERVED_GROUP:
        query = "SELECT m.xid, m.name FROM xid_name_map m WHERE 1"
    else:
        query = ("SELECT m.xid, m.name FROM xid_name_map m JOIN xid_gid_map g"
                 " ON g.xid = m.xid WHERE g.gid = ?")
        values.append(requireGroup(cursor, group))
    if ownerUid is not None:
        query += (" AND EXISTS (SELECT 1 FROM xid_uid_map o WHERE"
                  " o.xid = m.xid AND o.uid = ?)")
        values.append(ownerUid)
    return [VPS(*row) for row in cursor.execute(query + " ORDER BY m.name",
                                                 values)]
