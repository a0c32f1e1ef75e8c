# -*- test-case-name: tests.test_vxdb_methods -*-
"""
Which VPSes there are, where they live and who owns them: lookups and
changes of names, context ids, directories and owners, each taking a
cursor inside the caller's transaction.
"""

from collections import namedtuple

from vcd.faults import MEEXIST, MENOVPS, VCDFault

#: A VPS row.
VPS = namedtuple("VPS", "xid name")

#: The context ids VPSes get.
XID_MIN, XID_MAX = 2, 65534


def vpsNames(cursor, owners=()):
    """
    @param owners: uids that must all own a VPS for it to be listed.
    @return: the names of those VPSes (of all, with no C{owners}), sorted.
    """
    condition = ("EXISTS (SELECT 1 FROM xid_uid_map o WHERE o.xid = m.xid"
                 " AND o.uid = ?)")
    query = "SELECT name FROM xid_name_map m"
    if owners:
        query += " WHERE " + " AND ".join([condition] * len(owners))
    return [n for (n,) in cursor.execute(query + " ORDER BY name",
                                         tuple(owners))]


def nameOfXid(cursor, xid):
    """
    @return: the name of the VPS with context id C{xid}, or None.
    """
    row = cursor.execute("SELECT name FROM xid_name_map WHERE xid = ?",
                         (xid,)).fetchone()
    return row[0] if row is not None else None


def addOwner(cursor, xid, uid):
    """
    Make user C{uid} an owner of VPS C{xid} (again is no change).
    """
    cursor.execute("INSERT OR IGNORE INTO xid_uid_map (xid, uid) VALUES"
                   " (?, ?)", (xid, uid))


def ownerNames(cursor, xid):
    """
    @return: the usernames of the owners of VPS C{xid}, sorted.
    """
    return [n for (n,) in cursor.execute(
        "SELECT u.name FROM xid_uid_map o JOIN user u ON o.uid = u.uid"
        " WHERE o.xid = ? ORDER BY u.name", (xid,))]


def removeOwners(cursor, xid, uid=None):
    """
    Remove user C{uid} from the owners of VPS C{xid}, or, with no C{uid},
    every owner.
    """
    if uid is None:
        cursor.execute("DELETE FROM xid_uid_map WHERE xid = ?", (xid,))
    else:
        cursor.execute("DELETE FROM xid_uid_map WHERE xid = ? AND uid = ?",
                       (xid, uid))


def requireNameOfXid(cursor, xid):
    """
    @return: the name of the VPS with context id C{xid}.
    @raise VCDFault: MENOVPS if there is none.
    """
    name = nameOfXid(cursor, xid)
    if name is None:
        raise VCDFault(MENOVPS, "no virtual server has context id %d"
                       % (xid,))
    return name


def countVpses(cursor):
    """
    @return: how many VPSes there are.
    """
    (count,) = cursor.execute("SELECT COUNT(*) FROM xid_name_map").fetchone()
    return count


def renameVps(cursor, xid, newname):
    """
    Call VPS C{xid} C{newname} from now on.

    @raise VCDFault: MEEXIST if a VPS is called C{newname} already.
    """
    if findVps(cursor, newname) is not None:
        raise VCDFault(MEEXIST, "virtual server %r already exists"
                       % (newname,))
    cursor.execute("UPDATE xid_name_map SET name = ? WHERE xid = ?",
                   (newname, xid))


def findVps(cursor, name):
    """
    @return: the L{VPS} called C{name}, or None.
    """
    row = cursor.execute("SELECT xid, name FROM xid_name_map WHERE name = ?",
                         (name,)).fetchone()
    return VPS(*row) if row is not None else None


def noSuchVps(name):
    """
    The fault for a VPS that does not exist, or that the caller may not see.
    """
    return VCDFault(MENOVPS, "virtual server %r does not exist" % (name,))


def isOwner(cursor, xid, uid):
    """
    Whether user C{uid} is listed as an owner of VPS C{xid}.
    """
    return cursor.execute(
        "SELECT 1 FROM xid_uid_map WHERE xid = ? AND uid = ?",
        (xid, uid)).fetchone() is not None


def allocateXid(cursor):
    """
    Allocate a context id as the original did: one above the highest in
    use, or the lowest free one once the top of the range is reached.

    @raise VCDFault: MEEXIST when all of 2..65534 are taken.
    """
    (highest,) = cursor.execute("SELECT MAX(xid) FROM xid_name_map").fetchone()
    if highest is None:
        return XID_MIN
    if highest < XID_MAX:
        return highest + 1
    row = cursor.execute(
        "SELECT a.xid + 1 FROM xid_name_map a WHERE a.xid + 1 <= ? AND"
        " NOT EXISTS (SELECT 1 FROM xid_name_map b WHERE b.xid = a.xid + 1)"
        " ORDER BY a.xid LIMIT 1", (XID_MAX,)).fetchone()
    if row is None:
        (lowest,) = cursor.execute(
            "SELECT MIN(xid) FROM xid_name_map").fetchone()
        if lowest > XID_MIN:
            return XID_MIN
        raise VCDFault(MEEXIST, "every context id from %d to %d is in use"
                       % (XID_MIN, XID_MAX))
    return row[0]
