# -*- test-case-name: tests.test_whirlpool -*-
"""
WHIRLPOOL digests of passwords (manual 3.5.2), which VXDB keeps only as
keyed verifiers (L{vcd.vxdb.credentials}).

Python's hashlib lacks WHIRLPOOL under OpenSSL 3, but libcrypto still exports
the one-shot C{WHIRLPOOL()} function; this module calls it through the cffi
binding L{vcd.vxdb._whirlpool} (built from C{vcd/vxdb/_whirlpool_build.py}).
"""

try:
    from vcd.vxdb._whirlpool import ffi as _ffi, lib as _lib
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "vcd.vxdb._whirlpool, the compiled binding to OpenSSL's WHIRLPOOL,"
        " is missing or cannot load libcrypto.so.3 (%s): install OpenSSL's"
        " library (Debian package libssl3) and reinstall the vcd package"
        " (or run 'python setup.py build_ext --inplace' in a source tree)"
        % (e,)) from e

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
    _lib.WHIRLPOOL(data, len(data), out)
    return bytes(_ffi.buffer(out, 64)).hex()


def passwordDigest(password):
    """
    Return the digest to compare with VXDB for a password as a client sent
    it: either clear text, or C{WHIRLPOOLENC//} and a hex digest.
    """
    if password.startswith(ENCODED_PREFIX):
        return password[len(ENCODED_PREFIX):].lower()
    return whirlpoolHex(password)
