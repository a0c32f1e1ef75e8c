"""
cffi (API mode) build script for L{vcd.kernel._lxc}, the binding to liblxc.

Only the members of C{struct lxc_container} that vcd calls are declared; the
C compiler works out their offsets from C{<lxc/lxccontainer.h>} (the C{...;}
in the struct), so the binding follows whatever liblxc release it is built
against. Add a member here when the kernel layer starts using it.

Built by setuptools through C{cffi_modules} in C{setup.py}, or in place with::

    python vcd/kernel/_lxc_build.py

which leaves C{vcd/kernel/_lxc*.so} next to this file. Needs the liblxc
headers (Debian: C{lxc-dev}).
"""

import os
import shutil
import tempfile

from cffi import FFI

CDEF = """
typedef int pid_t;

struct lxc_container {
    char *name;
    char *error_string;
    int error_num;

    /* Queries: safe in-process on a dedicated thread pool. */
    bool (*is_defined)(struct lxc_container *c);
    const char *(*state)(struct lxc_container *c);
    bool (*is_running)(struct lxc_container *c);
    pid_t (*init_pid)(struct lxc_container *c);
    char *(*config_file_name)(struct lxc_container *c);

    ...;
};

struct lxc_container *lxc_container_new(const char *name,
                                        const char *configpath);
int lxc_container_put(struct lxc_container *c);
const char *lxc_get_version(void);

/* config_file_name() returns memory the caller must free(). */
void free(void *ptr);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "vcd.kernel._lxc",
    """
    #include <stdlib.h>
    #include <lxc/lxccontainer.h>
    """,
    libraries=["lxc"],
)


def buildInPlace():
    """
    Compile the extension in a scratch directory and move only the shared
    object next to this file, so no generated C or object file is left in
    the source tree.

    @return: the path of the installed shared object.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    scratch = tempfile.mkdtemp(prefix="vcd-lxc-build.")
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
