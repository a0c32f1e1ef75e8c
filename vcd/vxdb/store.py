# -*- test-case-name: tests.test_dispatch_fake,tests.test_permissions -*-
"""
Queries shared by many methods, each taking a cursor inside the caller's
transaction.
"""

from collections import namedtuple

from vcd.faults import MENOUSER, MENOVPS, MEEXIST, VCDFault
from vcd.vxdb.whirlpool import digestsEqual, passwordDigest

#: An authenticated caller.
User = namedtuple("User", "uid name admin caps")

#: A VPS row.
VPS = namedtuple("VPS", "xid name")

XID_MIN, XID_MAX = 2, 65534


#: Compared against when the user does not exist, so that a wrong user
#: costs what a wrong password costs.
_NO_DIGEST = "!" * 128


def checkPassword(row, password):
    """
    Check a password against a user row, in constant time whether or not
    the user exists.

    @param row: C{(uid, name, digest, admin, caps)} or None.
    @return: a L{User} if C{password} matches, else None.
    """
    stored = row[2] if row is not None else _NO_DIGEST
    if not isinstance(password, str):
        return None
    matches = digestsEqual(passwordDigest(password), stored)
    if row is None or not matches or len(stored) != 128:
        return None
    return User(row[0], row[1], bool(row[3]), row[4])


def authenticate(cursor, username, password):
    """
    Check a username and password (clear text or C{WHIRLPOOLENC//}).

    The digest is computed and compared in constant time whether or not the
    user exists, so the answer says nothing about which was wrong.

    @return: a L{User}, or None.
    """
    row = cursor.execute(
        "SELECT uid, name, password, admin FROM user WHERE name = ?",
        (username,)).fetchone()
    if row is not None:
        caps = frozenset(c for (c,) in cursor.execute(
            "SELECT cap FROM user_caps WHERE uid = ?", (row[0],)))
        row = tuple(row) + (caps,)
    return checkPassword(row, password)


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


def requireUser(cursor, username):
    """
    @return: the uid of C{username}.
    @raise VCDFault: MENOUSER if there is no such user.
    """
    row = cursor.execute("SELECT uid FROM user WHERE name = ?",
                         (username,)).fetchone()
    if row is None:
        raise VCDFault(MENOUSER, "user %r does not exist" % (username,))
    return row[0]


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
