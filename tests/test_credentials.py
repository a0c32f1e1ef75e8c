"""
Tests for password verifiers (L{vcd.vxdb.credentials}) and their use: what
VXDB keeps, what C{vcd.user.get} answers, and the conversion of an old
VXDB's bare WHIRLPOOL digests at start, over a real connection.
"""

import os
import shutil
import sqlite3
import stat

from twisted.internet import defer
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from tests.harness import ADMIN_PASSWORD, DaemonTestCase, busyboxTemplate
from vcd.config import Configuration
from vcd.faults import MEAUTH
from vcd.vxdb import users
from vcd.vxdb.connection import openVXDB, runTransaction
from vcd.vxdb.credentials import (KEY_FILE, CredentialKey, KeyFileError,
                                  isVerifier, keyPath, loadKey)
from vcd.vxdb.whirlpool import ENCODED_PREFIX, whirlpoolHex

PASSWORD = "bob-password-1"


def storedPasswords(vxdbPath):
    """
    The password column of every user, read straight from the file, as
    whoever copied VXDB would.
    """
    connection = sqlite3.connect(vxdbPath)
    try:
        return dict(connection.execute("SELECT name, password FROM user"))
    finally:
        connection.close()


@defer.inlineCallbacks
def startLogged(case):
    """
    Start the daemon of a L{DaemonTestCase}; fire with the log events of
    its start.
    """
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        yield case.startDaemon()
    finally:
        globalLogPublisher.removeObserver(events.append)
    return events


class CredentialKeyTests(unittest.TestCase):
    """
    L{CredentialKey}: verifiers are salted, keyed, and match only the
    digest they were made of.
    """

    def setUp(self):
        self.key = CredentialKey(b"k" * 32)
        self.digest = whirlpoolHex("a password")

    def test_matches(self):
        verifier = self.key.verifier(self.digest)
        self.assertTrue(isVerifier(verifier))
        self.assertTrue(self.key.matches(verifier, self.digest))
        self.assertTrue(self.key.matches(verifier, self.digest.upper()))
        self.assertFalse(self.key.matches(verifier, whirlpoolHex("other")))

    def test_salted(self):
        first = self.key.verifier(self.digest)
        second = self.key.verifier(self.digest)
        self.assertNotEqual(first, second)
        self.assertNotIn(self.digest, first)

    def test_otherKey(self):
        verifier = self.key.verifier(self.digest)
        other = CredentialKey(b"o" * 32)
        self.assertFalse(other.matches(verifier, self.digest))
        self.assertFalse(other.madeWithThisKey(verifier))
        self.assertTrue(self.key.madeWithThisKey(verifier))

    def test_neverABareDigestOrLockedOrGarbage(self):
        for stored in (self.digest, "!", "", "hmac-sha256$$$",
                       "hmac-sha256$%s$zz$zz" % (self.key.keyId,),
                       self.key.verifier(self.digest)[:-2]):
            self.assertFalse(self.key.matches(stored, self.digest), stored)

    def test_setPasswordRefusesBareDigest(self):
        """
        Nothing stores a bare digest by mistake: it would be a credential.
        """
        connection = openVXDB(os.path.join(self.mktemp(), "vxdb"))
        self.addCleanup(connection.close)
        with self.assertRaises(ValueError):
            runTransaction(connection, users.setPassword, "admin",
                           self.digest)
        self.assertTrue(runTransaction(connection, users.setPassword,
                                       "admin", self.key.verifier(
                                           self.digest)))


