# -*- test-case-name: tests.test_crashkill -*-
"""
What a VPS has outside its directory, and what a killed daemon leaves
running: the VPS's LXC directory (C{<lxcpath>/<name>}, its generated
configuration and its logs), which goes with the VPS when it is removed
and follows it when it is renamed; and processes (an extraction's tar and
its decompressor) still writing into a staging directory, which the crash
recovery kills before it removes anything.

Every function here blocks.
"""

import errno
import os
import signal
import time

from vcd.kernel.cgroups import releaseCgroups
from vcd.vps.crashsafe import removeEntry
from vcd.vps.mountuse import mountsUnder
from vcd.vps.rootfs import stagingPath


class LeftoverBusy(OSError):
    """
    Something of a VPS outside its directory cannot be removed: mounted,
    or a process writing there survived SIGKILL.
    """


def lxcDirectory(lxcpath, name):
    """
    @return: the LXC directory of VPS C{name}.
    @raise ValueError: if C{name} is not a single path component.
    """
    if not name or "/" in name or name in (".", ".."):
        raise ValueError("%r is not a container name" % (name,))
    return os.path.join(lxcpath, name)


def removeLxcDirectory(lxcpath, name):
    """
    Remove the LXC directory of the stopped VPS C{name}, never following
    a symlink. A missing directory is not an error.

    @raise LeftoverBusy: if anything is mounted in it.
    """
    directory = lxcDirectory(lxcpath, name)
    if os.path.lexists(directory):
        busy = mountsUnder(directory)
        if busy:
            raise LeftoverBusy(errno.EBUSY, "mounted: %s" % " ".join(busy),
                               directory)
    removeEntry(directory)


def moveLxcDirectory(lxcpath, name, newname):
    """
    Give the LXC directory of the stopped VPS C{name} to C{newname} (its
    logs go with it), replacing a stale one of C{newname}.
    """
    source = lxcDirectory(lxcpath, name)
    removeLxcDirectory(lxcpath, newname)
    if os.path.lexists(source):
        os.rename(source, lxcDirectory(lxcpath, newname))


def removeOutside(lxcpath, name, vdir):
    """
    Remove what the stopped VPS C{name} has outside its directory C{vdir}
    (which may be None): a staging sibling of C{vdir}, its LXC directory
    and the cgroups its runs left.

    @raise LeftoverBusy: if something is mounted in its LXC directory.
    """
    if vdir:
        removeEntry(stagingPath(vdir))
    removeLxcDirectory(lxcpath, name)
    releaseCgroups(name)


def renameOutside(lxcpath, name, newname):
    """
    After VPS C{name} was renamed C{newname}: move its LXC directory, and
    remove the cgroups named after C{name}.
    """
    moveLxcDirectory(lxcpath, name, newname)
    releaseCgroups(name)


def _isUnder(path, directories):
    return any(path == d or path.startswith(d + "/") for d in directories)


def writersUnder(paths):
    """
    The processes of this mount namespace whose working directory or an
    open file lies at or beneath one of C{paths}.

    @return: a sorted list of pids (never this process's).
    """
    directories = [os.path.normpath(p) for p in paths]
    if not directories:
        return []
    ownNamespace = os.stat("/proc/self/ns/mnt").st_ino
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        base = "/proc/" + entry
        try:
            if os.stat(base + "/ns/mnt").st_ino != ownNamespace:
                continue
            links = [os.readlink(base + "/cwd")]
            for fd in os.listdir(base + "/fd"):
                try:
                    links.append(os.readlink(base + "/fd/" + fd))
                except OSError:
                    pass
        except OSError:
            continue  # gone, or a kernel thread
        if any(_isUnder(link, directories) for link in links):
            found.append(int(entry))
    return sorted(found)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % (pid,)) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def killWriters(paths, timeout=10.0, clock=time.monotonic,
                sleep=time.sleep):
    """
    SIGKILL the processes writing at or beneath C{paths} (see
    L{writersUnder}), with the process group each one leads, and wait
    until they are gone.

    @return: the pids killed.
    @raise LeftoverBusy: if one still lives after C{timeout} seconds.
    """
    pids = writersUnder(paths)
    for pid in pids:
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = clock() + timeout
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return pids
        if clock() > deadline:
            raise LeftoverBusy(errno.EBUSY, "processes %s survived SIGKILL"
                               % (" ".join(map(str, alive)),),
                               " ".join(paths))
        sleep(0.01)
