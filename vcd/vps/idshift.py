# -*- test-case-name: tests.test_idshift -*-
"""
Shifting the owners of a VPS's copied files from one range of host ids to
another: from the template's (root is 0) to the VPS's own range when the
copy is made unprivileged, or back when an administrator makes it
privileged.

Blocking (a walk of the whole tree); the daemon runs it in its filesystem
thread pool. Symbolic links are never followed: each entry is changed
itself (lchown). Changing an owner clears set-user-ID and set-group-ID
bits and file capabilities, so both are put back afterwards.
"""

import errno
import os
import stat

#: The extended attribute that holds a file's capabilities.
CAPABILITY_XATTR = "security.capability"


def _fileCapabilities(path):
    try:
        return os.getxattr(path, CAPABILITY_XATTR, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
            return None
        raise


def _shiftEntry(path, st, fromBase, toBase, count):
    uid, gid = st.st_uid, st.st_gid
    newUid = uid - fromBase + toBase if fromBase <= uid < fromBase + count \
        else uid
    newGid = gid - fromBase + toBase if fromBase <= gid < fromBase + count \
        else gid
    if (newUid, newGid) == (uid, gid):
        return
    link = stat.S_ISLNK(st.st_mode)
    capabilities = None if link or not stat.S_ISREG(st.st_mode) \
        else _fileCapabilities(path)
    os.chown(path, newUid, newGid, follow_symlinks=False)
    if not link and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
        os.chmod(path, stat.S_IMODE(st.st_mode))
    if capabilities is not None:
        os.setxattr(path, CAPABILITY_XATTR, capabilities,
                    follow_symlinks=False)


def shiftOwners(root, fromBase, toBase, count):
    """
    Change every owner and group in C{fromBase .. fromBase + count - 1}
    under C{root} (itself included) to the same offset from C{toBase}.
    Ids outside that range are left as they are (inside the VPS they show
    as the overflow id). Does not cross into other filesystems.

    @return: the number of entries changed or looked at.
    """
    if fromBase == toBase:
        return 0
    rootStat = os.lstat(root)
    if not stat.S_ISDIR(rootStat.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", root)
    seen = 0
    pending = [root]
    while pending:
        directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if st.st_dev != rootStat.st_dev:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    pending.append(entry.path)
                _shiftEntry(entry.path, st, fromBase, toBase, count)
                seen += 1
    _shiftEntry(root, rootStat, fromBase, toBase, count)
    return seen + 1