class KeyFileTests(unittest.TestCase):
    """
    L{loadKey}: the key file beside VXDB.
    """

    def setUp(self):
        self.vxdbPath = os.path.join(os.path.abspath(self.mktemp()), "vxdb")

    def test_createdOnceMode0600(self):
        key = loadKey(self.vxdbPath)
        path = keyPath(self.vxdbPath)
        self.assertEqual(path, os.path.join(os.path.dirname(self.vxdbPath),
                                            KEY_FILE))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        digest = whirlpoolHex("x")
        again = loadKey(self.vxdbPath)
        self.assertTrue(again.matches(key.verifier(digest), digest))
        self.assertEqual(os.listdir(os.path.dirname(path)), [KEY_FILE])

    def test_readableKeyMadePrivate(self):
        loadKey(self.vxdbPath)
        os.chmod(keyPath(self.vxdbPath), 0o644)
        loadKey(self.vxdbPath)
        self.assertEqual(stat.S_IMODE(os.stat(keyPath(
            self.vxdbPath)).st_mode), 0o600)

    def test_malformed(self):
        os.makedirs(os.path.dirname(self.vxdbPath))
        with open(keyPath(self.vxdbPath), "w") as f:
            f.write("not a key\n")
        with self.assertRaises(KeyFileError) as caught:
            loadKey(self.vxdbPath)
        self.assertIn(keyPath(self.vxdbPath), str(caught.exception))


class StoredCredentialTests(DaemonTestCase):
    """
    Neither what VXDB stores nor what C{vcd.user.get} answers logs in; the
    WHIRLPOOL digest of the password does, as the manual allows.
    """

    @defer.inlineCallbacks
    def assertRefused(self, username, value):
        for password in (ENCODED_PREFIX + value, value):
            yield self.assertFault(MEAUTH, self.client(
                username, password).call("vcd.login"))

    @defer.inlineCallbacks
    def test_storedValueRefused(self):
        yield self.makeUser("bob", PASSWORD)
        stored = storedPasswords(self.config.vxdbPath)
        for username in ("admin", "bob", "vshelper"):
            self.assertTrue(isVerifier(stored[username]), username)
            yield self.assertRefused(username, stored[username])

    @defer.inlineCallbacks
    def test_userGetAnswerRefused(self):
        yield self.makeUser("bob", PASSWORD)
        answers = yield self.admin.call("vcd.user.get", username="")
        self.assertEqual(len(answers), 3)
        for user in answers:
            self.assertNotIn(whirlpoolHex(ADMIN_PASSWORD), user["password"])
            self.assertNotIn(whirlpoolHex(PASSWORD), user["password"])
            yield self.assertRefused(user["username"], user["password"])

    @defer.inlineCallbacks
    def test_whirlpoolDigestAccepted(self):
        yield self.makeUser("bob", PASSWORD)
        for digest in (whirlpoolHex(PASSWORD), whirlpoolHex(PASSWORD)
                       .upper()):
            result = yield self.client("bob", ENCODED_PREFIX + digest).call(
                "vcd.login")
            self.assertIsNone(result)
        yield self.assertFault(MEAUTH, self.client(
            "bob", ENCODED_PREFIX + whirlpoolHex(PASSWORD + "x")).call(
                "vcd.login"))

    @defer.inlineCallbacks
    def test_rememberedLoginForgottenOnChange(self):
        """
        A password verified once (and remembered for the next calls) stops
        working as soon as it is changed, or its user removed.
        """
        bob = yield self.makeUser("bob", PASSWORD)
        for _ in range(3):
            self.assertIsNone((yield bob.call("vcd.login")))
        yield self.admin.call("vcd.user.set", username="bob",
                              password=PASSWORD + "-new")
        yield self.assertFault(MEAUTH, bob.call("vcd.login"))
        newBob = self.client("bob", PASSWORD + "-new")
        self.assertIsNone((yield newBob.call("vcd.login")))
        self.assertIsNone((yield newBob.call("vcd.login")))
        yield self.admin.call("vcd.user.remove", username="bob")
        yield self.assertFault(MEAUTH, newBob.call("vcd.login"))

    def test_keyFileOutsideVXDB(self):
        path = keyPath(self.config.vxdbPath)
        self.assertEqual(os.path.dirname(path), self.config.datadir)
        self.assertNotEqual(path, self.config.vxdbPath)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(os.stat(path).st_uid, 0)
        with open(path) as f:
            key = f.read().strip()
        for name in os.listdir(self.config.datadir):
            if name.startswith("vxdb"):
                with open(os.path.join(self.config.datadir, name), "rb") as f:
                    content = f.read()
                self.assertNotIn(key.encode(), content, name)
                self.assertNotIn(bytes.fromhex(key), content, name)

    @defer.inlineCallbacks
    def test_copiedVXDBLogsNobodyIn(self):
        """
        A copy of VXDB served by a daemon with another key (which is all a
        thief has) logs nobody in, with the password itself or with
        anything VXDB holds.
        """
        yield self.makeUser("bob", PASSWORD)
        yield self.stopDaemon()
        stored = storedPasswords(self.config.vxdbPath)
        elsewhere = os.path.join(self.base, "thief")
        os.makedirs(elsewhere)
        shutil.copy(self.config.vxdbPath, os.path.join(elsewhere, "vxdb"))
        self.config.datadir = elsewhere
        self.config.vxdbPath = os.path.join(elsewhere, "vxdb")
        events = yield startLogged(self)
        for username, password in (("admin", ADMIN_PASSWORD),
                                   ("bob", PASSWORD)):
            yield self.assertFault(MEAUTH, self.client(
                username, password).call("vcd.login"))
            yield self.assertRefused(username, stored[username])
        self.assertTrue([e for e in events if "another key" in
                         e.get("log_format", "") and "bob" in
                         e.get("names", "")], events)


