# -*- test-case-name: tests.test_daemon_methods -*-
"""
Users, their passwords and their daemon capabilities, and authentication,
each function taking a cursor inside the caller's transaction. Passwords
are stored as the digests L{vcd.vxdb.whirlpool} computes; callers hand
digests in.
"""

from collections import namedtuple

from vcd.faults import MENOUSER, VCDFault
from vcd.vxdb.whirlpool import digestsEqual, passwordDigest

#: An authenticated caller.
User = namedtuple("User", "uid name admin caps")

#: Compared against when the user does not exist, so that a wrong user
#: costs what a wrong password costs.
_NO_DIGEST = "!" * 128

#: A user row.
UserRecord = namedtuple("UserRecord", "uid name password admin")


def _record(row):
    uid, name, password, admin = row
    return UserRecord(uid, name, password, bool(admin))


def findUid(cursor, username):
    """
    @return: the uid of C{username}, or None if there is no such user.
    """
    row = cursor.execute("SELECT uid FROM user WHERE name = ?",
                         (username,)).fetchone()
    return row[0] if row is not None else None


def getUser(cursor, uid):
    """
    @return: the L{UserRecord} of user C{uid}, or None.
    """
    row = cursor.execute(
        "SELECT uid, name, password, admin FROM user WHERE uid = ?",
        (uid,)).fetchone()
    return _record(row) if row is not None else None


def listUsers(cursor):
    """
    @return: every user as a L{UserRecord}, ordered by name.
    """
    return [_record(row) for row in cursor.execute(
        "SELECT uid, name, password, admin FROM user ORDER BY name")]


def countUsers(cursor):
    """
    @return: how many users there are.
    """
    (count,) = cursor.execute("SELECT COUNT(*) FROM user").fetchone()
    return count


def addUser(cursor, username, digest, admin):
    """
    Add a user with password digest C{digest}.

    @return: the new user's uid.
    """
    cursor.execute("INSERT INTO user (name, password, admin) VALUES"
                   " (?, ?, ?)", (username, digest, int(bool(admin))))
    return cursor.lastrowid


def setPassword(cursor, username, digest):
    """
    Set the password digest of C{username}.

    @return: whether there was such a user.
    """
    cursor.execute("UPDATE user SET password = ? WHERE name = ?",
                   (digest, username))
    return cursor.rowcount > 0


def setAdmin(cursor, uid, admin):
    """
    Set or clear the administrator flag of user C{uid}.
    """
    cursor.execute("UPDATE user SET admin = ? WHERE uid = ?",
                   (int(bool(admin)), uid))


def removeUser(cursor, uid):
    """
    Remove user C{uid}; its capabilities and ownerships go with it.
    """
    cursor.execute("DELETE FROM user WHERE uid = ?", (uid,))


def grantCap(cursor, uid, cap):
    """
    Give user C{uid} capability C{cap} (nothing if it has it already).
    """
    cursor.execute("INSERT OR IGNORE INTO user_caps (uid, cap) VALUES (?, ?)",
                   (uid, cap))


def userCaps(cursor, uid):
    """
    @return: the capabilities of user C{uid}, as a frozenset.
    """
    return frozenset(cap for (cap,) in cursor.execute(
        "SELECT cap FROM user_caps WHERE uid = ?", (uid,)))


def revokeCap(cursor, uid, cap, keep=()):
    """
    Take capability C{cap} from user C{uid} (nothing if it lacks it);
    C{cap} None takes every capability but those in C{keep}.
    """
    if cap is None:
        keep = sorted(keep)
        cursor.execute("DELETE FROM user_caps WHERE uid = ?%s" % (
            " AND cap NOT IN (%s)" % (", ".join("?" * len(keep)),)
            if keep else "",), (uid,) + tuple(keep))
        return
    cursor.execute("DELETE FROM user_caps WHERE uid = ? AND cap = ?",
                   (uid, cap))


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
        row = tuple(row) + (userCaps(cursor, row[0]),)
    return checkPassword(row, password)


def requireUser(cursor, username):
    """
    @return: the uid of C{username}.
    @raise VCDFault: MENOUSER if there is no such user.
    """
    uid = findUid(cursor, username)
    if uid is None:
        raise VCDFault(MENOUSER, "user %r does not exist" % (username,))
    return uid
