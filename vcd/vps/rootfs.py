"""
Creating and removing the files of a VPS.

Every function here blocks; the daemon runs them in a thread pool. They are
ordered so that a crash at any point never leaves a half-built VPS at its
final path:

  - a VPS directory is built in a sibling staging directory
    C{.vcd-new.<name>} and renamed into place as the last step;
  - a VPS directory is removed by renaming it to a sibling
    C{.vcd-trash.<name>.<random>} first and deleting that;
  - a shared lower layer is built in C{.vcd-new.<lower>.<random>} and renamed
    into place.

Leftovers of a crash are only ever those dot-names; L{sweepStaging} and
L{discardPartial} remove them at start-up.

Layouts of a VPS directory C{vdir}:

  - copy: C{<vdir>/rootfs} holds a full extraction of the template cache;
  - overlay: C{<vdir>/upper} and C{<vdir>/work} (empty at creation) over the
    template's shared lower layer (L{sharedLower}), so creating a VPS costs
    next to no disk or time whatever the template size.

Template caches are extracted with GNU tar run as root with
C{--numeric-owner}, because a root filesystem needs what only a full tar
gives: owners by number (never mapped through the host's user names), modes
including setuid bits, symlinks with absolute targets, hard links, device
nodes and file capabilities (xattrs). Python's C{tarfile} filters cannot
help: C{"data"} and C{"tar"} drop device nodes, setuid bits or absolute
symlinks, and C{"fully_trusted"}, like C{tarfile} without a filter, writes
through a symlink the archive itself created. So the archive is first read
with C{tarfile} and refused as a whole (L{UnsafeArchive}) if any member has
an absolute name, a C{..} component, lies beneath a symlink member, is a hard
link to an absolute or C{..} name, is a relative symlink that climbs out of
the root, or is of an unexpected type. Only then does GNU tar extract it into
an empty staging directory; GNU tar itself refuses C{..} names and extracts
absolute and C{..} symlinks as placeholders that become symlinks only after
all other members are written, so even a check missed here cannot make it
write outside the staging directory. Absolute symlink targets are allowed:
inside the VPS they resolve within its own root.
"""

import ctypes
import errno
import hashlib
import os
import posixpath
import secrets
import shutil
import stat
import subprocess
import tarfile

STAGING_PREFIX = ".vcd-new."
TRASH_PREFIX = ".vcd-trash."

KIND_COPY = "copy"
KIND_OVERLAY = "overlay"


class RootBusy(OSError):
    """
    Something is mounted at or beneath a VPS directory, so it cannot be
    removed.
    """


class UnsafeArchive(ValueError):
    """
    A template cache holds a member that could write outside the directory
    it is extracted into, or that no root filesystem needs.
    """


# -- paths --------------------------------------------------------------------

def checkVdir(vdir, vbasedir):
    """
    Check that C{vdir} is an acceptable VPS directory.

    @param vdir: the proposed VPS directory.
    @param vbasedir: the directory every VPS directory must lie under.
    @raise ValueError: saying what is wrong, if C{vdir} is not absolute, has
        a C{..} component, contains NUL, newline or C{:} (the LXC
        configuration could not express it), resolves (through the real path
        of its nearest existing ancestor) to a place outside the real path of
        C{vbasedir} or to C{vbasedir} itself, or is a symlink.
    """
    if not isinstance(vdir, str) or not vdir:
        raise ValueError("vdir must be a non-empty string")
    for bad, what in (("\0", "NUL"), ("\n", "a newline"), (":", "':'")):
        if bad in vdir:
            raise ValueError("vdir %r contains %s" % (vdir, what))
    if not vdir.startswith("/"):
        raise ValueError("vdir %r is not absolute" % (vdir,))
    if ".." in vdir.split("/"):
        raise ValueError("vdir %r has a '..' component" % (vdir,))
    vdir = posixpath.normpath(vdir)
    base = os.path.realpath(vbasedir)
    # The nearest existing ancestor (the final component is looked at below,
    # without following it).
    ancestor = posixpath.dirname(vdir)
    while not os.path.lexists(ancestor):
        ancestor = posixpath.dirname(ancestor)
    realParent = os.path.realpath(ancestor)
    rest = posixpath.relpath(posixpath.dirname(vdir), ancestor)
    resolved = posixpath.normpath(posixpath.join(
        realParent, rest, posixpath.basename(vdir)))
    if posixpath.commonpath([resolved, base]) != base or resolved == base:
        raise ValueError(
            "vdir %r resolves to %r, which is not under %r"
            % (vdir, resolved, base))
    if os.path.islink(vdir):
        raise ValueError("vdir %r is a symlink" % (vdir,))


