# -*- test-case-name: tests.test_templates -*-
"""
vtemplate: build and list VPS templates.

    vtemplate [--templatedir DIR] build busybox NAME [--description TEXT]
    vtemplate [--templatedir DIR] build debian NAME [--suite SUITE]
              [--mirror URL] [--include PKGS] [--cache-dir DIR]
              [--description TEXT]
    vtemplate [--templatedir DIR] list

A template is C{<NAME>.tar.gz} plus C{<NAME>.conf} (see L{vcd.vps.templates}).
Both are written to temporary files and renamed into place, the
configuration first, so a template appears complete or not at all. A
Debian template is built by L{vcd.vps.debianbuild}: the same packages (kept
with C{--cache-dir}) give the same tarball, whose files are dated at most
the packages' release date.
"""

import argparse
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile

from vcd.config import DEFAULT_DATADIR
from vcd.vps import debianbuild
from vcd.vps.templates import (CACHE_SUFFIX, CONFIG_SUFFIX, DEFAULT_BCAPS,
                               Template, TemplateStore, validTemplateName)

DEFAULT_TEMPLATEDIR = os.path.join(DEFAULT_DATADIR, "templates")
DEFAULT_BUSYBOX = "/bin/busybox"
DEFAULT_MIRROR = debianbuild.DEFAULT_MIRROR
#: What systemd needs besides the default bounding set to boot in a user
#: namespace: SYS_ADMIN (its mounts, the services' namespaces) and SETPCAP
#: (dropping capabilities for its services). See docs/debian-boot.md.
SYSTEMD_BCAPS = frozenset(["SYS_ADMIN", "SETPCAP"])

INITTAB = """\
# busybox init for a container: nothing on a tty (there may be none).
::sysinit:/etc/init.d/rcS
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
"""

#: Written by the boot script as its last step (and removed as its first):
#: once it exists and the init has no other process left, the boot is over.
BOOTED = "/run/rcS.done"

RCS = """\
#!/bin/sh
# Mount what the container manager did not, and take the host name from
# /etc/hostname only if the manager set none. %(booted)s says the boot
# script has run to its end.
rm -f %(booted)s
mountpoint -q /proc || mount -t proc proc /proc 2>/dev/null
mountpoint -q /sys || mount -t sysfs sysfs /sys 2>/dev/null
[ "$(hostname)" = "(none)" ] && hostname -F /etc/hostname 2>/dev/null
: > %(booted)s
true
""" % {"booted": BOOTED}


class BuildError(Exception):
    """
    A template cannot be built; the message says why and what to install.
    """


