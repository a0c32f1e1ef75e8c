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

Built by setuptools through C{cffi_modules} in C{setup.py}, or in place with::

    python vcd/vxdb/_whirlpool_build.py

which leaves C{vcd/vxdb/_whirlpool*.so} next to this file.
"""

import os
import shutil
import tempfile

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


def buildInPlace():
    """
    Compile the extension in a scratch directory and move only the shared
    object next to this file.

    @return: the path of the installed shared object.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    scratch = tempfile.mkdtemp(prefix="vcd-whirlpool-build.")
    cwd = os.getcwd()
    try:
        # cwd matters: distutils would otherwise read the project's setup.cfg.
        os.chdir(scratch)
        built = ffibuilder.compile(tmpdir=scratch, verbose=False)
        target = os.path.join(here, os.path.basename(built))
        shutil.move(built, target)
        return target
    finally:
        os.chdir(cwd)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    print(buildInPlace())
