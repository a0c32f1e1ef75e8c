# -*- test-case-name: tests.test_idmap -*-
"""
The root filesystem of a VPS, made ready for its start by the kernel
worker (single-threaded: these calls fork and block for milliseconds).

An unprivileged VPS runs in its own user namespace, where its root is host
id C{base} and its ids run to C{base + count - 1}. Its root filesystem is
either

  - a copy whose files are owned by that range: used as it is; or
  - an overlay of the template's shared lower layer (owned by host root,
    read-only, shared by every VPS of the template) and the VPS's own
    upper layer (also stored with ids from 0). Both layers are given to
    overlayfs as idmapped mounts, which shift the ids by C{base}, so the
    VPS sees its files as its own and nothing is copied or chowned,
    whatever the template's size. liblxc's C{idmap=container} rootfs
    option works only with a plain directory, so the daemon mounts the
    overlay itself at L{mergedRoot} and gives liblxc that directory.

The overlay is mounted with the VPS's root as file-system ids
(C{setfsuid(base)}, L{asRootOf}): overlayfs does its own work (its work
directory, copy-up) with the mounter's credentials, and host root's id 0
has no place in the idmapped layers. The mount points of the VPS's mounts
are made the same way, one component at a time, never following a
symbolic link, so nothing is ever created outside the VPS's root. Each
VPS's user namespace is kept open for its next start (L{UserNamespaces}).

After the start the merged mount is detached from the host: the VPS's
mount namespace keeps its own copy, and nothing stays mounted on the host
for a crash to leave behind.
"""

import errno
import os
from contextlib import contextmanager

from vcd.kernel.binding import ffi, lib

#: The ids each unprivileged VPS gets (a 16-bit range, as Incus and
#: Proxmox give).
IDS_PER_VPS = 65536


class RootSpec:
    """
    What the kernel worker prepares before it starts a VPS.

    @ivar kind: C{"copy"} (C{paths} is C{[rootfs]}) or C{"overlay"}
        (C{paths} is C{[lower, upper, work]}, upper and work in one
        directory).
    @ivar paths: the directories, as above.
    @ivar idBase: the host id of the VPS's root; C{0} for a privileged VPS.
    @ivar idCount: the number of ids it has (C{0} when privileged).
    @ivar mountPoints: the destinations of its mounts, absolute inside the
        VPS, to create as directories where they are missing.
    """

    def __init__(self, kind, paths, idBase=0, idCount=0, mountPoints=()):
        if kind not in ("copy", "overlay"):
            raise ValueError("unknown root kind %r" % (kind,))
        if len(paths) != (1 if kind == "copy" else 3):
            raise ValueError("a %s root needs %s" % (
                kind, "one path" if kind == "copy" else "three paths"))
        if kind == "overlay" and (os.path.dirname(paths[1])
                                  != os.path.dirname(paths[2])):
            raise ValueError("the upper and work directories of an overlay"
                             " must be in one directory")
        self.kind = kind
        self.paths = list(paths)
        self.idBase = int(idBase)
        self.idCount = int(idCount)
        self.mountPoints = list(mountPoints)

    @property
    def privileged(self):
        return self.idCount == 0

    def __eq__(self, other):
        if not isinstance(other, RootSpec):
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self):
        return "RootSpec(%s)" % ", ".join(
            "%s=%r" % item for item in sorted(vars(self).items()))


def mergedRoot(lxcpath, name):
    """
    Where the worker mounts the overlay root of VPS C{name} for liblxc.
    """
    return os.path.join(lxcpath, name, "root")


def lxcRootfs(spec, lxcpath, name):
    """
    @return: the value of C{lxc.rootfs.path} for a VPS with root C{spec}.
    """
    if spec.kind == "copy":
        return "dir:" + spec.paths[0]
    return "dir:" + mergedRoot(lxcpath, name)


def _fail(call, *paths):
    err = ffi.errno
    raise OSError(err, "%s: %s" % (call, os.strerror(err)), *paths)


def _path(path):
    path = os.fsencode(path)
    if b"\0" in path:
        raise ValueError("embedded null byte in %r" % (path,))
    return path