class MigrationTests(DaemonTestCase):
    """
    A VXDB as vcd kept it before verifiers, with bare WHIRLPOOL digests, is
    converted at start; its users log in with their old passwords.
    """

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the end-to-end tests need root")
        self.base = os.path.abspath(self.mktemp())
        os.makedirs(self.base)
        self.config = Configuration(
            listen=[], datadir=os.path.join(self.base, "data"),
            vbasedir=os.path.join(self.base, "vservers"))
        busyboxTemplate(self.config.templatedir)
        # The schema is the same; the old vcd stored bare digests, as this
        # SQL of its users.setPassword and addUser did.
        connection = openVXDB(self.config.vxdbPath)
        connection.execute("UPDATE user SET password = ? WHERE name = ?",
                           (whirlpoolHex(ADMIN_PASSWORD), "admin"))
        connection.execute("INSERT INTO user (name, password, admin) VALUES"
                           " (?, ?, ?)", ("bob", whirlpoolHex(PASSWORD), 0))
        connection.close()
        self.assertFalse(os.path.exists(keyPath(self.config.vxdbPath)))
        d = startLogged(self)
        return d.addCallback(lambda events: setattr(self, "events", events))

    @defer.inlineCallbacks
    def test_oldPasswordsLogIn(self):
        self.assertIsNone((yield self.admin.call("vcd.login")))
        self.assertIsNone((yield self.client("bob", PASSWORD).call(
            "vcd.login")))
        self.assertIsNone((yield self.client(
            "bob", ENCODED_PREFIX + whirlpoolHex(PASSWORD)).call(
                "vcd.login")))

    @defer.inlineCallbacks
    def test_convertedAndLogged(self):
        stored = storedPasswords(self.config.vxdbPath)
        for username in ("admin", "bob"):
            self.assertTrue(isVerifier(stored[username]), username)
        self.assertNotIn(whirlpoolHex(PASSWORD), stored["bob"])
        converted = [e for e in self.events
                     if "salted verifiers" in e.get("log_format", "")]
        self.assertEqual(len(converted), 1, self.events)
        self.assertEqual(converted[0]["names"], "admin, bob")
        # The stored verifier, now, is refused.
        yield self.assertFault(MEAUTH, self.client(
            "bob", ENCODED_PREFIX + stored["bob"]).call("vcd.login"))

    @defer.inlineCallbacks
    def test_secondStartConvertsNothing(self):
        yield self.stopDaemon()
        before = storedPasswords(self.config.vxdbPath)
        events = yield startLogged(self)
        after = storedPasswords(self.config.vxdbPath)
        self.assertEqual(after["bob"], before["bob"])
        self.assertEqual([e for e in events if "salted verifiers" in
                          e.get("log_format", "")], [])
        self.assertIsNone((yield self.client("bob", PASSWORD).call(
            "vcd.login")))
