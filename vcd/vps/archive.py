# -*- test-case-name: tests.test_rootfs,tests.test_crashkill -*-
"""
Extracting a template cache (a tar archive of a root filesystem) safely.

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

The extraction dies with the daemon: tar runs in a process group of its own
(with the decompressor it starts) under a parent-death signal (SIGKILL,
set by C{setpriv --pdeathsig} before tar is executed). Linux sends that
signal when the I{thread} that forked the child exits, so
L{extractCache} must be called from a thread that lives as long as the
extraction (a thread-pool thread blocked in it does). The crash recovery
kills whatever still writes into a staging directory anyway (see
L{vcd.vps.leftovers}), for the moment between the fork and the
C{prctl} in which a dying daemon would leave tar unsignalled.
"""

import errno
import os
import shutil
import subprocess
import tarfile


class UnsafeArchive(ValueError):
    """
    A template cache holds a member that could write outside the directory
    it is extracted into, or that no root filesystem needs.
    """


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
    for program, package in (("tar", "tar"), ("setpriv", "util-linux")):
        if shutil.which(program) is None:
            raise OSError(errno.ENOENT, "%s is needed to extract templates"
                          " (Debian package %s)" % (program, package))
    result = subprocess.run(
        ["setpriv", "--pdeathsig", "KILL", "--",
         "tar", "--extract", "--file", cache, "--directory", dest,
         "--numeric-owner", "--same-owner", "--same-permissions",
         "--xattrs", "--xattrs-include=*", "--delay-directory-restore"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, close_fds=True, process_group=0)
    if result.returncode != 0:
        raise OSError(
            "tar failed extracting %r (exit %d): %s"
            % (cache, result.returncode,
               result.stderr.decode("utf-8", "replace").strip()))