def userNamespace(base, count):
    """
    A user namespace whose ids 0..C{count}-1 are host ids C{base}.. .

    @return: an open descriptor of it (the caller closes it).
    """
    ready = os.pipe()
    release = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(ready[0])
            os.close(release[1])
            if lib.unshare(lib.CLONE_NEWUSER) == 0:
                os.write(ready[1], b"1")
                os.read(release[0], 1)
                code = 0
        finally:
            os._exit(code)
    os.close(ready[1])
    os.close(release[0])
    try:
        if os.read(ready[0], 1) != b"1":
            raise OSError(errno.EPERM, "cannot make a user namespace")
        for which in ("uid_map", "gid_map"):
            with open("/proc/%d/%s" % (pid, which), "w") as f:
                f.write("0 %d %d\n" % (base, count))
        return os.open("/proc/%d/ns/user" % (pid,),
                       os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready[0])
        os.close(release[1])
        os.waitpid(pid, 0)


class UserNamespaces:
    """
    The user namespaces of the VPSes started, kept open (by descriptor) so
    that a restart needs no new one: at most C{size}, the oldest closed
    first.
    """

    def __init__(self, size=256):
        self.size = size
        self._open = {}

    def get(self, base, count):
        """
        @return: a descriptor of a user namespace mapping C{count} ids from
            host id C{base}; the cache owns it.
        """
        key = (base, count)
        fd = self._open.pop(key, None)
        if fd is None:
            fd = userNamespace(base, count)
            while len(self._open) >= self.size:
                os.close(self._open.pop(next(iter(self._open))))
        self._open[key] = fd
        return fd


_namespaces = UserNamespaces()


def idmappedTree(path, usernsFd, readOnly):
    """
    A detached copy of the mount of directory C{path}, idmapped through the
    user namespace C{usernsFd}.

    @return: its descriptor (the caller closes it).
    """
    fd = lib.open_tree(lib.AT_FDCWD, _path(path),
                       lib.OPEN_TREE_CLONE | lib.OPEN_TREE_CLOEXEC)
    if fd < 0:
        _fail("open_tree", path)
    attr = ffi.new("struct mount_attr *")
    attr.attr_set = lib.MOUNT_ATTR_IDMAP | (
        lib.MOUNT_ATTR_RDONLY if readOnly else 0)
    attr.userns_fd = usernsFd
    if lib.mount_setattr(fd, b"", lib.AT_EMPTY_PATH, attr,
                         ffi.sizeof("struct mount_attr")) != 0:
        os.close(fd)
        _fail("mount_setattr (idmap)", path)
    return fd


#: <sys/mount.h>: umount2() does not follow a symbolic link at the path's
#: end.
UMOUNT_NOFOLLOW = 8


def detach(path):
    """
    Detach whatever is mounted at C{path} (every layer), if anything. A
    symbolic link at the end of C{path} is not followed (nothing is
    mounted on it, so nothing is detached).

    @return: how many mounts were detached.
    """
    for layer in range(64):
        if lib.umount2(_path(path), lib.MNT_DETACH | UMOUNT_NOFOLLOW) != 0:
            if ffi.errno in (errno.EINVAL, errno.ENOENT):
                return layer
            _fail("umount2", path)
    return 64


@contextmanager
def asRootOf(spec):
    """
    For the duration: take the VPS's root as this thread's file-system ids,
    keeping the capabilities (SECBIT_NO_SETUID_FIXUP), so that overlayfs
    (which works with its mounter's credentials) and the mount points see
    the VPS's root; then back to root's, the securebits as they were. The
    kernel worker is single-threaded, so nothing else runs meanwhile; the
    processes it forks later inherit neither.
    """
    if spec.privileged:
        yield
        return
    bits = lib.prctl(lib.PR_GET_SECUREBITS, 0, 0, 0, 0)
    if bits < 0 or lib.prctl(lib.PR_SET_SECUREBITS,
                             bits | lib.SECBIT_NO_SETUID_FIXUP, 0, 0, 0):
        _fail("prctl(PR_SET_SECUREBITS)")
    try:
        lib.setfsgid(spec.idBase)
        lib.setfsuid(spec.idBase)
        try:
            # setfsuid answers the id in force (it cannot report errors).
            if lib.setfsuid(spec.idBase) != spec.idBase:
                raise OSError(errno.EPERM, "cannot take the VPS's ids")
            yield
        finally:
            lib.setfsuid(0)
            lib.setfsgid(0)
    finally:
        lib.prctl(lib.PR_SET_SECUREBITS, bits, 0, 0, 0)


