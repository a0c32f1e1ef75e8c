# -*- test-case-name: tests.test_daemon_methods -*-
"""
Users, their passwords and their daemon capabilities, and authentication,
each function taking a cursor inside the caller's transaction. Passwords
are stored as verifiers (L{vcd.vxdb.credentials}) of the digests
L{vcd.vxdb.whirlpool} computes; callers hand verifiers in.
"""

from collections import namedtuple

from vcd.faults import MENOUSER, VCDFault
from vcd.vxdb.credentials import isBareDigest, isVerifier
from vcd.vxdb.schema import LOCKED_PASSWORD
from vcd.vxdb.whirlpool import passwordDigest

#: An authenticated caller.
User = namedtuple("User", "uid name admin caps")

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


def _storable(verifier):
    """
    Refuse to store anything but a verifier or the locked password: a bare
    digest in VXDB would be a credential again.
    """
    if not (verifier == LOCKED_PASSWORD or isVerifier(verifier)):
        raise ValueError("VXDB stores password verifiers"
                         " (CredentialKey.verifier), not %r..."
                         % (verifier[:8],))
    return verifier


def addUser(cursor, username, verifier, admin):
    """
    Add a user whose password has the verifier C{verifier} (see
    L{vcd.vxdb.credentials.CredentialKey.verifier}).

    @return: the new user's uid.
    """
    cursor.execute("INSERT INTO user (name, password, admin) VALUES"
                   " (?, ?, ?)", (username, _storable(verifier),
                                  int(bool(admin))))
    return cursor.lastrowid


def setPassword(cursor, username, verifier):
    """
    Set the password verifier of C{username} (see
    L{vcd.vxdb.credentials.CredentialKey.verifier}).

    @return: whether there was such a user.
    """
    cursor.execute("UPDATE user SET password = ? WHERE name = ?",
                   (_storable(verifier), username))
    return cursor.rowcount > 0


def upgradeDigests(cursor, key):
    """
    Turn every bare WHIRLPOOL digest VXDB still holds (from before
    verifiers, or written by an older vxpasswd) into a verifier of C{key}.

    @return: C{(converted, foreign)}: the names of the users converted,
        and of those whose verifier was made with another key (they
        cannot log in until their password is set again).
    """
    converted, foreign = [], []
    for uid, name, stored in cursor.execute(
            "SELECT uid, name, password FROM user ORDER BY name").fetchall():
        if isBareDigest(stored):
            cursor.execute("UPDATE user SET password = ? WHERE uid = ?",
                           (key.verifier(stored), uid))
            converted.append(name)
        elif isVerifier(stored) and not key.madeWithThisKey(stored):
            foreign.append(name)
    return converted, foreign


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


def checkPassword(row, password, key):
    """
    Check a password against a user row, in constant time whether or not
    the user exists.

    @param row: C{(uid, name, verifier, admin, caps)} or None.
    @param key: the L{vcd.vxdb.credentials.CredentialKey}.
    @return: a L{User} if C{password} matches, else None.
    """
    stored = row[2] if row is not None else LOCKED_PASSWORD
    if not isinstance(password, str):
        return None
    matches = key.matches(stored, passwordDigest(password))
    if row is None or not matches:
        return None
    return userOf(row)


def userOf(row):
    """
    @param row: C{(uid, name, verifier, admin, caps)}.
    @return: the L{User} of a user row whose password was verified.
    """
    return User(row[0], row[1], bool(row[3]), row[4])


def authenticate(cursor, username, password, key):
    """
    Check a username and password (clear text or C{WHIRLPOOLENC//} and the
    WHIRLPOOL digest) against the user's verifier made with C{key}.

    The verifier is computed and compared in constant time whether or not
    the user exists, so the answer says nothing about which was wrong.

    @return: a L{User}, or None.
    """
    row = cursor.execute(
        "SELECT uid, name, password, admin FROM user WHERE name = ?",
        (username,)).fetchone()
    if row is not None:
        row = tuple(row) + (userCaps(cursor, row[0]),)
    return checkPassword(row, password, key)


def requireUser(cursor, username):
    """
    @return: the uid of C{username}.
    @raise VCDFault: MENOUSER if there is no such user.
    """
    uid = findUid(cursor, username)
    if uid is None:
        raise VCDFault(MENOUSER, "user %r does not exist" % (username,))
    return uid
