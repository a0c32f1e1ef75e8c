"""
cffi (API mode) build script for L{vcd.vxdb._whirlpool}, the binding to
OpenSSL's C{WHIRLPOOL()} in libcrypto.

OpenSSL 3 keeps WHIRLPOOL only in its legacy provider, out of reach of
C{hashlib} and of C{EVP_get_digestbyname()} unless that provider is loaded
(into the process's default library context, which C{hashlib} shares), but
libcrypto still exports the one-shot C{WHIRLPOOL()} function, which needs no
provider. It is declared here rather than taken from C{<openssl/whrlpool.h>}
so that building needs only the runtime library (Debian: C{libssl3}), not
the OpenSSL headers, and linked by its soname, as there is no unversioned
C{libcrypto.so} without C{libssl-dev}.

Built by setuptools through C{cffi_modules} in C{setup.py} (in a source
tree: C{python setup.py build_ext --inplace}, which C{vcd-setup test}
runs).
"""

from cffi import FFI

PROTOTYPE = ("unsigned char *WHIRLPOOL(const void *inp, size_t bytes,"
             " unsigned char *md);")

ffibuilder = FFI()
ffibuilder.cdef(PROTOTYPE)
ffibuilder.set_source(
    "vcd.vxdb._whirlpool",
    "#include <stddef.h>\n"
    "/* From <openssl/whrlpool.h>, OpenSSL 1.0 to 3. */\n" + PROTOTYPE + "\n",
    extra_link_args=["-l:libcrypto.so.3"],
)
