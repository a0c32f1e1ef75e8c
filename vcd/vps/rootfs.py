# -*- test-case-name: tests.test_rootfs -*-
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

The template cache is extracted by L{vcd.vps.archive.extractCache}; the
renames and flushes are those of L{vcd.vps.crashsafe}.
"""

import errno
import hashlib
import os
import posixpath
import secrets
import shutil
import stat

from vcd.vps.archive import extractCache
from vcd.vps.idshift import shiftOwners
from vcd.vps.crashsafe import removeEntry, renameNoReplace, syncDir
from vcd.vps.mountuse import mountsUnder
from vcd.vps.rootlayout import KIND_COPY, KIND_OVERLAY, RootLayout

STAGING_PREFIX = ".vcd-new."
TRASH_PREFIX = ".vcd-trash."


class RootBusy(OSError):
    """
    Something is mounted at or beneath a VPS directory, so it cannot be
    removed.
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
        syncDir(staging)
        try:
            renameNoReplace(staging, final)
        except FileExistsError:
            # Another build won the race: use its result.
            removeEntry(staging)
        else:
            syncDir(lowers)
    except BaseException:
        removeEntry(staging)
        raise
    return final


def _copyRootAttributes(src, dst):
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))


def createRoot(template, vdir, copy, datadir, idBase=0, idCount=0):
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
    @param idBase: for a copy, the host id that owns its files (the VPS's
        root in its user namespace) with the next C{idCount - 1} ids; 0 to
        keep the template's owners. An overlay keeps the template's owners
        in its layers whatever these are (they are idmapped at start).
    @return: a L{RootLayout} describing the result.
    @raise FileExistsError: if C{vdir} exists.
    """
    vdir = posixpath.normpath(vdir)
    if os.path.lexists(vdir):
        raise FileExistsError(errno.EEXIST, "VPS directory exists", vdir)
    parent = posixpath.dirname(vdir)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    staging = stagingPath(vdir)
    removeEntry(staging)  # a leftover of a crash
    os.mkdir(staging, 0o700)
    try:
        if copy:
            os.mkdir(os.path.join(staging, "rootfs"), 0o755)
            extractCache(template.cachePath, os.path.join(staging, "rootfs"))
            if idBase:
                shiftOwners(os.path.join(staging, "rootfs"), 0, idBase,
                            idCount)
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
        syncDir(staging)
        renameNoReplace(staging, vdir)
        syncDir(parent)
    except BaseException:
        removeEntry(staging)
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
    removeEntry(stagingPath(vdir))
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
            removeEntry(os.path.join(directory, name))
            removed.append(name)
    return removed