def _isStaticELF(path):
    """
    @return: whether C{path} is an ELF executable without an interpreter
        (statically linked).
    """
    with open(path, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF":
            return False
        is64 = header[4] == 2
        endian = "<" if header[5] == 1 else ">"
        if is64:
            phoff, = struct.unpack(endian + "Q", header[32:40])
            phentsize, phnum = struct.unpack(endian + "HH", header[54:58])
        else:
            phoff, = struct.unpack(endian + "I", header[28:32])
            phentsize, phnum = struct.unpack(endian + "HH", header[42:46])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ptype, = struct.unpack(endian + "I", f.read(4))
            if ptype == 3:  # PT_INTERP
                return False
    return True


def _write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def populateBusybox(root, busybox, hostname):
    """
    Fill the empty directory C{root} with a minimal busybox system.

    @param busybox: a statically linked busybox binary.
    @raise BuildError: if C{busybox} is missing or not static.
    """
    if not os.path.isfile(busybox) or not _isStaticELF(busybox):
        raise BuildError(
            "%s is missing or not statically linked: install the Debian "
            "package busybox-static" % (busybox,))
    listing = subprocess.run(
        [busybox, "--list-full"], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, check=True).stdout.decode("ascii").split()
    for d, mode in (("bin", 0o755), ("sbin", 0o755), ("usr/bin", 0o755),
                    ("usr/sbin", 0o755), ("dev", 0o755), ("proc", 0o555),
                    ("sys", 0o555), ("tmp", 0o1777), ("run", 0o755),
                    ("var/log", 0o755), ("root", 0o700),
                    ("etc/init.d", 0o755)):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, d), mode)
    shutil.copy(busybox, os.path.join(root, "bin/busybox"))
    os.chmod(os.path.join(root, "bin/busybox"), 0o755)
    for applet in listing:
        applet = applet.strip("/")
        if not applet or ".." in applet.split("/") or applet == "bin/busybox":
            continue
        path = os.path.join(root, applet)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(path):
            os.symlink("/bin/busybox", path)
    etc = os.path.join(root, "etc")
    _write(os.path.join(etc, "inittab"), INITTAB)
    _write(os.path.join(etc, "init.d/rcS"), RCS, 0o755)
    _write(os.path.join(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
    _write(os.path.join(etc, "shadow"), "root:*:19000:0:99999:7:::\n", 0o600)
    _write(os.path.join(etc, "group"), "root:x:0:\ntty:x:5:\n")
    _write(os.path.join(etc, "hostname"), hostname + "\n")
    _write(os.path.join(etc, "hosts"), "127.0.0.1\tlocalhost\n")


def _tempName(templatedir, final):
    return os.path.join(templatedir, ".vcd-new.%s.%s" % (
        os.path.basename(final), secrets.token_hex(6)))


def _fsyncPath(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def writeTemplate(templatedir, template, root, ownerRoot, mtime=None):
    """
    Pack C{root} as the cache of C{template} and write its configuration,
    each through a temporary file renamed into place (configuration first).
    The tarball depends only on the tree: names sorted, no access or change
    times, no time stamp in the gzip header.

    @param ownerRoot: record every file as owned by root (for a tree built
        from scratch); otherwise keep the numeric owners on disk.
    @param mtime: if given, record no file as newer than this (seconds
        since the epoch).
    """
    cache = os.path.join(templatedir, template.name + CACHE_SUFFIX)
    config = os.path.join(templatedir, template.name + CONFIG_SUFFIX)
    tmpCache = _tempName(templatedir, cache)
    tmpConfig = _tempName(templatedir, config)
    command = ["tar", "--create", "--use-compress-program=gzip -n",
               "--file", tmpCache,
               "--directory", root, "--numeric-owner", "--sort=name",
               "--xattrs", "--xattrs-include=*", "--format=posix",
               "--pax-option=exthdr.name=%d/PaxHeaders/%f,"
               "delete=atime,delete=ctime"]
    if mtime is not None:
        command += ["--mtime=@%d" % (mtime,), "--clamp-mtime"]
    if ownerRoot:
        command += ["--owner=0", "--group=0"]
    command.append(".")
    try:
        subprocess.run(command, stdin=subprocess.DEVNULL, check=True)
        _fsyncPath(tmpCache)
        _write(tmpConfig, template.toConfig())
        _fsyncPath(tmpConfig)
        os.rename(tmpConfig, config)
        os.rename(tmpCache, cache)
        _fsyncPath(templatedir)
    finally:
        for leftover in (tmpCache, tmpConfig):
            if os.path.lexists(leftover):
                os.unlink(leftover)
    return cache


def build(templatedir, kind, name, description, busybox=DEFAULT_BUSYBOX,
          suite=debianbuild.DEFAULT_SUITE, mirror=DEFAULT_MIRROR,
          include=None, force=False, cacheDir=None):
    """
    Build a template called C{name} in C{templatedir}.

    @param kind: C{"busybox"} or C{"debian"}.
    @param include: for Debian, the packages besides minbase (a
        comma-separated string; C{None} for
        L{debianbuild.DEFAULT_PACKAGES}).
    @param cacheDir: for Debian, where the downloaded packages are kept
        and found again (C{None}: not kept).
    @return: the L{Template} as now found in C{templatedir}.
    @raise BuildError: saying what went wrong.
    """
    if not validTemplateName(name):
        raise BuildError("invalid template name %r" % (name,))
    os.makedirs(templatedir, mode=0o755, exist_ok=True)
    if not force and os.path.exists(
            os.path.join(templatedir, name + CACHE_SUFFIX)):
        raise BuildError("template %r exists (use --force to replace it)"
                         % (name,))
    root = tempfile.mkdtemp(prefix=".vcd-new.%s.root." % (name,),
                            dir=templatedir)
    try:
        os.chmod(root, 0o755)
        if kind == "busybox":
            populateBusybox(root, busybox, name)
            template = Template(
                name, None,
                description=description or "Minimal busybox system")
            mtime = None
        elif kind == "debian":
            mtime = debianbuild.buildDebian(root, suite, mirror, include,
                                            cacheDir)
            release = debianbuild.RELEASES.get(suite, suite)
            template = Template(
                name, None,
                description=description or "Debian %s (%s) minbase with "
                "systemd" % (release, suite),
                distribution="debian", release=release,
                date=debianbuild.isoDate(mtime), halt="/sbin/poweroff",
                timeout=30, bcaps=DEFAULT_BCAPS | SYSTEMD_BCAPS)
        else:
            raise BuildError("unknown template kind %r" % (kind,))
        writeTemplate(templatedir, template, root,
                      ownerRoot=kind == "busybox", mtime=mtime)
    except subprocess.CalledProcessError as e:
        raise BuildError(str(e)) from e
    except debianbuild.DebianBuildError as e:
        raise BuildError(str(e)) from e
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return TemplateStore(templatedir).get(name)


def _parser():
    parser = argparse.ArgumentParser(
        prog="vtemplate", description="Build and list VPS templates.")
    parser.add_argument("--templatedir", default=DEFAULT_TEMPLATEDIR,
                        help="default: %(default)s")
    commands = parser.add_subparsers(dest="command", required=True)
    buildParser = commands.add_parser("build", help="build a template")
    kinds = buildParser.add_subparsers(dest="kind", required=True)
    for kind, help in (("busybox", "from Debian's busybox-static"),
                       ("debian", "with debootstrap --variant=minbase")):
        sub = kinds.add_parser(kind, help=help)
        sub.add_argument("name")
        sub.add_argument("--description", default="")
        sub.add_argument("--force", action="store_true",
                         help="replace an existing template")
        if kind == "busybox":
            sub.add_argument("--busybox", default=DEFAULT_BUSYBOX,
                             help="static busybox binary (default "
                             "%(default)s)")
        else:
            sub.add_argument("--suite", default="bookworm")
            sub.add_argument("--mirror", default=DEFAULT_MIRROR)
            sub.add_argument("--include", default=",".join(
                debianbuild.DEFAULT_PACKAGES),
                             help="packages besides minbase, comma-separated"
                             " (default %(default)s; systemd-sysv provides"
                             " /sbin/init)")
            sub.add_argument("--cache-dir", default=None,
                             help="keep the downloaded packages here and "
                             "build from them again (same packages, same "
                             "template, no network)")
    commands.add_parser("list", help="list templates")
    return parser


def main(argv=None):
    """
    Run vtemplate with C{argv} (default C{sys.argv[1:]}).

    @return: the exit status (0 success, 1 failure, 2 usage).
    """
    args = _parser().parse_args(argv)
    if args.command == "list":
        for template in TemplateStore(args.templatedir).list():
            print("\t".join([template.name, template.description] + [
                value for value in (template.distribution, template.release,
                                    template.date) if value]))
        return 0
    options = {}
    if args.kind == "busybox":
        options["busybox"] = args.busybox
    else:
        options.update(suite=args.suite, mirror=args.mirror,
                       include=args.include, cacheDir=args.cache_dir)
    try:
        template = build(args.templatedir, args.kind, args.name,
                         args.description, force=args.force, **options)
    except (BuildError, OSError) as e:
        print("vtemplate: %s" % (e,), file=sys.stderr)
        return 1
    print(template.cachePath)
    return 0


if __name__ == "__main__":
    sys.exit(main())
