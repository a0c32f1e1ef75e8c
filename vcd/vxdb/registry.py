# -*- test-case-name: tests.test_vxdb_methods -*-
"""
Which VPSes there are, where they live and who owns them: lookups and
changes of names, context ids, directories and owners, each taking a
cursor inside the caller's transaction.
"""


def findUid(cursor, username):
    """
    @return: the uid of user C{username}, or None if there is none.
    """
    row = cursor.execute("SELECT uid FROM user WHERE name = ?",
                         (username,)).fetchone()
    return row[0] if row is not None else None


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


def vdirOf(cursor, xid):
    """
    @return: the directory of VPS C{xid}, or None if it has no root record.
    """
    row = cursor.execute("SELECT vdir FROM vps_root WHERE xid = ?",
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
