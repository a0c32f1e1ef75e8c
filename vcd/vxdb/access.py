# -*- test-case-name: tests.test_dispatch_fake,tests.test_permissions -*-
"""
What every call's checks read: users with their password verifiers and
capabilities,
VPS names and ownerships. Two views of it with one interface:
L{QueryAccess} asks SQL inside the caller's transaction; L{AccessSnapshot}
is an in-memory copy for the read-only connection, rebuilt whenever
C{PRAGMA data_version} says another connection (the daemon's writer, or
vxpasswd) committed a change.
"""

import hashlib
import hmac
import secrets

from vcd.vxdb import registry, users

#: Keys this process's fingerprints of verified passwords (see
#: L{AccessSnapshot.authenticate}); never stored.
_FINGERPRINT_KEY = secrets.token_bytes(32)


def _fingerprint(password):
    return hashlib.blake2b(password.encode("utf-8", "surrogatepass"),
                           key=_FINGERPRINT_KEY, digest_size=32).digest()

class QueryAccess:
    """
    The checks' reads, done with SQL on a cursor.

    @ivar key: the L{vcd.vxdb.credentials.CredentialKey} passwords are
        checked with.
    """

    def __init__(self, cursor, key):
        self.cursor = cursor
        self.key = key

    def authenticate(self, username, password):
        """
        @return: the L{users.User}, or None (unknown user or wrong
            password alike).
        """
        return users.authenticate(self.cursor, username, password,
                                  self.key)

    def findVps(self, name):
        """
        @return: the L{registry.VPS} called C{name}, or None.
        """
        return registry.findVps(self.cursor, name)

    def isOwner(self, xid, uid):
        """
        @return: whether user C{uid} owns VPS C{xid}.
        """
        return registry.isOwner(self.cursor, xid, uid)


class AccessSnapshot:
    """
    The checks' reads from an in-memory copy of the tables.

    It remembers, per username, a fingerprint of the password last
    verified for it (keyed with a secret of this process's, so it is no
    credential and cannot be tested offline), so that a client calling
    again costs one keyed hash rather than WHIRLPOOL and the verifier's
    HMAC. A new snapshot, made after any change to the users, starts
    with none.
    """

    #: The most usernames whose verified password is remembered.
    MAX_VERIFIED = 10000

    def __init__(self, cursor, key):
        self.key = key
        self._verified = {}
        caps = {}
        for uid, cap in cursor.execute("SELECT uid, cap FROM user_caps"):
            caps.setdefault(uid, set()).add(cap)
        self.users = {
            name: (uid, name, verifier, admin,
                   frozenset(caps.get(uid, ())))
            for uid, name, verifier, admin in cursor.execute(
                "SELECT uid, name, password, admin FROM user")}
        self.vpses = {name: registry.VPS(xid, name) for xid, name in
                      cursor.execute("SELECT xid, name FROM xid_name_map")}
        self.owners = set(cursor.execute(
            "SELECT xid, uid FROM xid_uid_map"))

    def authenticate(self, username, password):
        """
        See L{QueryAccess.authenticate}.
        """
        row = self.users.get(username)
        if row is not None and isinstance(password, str):
            known = self._verified.get(username)
            if known is not None and hmac.compare_digest(
                    known, _fingerprint(password)):
                return users.userOf(row)
        user = users.checkPassword(row, password, self.key)
        if user is not None and len(self._verified) < self.MAX_VERIFIED:
            self._verified[username] = _fingerprint(password)
        return user

    def findVps(self, name):
        """
        See L{QueryAccess.findVps}.
        """
        return self.vpses.get(name)

    def isOwner(self, xid, uid):
        """
        See L{QueryAccess.isOwner}.
        """
        return (xid, uid) in self.owners


class SnapshotCache:
    """
    Keeps an L{AccessSnapshot} of one connection's view up to date: copied
    anew after every write transaction of the daemon's (their generation
    changes), and after a write by another process (vxpasswd), which
    C{PRAGMA data_version} reveals; that is asked at most every
    L{EXTERNAL_CHECK} seconds.

    @ivar key: the L{vcd.vxdb.credentials.CredentialKey} the snapshots
        check passwords with.
    """

    #: How stale the snapshot may be towards writes of other processes.
    EXTERNAL_CHECK = 1.0

    def __init__(self, key):
        self.key = key
        self._version = None
        self._generation = None
        self._checked = None
        self._snapshot = None

    def current(self, cursor, generation=None, now=None):
        """
        @param generation: the count of the daemon's own write
            transactions.
        @param now: the time, in seconds (None: always ask the database).
        @return: the snapshot, copied anew if the database changed.
        """
        if (self._snapshot is not None and generation == self._generation
                and now is not None and self._checked is not None
                and 0 <= now - self._checked < self.EXTERNAL_CHECK):
            return self._snapshot
        (version,) = cursor.execute("PRAGMA data_version").fetchone()
        self._checked = now
        if (version != self._version or generation != self._generation
                or self._snapshot is None):
            connection = cursor.connection
            ownTransaction = not connection.in_transaction
            if ownTransaction:
                connection.execute("BEGIN")
            try:
                # Read the version again inside the transaction: the copy
                # is of exactly that version.
                (version,) = cursor.execute(
                    "PRAGMA data_version").fetchone()
                snapshot = AccessSnapshot(cursor, self.key)
            finally:
                if ownTransaction:
                    connection.execute("COMMIT")
            self._snapshot, self._version = snapshot, version
            self._generation = generation
        return self._snapshot
