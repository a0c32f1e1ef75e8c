# -*- test-case-name: tests.test_credentials -*-
"""
Password verifiers: what VXDB keeps of a password in place of its WHIRLPOOL
digest, and the secret key they are made with.

A verifier is C{hmac-sha256$<key id>$<salt>$<mac>}: the HMAC-SHA256, keyed
with a secret of the daemon's, of a random per-user salt followed by the
password's WHIRLPOOL digest in hex (the form the manual lets a client send
as C{WHIRLPOOLENC//<digest>}). The key lives in a file of its own (mode
0600) in the daemon's data directory, beside VXDB and never in it: a copy of
VXDB, or the verifier C{vcd.user.get} shows, logs nobody in, and without the
key it cannot even be tested against guessed passwords.
"""

import functools
import hashlib
import hmac
import os
import re
import secrets

#: The key file's name, in the directory of the VXDB file (the datadir).
KEY_FILE = "credentials.key"

#: The first field of every verifier.
SCHEME = "hmac-sha256"

_SALT_BYTES = 16
_KEY_BYTES = 32

#: A digest as VXDB stored it before verifiers: 128 hex characters.
_BARE_DIGEST = re.compile(r"[0-9a-fA-F]{128}")


class KeyFileError(Exception):
    """
    The key file exists but cannot be used; the message says why.
    """


def isVerifier(stored):
    """
    @return: whether C{stored} (a VXDB password column) is a verifier.
    """
    return stored.startswith(SCHEME + "$")


def isBareDigest(stored):
    """
    @return: whether C{stored} is a WHIRLPOOL digest as VXDB kept them
        before verifiers (to be converted, see
        L{vcd.vxdb.users.upgradeDigests}).
    """
    return _BARE_DIGEST.fullmatch(stored) is not None


class CredentialKey:
    """
    The secret key verifiers are made and checked with.

    @ivar keyId: 8 hex characters naming the key (a hash of it, which says
        nothing about it), kept in each verifier so that a verifier of
        another key is recognised.
    """

    def __init__(self, key):
        if len(key) < 16:
            raise ValueError("a credential key needs at least 16 bytes")
        # HMAC's keyed state, copied for each MAC (cheaper than keying
        # anew: authentication runs on every call).
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self.keyId = hashlib.sha256(b"vcd credential key id\0" + key) \
            .hexdigest()[:8]
        # Checked against when the stored value is no verifier of this key,
        # so that such a check costs what any other does.
        self._dummySalt = bytes(_SALT_BYTES)

    def _mac(self, salt, digest):
        mac = self._keyed.copy()
        mac.update(salt + digest.encode("utf-8", "replace"))
        return mac.digest()

    def verifier(self, digest):
        """
        Make the verifier of a WHIRLPOOL hex digest, with a new salt.

        @param digest: 128 hex characters (see
            L{vcd.vxdb.whirlpool.passwordDigest}).
        @return: the string to store in VXDB.
        """
        salt = secrets.token_bytes(_SALT_BYTES)
        return "%s$%s$%s$%s" % (SCHEME, self.keyId, salt.hex(),
                                self._mac(salt, digest.lower()).hex())

    def madeWithThisKey(self, stored):
        """
        @return: whether C{stored} is a verifier made with this key.
        """
        return stored.startswith("%s$%s$" % (SCHEME, self.keyId))

    def matches(self, stored, digest):
        """
        Check a digest a client sent (or computed from its clear password)
        against a stored verifier, in the same time whatever C{stored} is.

        @return: whether C{stored} is a verifier of this key for
            C{digest}; never for a bare digest, a locked password or
            anything else.
        """
        keyId, salt, expected = _parse(stored)
        valid = keyId == self.keyId
        if not valid:
            salt, expected = self._dummySalt, b""
        mac = self._mac(salt, digest.lower())
        return hmac.compare_digest(mac, expected) and valid


@functools.lru_cache(maxsize=4096)
def _parse(stored):
    """
    @return: C{(key id, salt, MAC)} of a verifier, or C{(None, None,
        None)} for anything else (a verifier is no credential: it may be
        kept in memory).
    """
    fields = stored.split("$")
    if len(fields) != 4 or fields[0] != SCHEME:
        return None, None, None
    try:
        return fields[1], bytes.fromhex(fields[2]), bytes.fromhex(fields[3])
    except ValueError:
        return None, None, None


def keyPath(vxdbPath):
    """
    @return: the key file of the VXDB at C{vxdbPath}: L{KEY_FILE} in the
        same directory (the daemon's datadir).
    """
    return os.path.join(os.path.dirname(os.path.abspath(vxdbPath)),
                        KEY_FILE)


def _createKeyFile(path):
    """
    Write a new random key to C{path} (mode 0600) unless another process
    did first: the key is written under a name of its own and linked into
    place, so C{path} never holds a partial key.
    """
    temporary = "%s.%d.new" % (path, os.getpid())
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                 | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(_KEY_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: that one is the key
    finally:
        os.unlink(temporary)
    directory = os.open(os.path.dirname(path), os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def loadKey(vxdbPath):
    """
    Read the key of the VXDB at C{vxdbPath} (see L{keyPath}), creating it
    at the first start. A key file others may read is made 0600.

    @return: a L{CredentialKey}.
    @raise KeyFileError: if the file is not a key.
    """
    path = keyPath(vxdbPath)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if not os.path.lexists(path):
        _createKeyFile(path)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    with os.fdopen(fd) as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            os.fchmod(f.fileno(), 0o600)
        text = f.read(4 * _KEY_BYTES).strip()
    try:
        key = bytes.fromhex(text)
        return CredentialKey(key)
    except ValueError:
        raise KeyFileError("%s does not hold a key (at least 32 hex"
                           " characters); move it away to have a new key"
                           " made, and set every password again" % (path,))