def _mountOverlay(spec, target, lowerFd, upperFd):
    lower, upper, work = spec.paths
    if lowerFd is None:
        layers = (lower, upper, work)
    else:
        layers = ("/proc/self/fd/%d" % (lowerFd,),
                  "/proc/self/fd/%d/%s" % (upperFd, os.path.basename(upper)),
                  "/proc/self/fd/%d/%s" % (upperFd, os.path.basename(work)))
    options = "lowerdir=%s,upperdir=%s,workdir=%s" % layers
    with asRootOf(spec):
        if lib.mount(b"overlay", _path(target), b"overlay", 0,
                     options.encode()) != 0:
            _fail("mount overlay", target)
        makeMountPoints(target, spec.mountPoints)


def makeMountPoints(root, destinations):
    """
    Create each destination (an absolute path inside the VPS) as a
    directory under C{root} where it is missing, one component at a time
    relative to the one before, never following a symbolic link.

    @raise OSError: naming the destination, if a component is a symbolic
        link or not a directory.
    """
    for destination in destinations:
        parts = [p for p in destination.split("/") if p]
        if not parts or ".." in parts:
            raise OSError(errno.EINVAL, "mount destination %s is not below"
                          " the root" % (destination,))
        current = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for part in parts:
                try:
                    os.mkdir(part, 0o755, dir_fd=current)
                except FileExistsError:
                    pass
                try:
                    following = os.open(
                        part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW,
                        dir_fd=current)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise OSError(e.errno, "mount destination %s: %s is"
                                      " a symbolic link or not a directory"
                                      % (destination, part))
                    raise
                os.close(current)
                current = following
        finally:
            os.close(current)


def prepareRoot(spec, lxcpath, name):
    """
    Make the root of VPS C{name} ready for liblxc: mount its overlay at
    L{mergedRoot} (idmapped unless it is privileged), or for a copy just
    create its mount points, as its root.

    @raise OSError: saying what failed.
    """
    # liblxc mounts the root at <lxcpath>/<name>/rootfs.mnt.
    admitRootOf(spec, os.path.join(lxcpath, name))
    if spec.kind == "copy":
        admitRootOf(spec, os.path.dirname(spec.paths[0]))
        with asRootOf(spec):
            makeMountPoints(spec.paths[0], spec.mountPoints)
        return
    target = mergedRoot(lxcpath, name)
    os.makedirs(target, mode=0o755, exist_ok=True)
    detach(target)  # a leftover of a crash between mount and start
    if spec.privileged:
        _mountOverlay(spec, target, None, None)
        return
    usernsFd = _namespaces.get(spec.idBase, spec.idCount)
    lowerFd = idmappedTree(spec.paths[0], usernsFd, readOnly=True)
    try:
        upperFd = idmappedTree(os.path.dirname(spec.paths[1]), usernsFd,
                               readOnly=False)
        try:
            _mountOverlay(spec, target, lowerFd, upperFd)
        finally:
            os.close(upperFd)
    finally:
        os.close(lowerFd)


def admitRootOf(spec, directory):
    """
    Let the VPS's root, and no other host user, pass through C{directory}
    (a directory of root's holding its root filesystem): liblxc mounts the
    root with the VPS's ids, so the path must be searchable by them. Group
    C{idBase} with mode 0710, or root only (0700) for a privileged VPS.
    """
    os.chown(directory, 0, spec.idBase)
    os.chmod(directory, 0o700 if spec.privileged else 0o710)


def releaseRoot(spec, lxcpath, name):
    """
    Detach the host's mount of the root (the VPS keeps its own), if the
    root is an overlay.
    """
    if spec.kind == "overlay":
        detach(mergedRoot(lxcpath, name))



def unsearchableAncestors(path):
    """
    The directories on the way to C{path} that other users cannot pass
    through (no search permission for others): the root of an unprivileged
    VPS (a host id of its own) cannot reach its root filesystem under
    them.

    @return: their paths, outermost first.
    """
    blocked = []
    path = os.path.abspath(path)
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
        try:
            if not os.stat(path).st_mode & 0o001:
                blocked.append(path)
        except OSError:
            pass
    return sorted(blocked, key=len)
