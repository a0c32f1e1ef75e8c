# -*- test-case-name: tests.test_syscalls -*-
"""
File-system system calls that Python's C{os} module lacks, through the
cffi binding L{vcd.kernel._lxc} (declared at the end of its build script,
C{vcd/kernel/_lxc_build.py}).
"""

import os

from vcd.kernel.binding import ffi, lib

#: For L{renameat2}: fail with C{EEXIST} rather than replace the target.
RENAME_NOREPLACE = lib.RENAME_NOREPLACE


def _path(path):
    path = os.fsencode(path)
    if b"\0" in path:
        raise ValueError("embedded null byte in %r" % (path,))
    return path


def _fail(*filenames):
    err = ffi.errno
    raise OSError(err, os.strerror(err), *filenames)


def renameat2(src, dst, flags=0):
    """
    Rename C{src} to C{dst} (paths relative to the working directory), as
    C{renameat2(2)} with C{flags}.

    @param flags: C{0} or L{RENAME_NOREPLACE}.
    @raise OSError: with the call's errno and both paths; C{EINVAL} if the
        filesystem does not support C{flags}.
    @raise ValueError: if a path contains NUL.
    """
    rc = lib.renameat2(lib.AT_FDCWD, _path(src), lib.AT_FDCWD, _path(dst),
                       flags)
    if rc != 0:
        _fail(src, None, dst)


def syncfs(fd):
    """
    Write out everything cached for the filesystem holding the open file
    C{fd}, as C{syncfs(2)}.

    @raise OSError: with the call's errno.
    """
    if lib.syncfs(fd) != 0:
        _fail()
