"""
WHIRLPOOL digests, as VXDB stores passwords (manual 3.5.2).

Python's hashlib lacks WHIRLPOOL under OpenSSL 3, but libcrypto still exports
the one-shot C{WHIRLPOOL()} function; this module calls it through cffi.
"""

import hmac

from cffi import FFI

_ffi = FFI()
_ffi.cdef(
    "unsigned char *WHIRLPOOL(const void *inp, size_t bytes,"
    " unsigned char *md);")
try:
    _libcrypto = _ffi.dlopen("libcrypto.so.3")
except OSError as e:  # pragma: no cover - depends on the host
    raise ImportError(
        "vcd needs OpenSSL's libcrypto.so.3 for WHIRLPOOL password digests:"
        " apt-get install libssl3 (%s)" % (e,))

#: Prefix a client may put before a hex digest instead of a clear password.
ENCODED_PREFIX = "WHIRLPOOLENC//"
DIGEST_HEX_LENGTH = 128


def whirlpoolHex(data):
    """
    Return the WHIRLPOOL digest of C{data} (str or bytes) as 128 lower-case
    hex characters.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    out = _ffi.new("unsigned char[64]")
    _libcrypto.WHIRLPOOL(data, len(data), out)
    return bytes(_ffi.buffer(out, 64)).hex()


def passwordDigest(password):
    """
    Return the digest to compare with VXDB for a password as a client sent
    it: either clear text, or C{WHIRLPOOLENC//} and a hex digest.
    """
    if password.startswith(ENCODED_PREFIX):
        return password[len(ENCODED_PREFIX):].lower()
    return whirlpoolHex(password)


def digestsEqual(a, b):
    """
    Compare two hex digests in constant time.
    """
    return hmac.compare_digest(a.encode("ascii", "replace"),
                               b.encode("ascii", "replace"))
