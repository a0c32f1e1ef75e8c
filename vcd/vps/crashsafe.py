# -*- test-case-name: tests.test_crashsafe,tests.test_rootfs -*-
"""
File operations for building and removing VPS files so that a crash never
leaves a half-done result at a final path: rename without replacing, flush
before and after a rename, remove without following symlinks.

Every function here blocks.
"""

import errno
import os
import shutil
import stat

from vcd.kernel.syscalls import RENAME_NOREPLACE, renameat2, syncfs


def renameNoReplace(src, dst):
    """
    Rename C{src} to C{dst}, failing with C{FileExistsError} instead of
    replacing an existing C{dst} (C{os.rename} silently replaces an empty
    directory). On a filesystem that cannot do that atomically, checks and
    then renames.
    """
    try:
        renameat2(src, dst, RENAME_NOREPLACE)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
    else:
        return
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.rename(src, dst)


def syncDir(path):
    """
    Flush the filesystem holding the directory C{path} and the directory
    entry itself, so a rename that follows or preceded is not seen before
    the data.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            syncfs(fd)
        except OSError as e:
            e.filename = path
            raise
        os.fsync(fd)
    finally:
        os.close(fd)


def removeEntry(path):
    """
    Remove a file, symlink or directory tree at C{path}, never following a
    symlink (C{shutil.rmtree} is file-descriptor based on Linux and refuses a
    symlink at the top). A missing C{path} is not an error.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)