def stagingPath(vdir):
    """
    @return: the sibling of C{vdir} that L{createRoot} builds in.
    """
    vdir = posixpath.normpath(vdir)
    return posixpath.join(posixpath.dirname(vdir),
                          STAGING_PREFIX + posixpath.basename(vdir))


def _trashPath(path):
    path = posixpath.normpath(path)
    return posixpath.join(
        posixpath.dirname(path),
        "%s%s.%s" % (TRASH_PREFIX, posixpath.basename(path),
                     secrets.token_hex(6)))


# -- low-level file operations ------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _renameNoReplace(src, dst):
    """
    Rename C{src} to C{dst}, failing with C{FileExistsError} instead of
    replacing an existing C{dst} (C{os.rename} silently replaces an empty
    directory).
    """
    rc = _libc.renameat2(_AT_FDCWD, os.fsencode(src),
                         _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
    if rc == 0:
        return
    err = ctypes.get_errno()
    if err not in (errno.EINVAL, errno.ENOSYS):
        raise OSError(err, os.strerror(err), src, None, dst)
    # The filesystem cannot do it atomically: check, then rename.
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.rename(src, dst)


def _syncDir(path):
    """
    Flush the filesystem holding C{path} and the directory entry itself, so
    a rename that follows or preceded is not seen before the data.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        os.fsync(fd)
    finally:
        os.close(fd)


def _removeEntry(path):
    """
    Remove a file, symlink or directory tree at C{path}, never following a
    symlink (C{shutil.rmtree} is file-descriptor based on Linux and refuses a
    symlink at the top).
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _unescapeMountinfo(field):
    out = bytearray()
    i = 0
    raw = field.encode("utf-8", "surrogateescape")
    while i < len(raw):
        if raw[i:i + 1] == b"\\" and raw[i + 1:i + 4].isdigit():
            out.append(int(raw[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return os.fsdecode(bytes(out))


def _under(path, real):
    return path == real or path.startswith(real.rstrip("/") + "/")


def _loopBackingFiles(sysblock="/sys/block"):
    try:
        names = os.listdir(sysblock)
    except OSError:
        return []
    files = []
    for name in names:
        if not name.startswith("loop"):
            continue
        try:
            with open(os.path.join(sysblock, name, "loop", "backing_file"),
                      encoding="utf-8", errors="surrogateescape") as f:
                files.append(("/dev/" + name, f.read().rstrip("\n")))
        except OSError:
            continue
    return files


def mountsUnder(path, mountinfo="/proc/self/mountinfo"):
    """
    List what in this process's mount namespace uses files at or beneath
    C{path}: mount points there, overlay mounts whose lower, upper or work
    directory is there, and loop devices backed by a file there. Mounts
    made inside a VPS's own mount namespace (its root filesystem, for one)
    are not visible here: whether a VPS is running is for the caller to
    check.

    @return: a list of strings naming each use (mount points are plain
        paths).
    """
    real = os.path.realpath(path)
    found = []
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.rstrip("\n").split(" ")
            if len(fields) < 5:
                continue
            point = _unescapeMountinfo(fields[4])
            if _under(point, real):
                found.append(point)
                continue
            try:
                sep = fields.index("-")
            except ValueError:
                continue
            if fields[sep + 1:sep + 2] != ["overlay"] or len(fields) < sep + 4:
                continue
            for option in _unescapeMountinfo(fields[sep + 3]).split(","):
                key, _, value = option.partition("=")
                if key in ("lowerdir", "upperdir", "workdir") and any(
                        _under(p, real) for p in value.split(":")):
                    found.append("overlay on %s (%s)" % (point, option))
    for device, backing in _loopBackingFiles():
        if _under(backing, real):
            found.append("%s backed by %s" % (device, backing))
    return found


# -- extraction ---------------------------------------------------------------

def _safeName(name, what):
    if name.startswith("/"):
        raise UnsafeArchive("%s %r is absolute" % (what, name))
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive("%s %r has a '..' component" % (what, name))
    return "/".join(parts)


def checkArchive(cache):
    """
    Read a template cache and refuse it if any member is unsafe to extract
    (see the module docstring).

    @raise UnsafeArchive: naming the first offending member.
    @raise tarfile.TarError: if C{cache} is not a readable tar archive.
    """
    symlinks = set()
    with tarfile.open(cache, "r|*") as archive:
        for member in archive:
            name = _safeName(member.name, "member")
            if name in symlinks:
                raise UnsafeArchive(
                    "member %r replaces a symlink" % (member.name,))
            parent = name
            while "/" in parent:
                parent = parent.rsplit("/", 1)[0]
                if parent in symlinks:
                    raise UnsafeArchive(
                        "member %r lies beneath the symlink %r"
                        % (member.name, parent))
            if member.issym():
                symlinks.add(name)
                target = member.linkname
                if not target.startswith("/"):
                    depth = name.count("/")
                    for part in target.split("/"):
                        if part == "..":
                            depth -= 1
                            if depth < 0:
                                raise UnsafeArchive(
                                    "symlink %r -> %r climbs out of the root"
                                    % (member.name, target))
                        elif part not in ("", "."):
                            depth += 1
            elif member.islnk():
                _safeName(member.linkname, "hard link target")
            elif not (member.isreg() or member.isdir() or member.ischr()
                      or member.isblk() or member.isfifo()):
                raise UnsafeArchive(
                    "member %r is of an unexpected type %r"
                    % (member.name, member.type))


def extractCache(cache, dest):
    """
    Extract a template cache into the empty directory C{dest}, preserving
    numeric owners, modes, symlinks, hard links, device nodes and xattrs.

    @raise UnsafeArchive: if the archive is refused by L{checkArchive}.
    @raise OSError: if GNU tar fails, with its error output.
    """
    checkArchive(cache)
    if os.listdir(dest):
        raise OSError(errno.ENOTEMPTY, "extraction target is not empty", dest)
    try:
        result = subprocess.run(
            ["tar", "--extract", "--file", cache, "--directory", dest,
             "--numeric-owner", "--same-owner", "--same-permissions",
             "--xattrs", "--xattrs-include=*", "--delay-directory-restore"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, close_fds=True)
    except FileNotFoundError as e:
        raise OSError(errno.ENOENT,
                      "GNU tar is needed to extract templates "
                      "(Debian package tar)") from e
    if result.returncode != 0:
        raise OSError(
            "tar failed extracting %r (exit %d): %s"
            % (cache, result.returncode,
               result.stderr.decode("utf-8", "replace").strip()))


# -- layouts ------------------------------------------------------------------

class RootLayout:
    """
    Where the root filesystem of a VPS lives.

    @ivar kind: C{"copy"} or C{"overlay"}.
    @ivar vdir: the VPS directory.
    @ivar rootfs: for C{"copy"}, the root filesystem directory; else C{None}.
    @ivar lower: for C{"overlay"}, the shared read-only lower layer.
    @ivar upper: for C{"overlay"}, the VPS's own upper layer.
    @ivar work: for C{"overlay"}, the overlayfs work directory.
    """

    def __init__(self, kind, vdir, rootfs=None, lower=None, upper=None,
                 work=None):
        if kind == KIND_COPY:
            if rootfs is None or lower or upper or work:
                raise ValueError("a copy layout has a rootfs and nothing else")
        elif kind == KIND_OVERLAY:
            if rootfs is not None or not (lower and upper and work):
                raise ValueError("an overlay layout has lower, upper, work")
        else:
            raise ValueError("unknown root layout kind %r" % (kind,))
        self.kind = kind
        self.vdir = vdir
        self.rootfs = rootfs
        self.lower = lower
        self.upper = upper
        self.work = work

    def lxcRootfsPath(self):
        """
        @return: the value for LXC's C{lxc.rootfs.path}.
        @raise ValueError: if a path cannot be expressed there (LXC splits
            the value at C{:}; overlayfs splits its options at C{,}).
        """
        if self.kind == KIND_COPY:
            paths = [self.rootfs]
        else:
            paths = [self.lower, self.upper]
        for path in paths:
            if any(c in path for c in ":,\n\0"):
                raise ValueError("LXC cannot use the path %r" % (path,))
        if self.kind == KIND_COPY:
            return "dir:" + self.rootfs
        return "overlay:%s:%s" % (self.lower, self.upper)

    def toRecord(self):
        """
        @return: a dict of strings, for storing in the daemon's database.
        """
        record = {"kind": self.kind, "vdir": self.vdir}
        for key in ("rootfs", "lower", "upper", "work"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        return record

    @classmethod
    def fromRecord(cls, record):
        """
        The inverse of L{toRecord}.

        @raise ValueError: if C{record} does not describe a layout.
        """
        known = {"kind", "vdir", "rootfs", "lower", "upper", "work"}
        unknown = set(record) - known
        if unknown or "kind" not in record or "vdir" not in record:
            raise ValueError("not a root layout record: %r" % (record,))
        return cls(**record)

    def __eq__(self, other):
        if not isinstance(other, RootLayout):
            return NotImplemented
        return self.toRecord() == other.toRecord()

    def __repr__(self):
        return "RootLayout(%s)" % ", ".join(
            "%s=%r" % item for item in self.toRecord().items())


def _cacheDigest(cachePath):
    st = os.stat(cachePath)
    return hashlib.sha256(
        b"%d:%d" % (st.st_size, st.st_mtime_ns)).hexdigest()[:12]


def sharedLower(template, datadir):
    """
    The template's cache unpacked once, the read-only lower layer shared by
    every copy-on-write VPS of this template, at
    C{<datadir>/lower/<template name>-<digest>}, where the digest is of the
    cache's size and modification time: a replaced cache gets a new lower
    layer, the old one stays for the VPSes built on it. It is built in a
    staging directory and renamed into place, so a crashed or concurrent
    build never leaves a partial lower layer. Nothing must write to it.

    @param template: a L{vcd.vps.templates.Template}.
    @param datadir: the daemon's data directory.
    @return: the path of the lower layer.
    """
    lowers = os.path.join(datadir, "lower")
    os.makedirs(lowers, mode=0o700, exist_ok=True)
    final = os.path.join(
        lowers, "%s-%s" % (template.name, _cacheDigest(template.cachePath)))
    if os.path.isdir(final) and not os.path.islink(final):
        return final
    staging = os.path.join(lowers, "%s%s.%s" % (
        STAGING_PREFIX, os.path.basename(final), secrets.token_hex(6)))
    os.mkdir(staging, 0o700)
    try:
        extractCache(template.cachePath, staging)
        _syncDir(staging)
        try:
            _renameNoReplace(staging, final)
        except FileExistsError:
            # Another build won the race: use its result.
            _removeEntry(staging)
        else:
            _syncDir(lowers)
    except BaseException:
        _removeEntry(staging)
        raise
    return final


def _copyRootAttributes(src, dst):
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))


def createRoot(template, vdir, copy, datadir):
    """
    Create the files of a new VPS at C{vdir}, which must not exist. The
    caller has checked C{vdir} with L{checkVdir}.

    The directory is built in the sibling L{stagingPath} and renamed to
    C{vdir} at the end; on any exception the staging directory is removed
    and the exception re-raised. A staging directory left by a crash is
    replaced, so the caller must hold the VPS's lock. C{vdir} itself is
    made mode 0700 so host users cannot reach into a VPS (its setuid
    binaries, for one).

    @param template: a L{vcd.vps.templates.Template}.
    @param copy: C{True} for a full copy of the template, C{False} for an
        overlay over the template's shared lower layer.
    @param datadir: the daemon's data directory (for L{sharedLower}).
    @return: a L{RootLayout} describing the result.
    @raise FileExistsError: if C{vdir} exists.
    """
    vdir = posixpath.normpath(vdir)
    if os.path.lexists(vdir):
        raise FileExistsError(errno.EEXIST, "VPS directory exists", vdir)
    parent = posixpath.dirname(vdir)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    staging = stagingPath(vdir)
    _removeEntry(staging)  # a leftover of a crash
    os.mkdir(staging, 0o700)
    try:
        if copy:
            os.mkdir(os.path.join(staging, "rootfs"), 0o755)
            extractCache(template.cachePath, os.path.join(staging, "rootfs"))
            layout = RootLayout(KIND_COPY, vdir,
                                rootfs=os.path.join(vdir, "rootfs"))
        else:
            lower = sharedLower(template, datadir)
            os.mkdir(os.path.join(staging, "upper"), 0o755)
            os.mkdir(os.path.join(staging, "work"), 0o700)
            # The merged root takes its owner and mode from the upper root.
            _copyRootAttributes(lower, os.path.join(staging, "upper"))
            layout = RootLayout(KIND_OVERLAY, vdir, lower=lower,
                                upper=os.path.join(vdir, "upper"),
                                work=os.path.join(vdir, "work"))
        _syncDir(staging)
        _renameNoReplace(staging, vdir)
        _syncDir(parent)
    except BaseException:
        _removeEntry(staging)
        raise
    return layout


# -- removal ------------------------------------------------------------------

def _discard(path):
    """
    Rename C{path} to a trash sibling, then delete that without following
    symlinks.
    """
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    trash = _trashPath(path)
    os.rename(path, trash)
    shutil.rmtree(trash)


def removeRoot(vdir, vbasedir):
    """
    Remove the files of a VPS. A missing C{vdir} is not an error. The shared
    lower layer of an overlay VPS is left alone.

    @raise ValueError: if C{vdir} fails L{checkVdir}.
    @raise RootBusy: if anything is mounted at or beneath C{vdir} in this
        mount namespace (the caller checks that the VPS is stopped).
    """
    checkVdir(vdir, vbasedir)
    vdir = posixpath.normpath(vdir)
    if not os.path.lexists(vdir):
        return
    busy = mountsUnder(vdir)
    if busy:
        raise RootBusy(errno.EBUSY, "mounted: %s" % " ".join(busy), vdir)
    _discard(vdir)


def discardPartial(vdir, includeVdir=False):
    """
    Remove what an interrupted L{createRoot} may have left: the staging
    sibling of C{vdir} and, if C{includeVdir}, C{vdir} itself (for a VPS
    whose creation the daemon never recorded as complete). Used by the
    daemon's crash recovery at start-up.

    @raise RootBusy: if C{includeVdir} and something is mounted there.
    """
    _removeEntry(stagingPath(vdir))
    if includeVdir:
        busy = mountsUnder(vdir) if os.path.lexists(vdir) else []
        if busy:
            raise RootBusy(errno.EBUSY, "mounted: %s" % " ".join(busy), vdir)
        _discard(posixpath.normpath(vdir))


def sweepStaging(directory):
    """
    Remove the stray C{.vcd-new.*} and C{.vcd-trash.*} entries that crashes
    left in C{directory} (a base directory, or C{<datadir>/lower}). Only
    call it when nothing is being created or removed there.

    @return: the sorted names removed. A missing C{directory} has none.
    """
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    removed = []
    for name in sorted(names):
        if name.startswith(STAGING_PREFIX) or name.startswith(TRASH_PREFIX):
            _removeEntry(os.path.join(directory, name))
            removed.append(name)
    return removed
