# -*- test-case-name: tests.test_debian_template,tests.test_debian_boot -*-
"""
Building a Debian root filesystem for a VPS template: C{debootstrap}, then
the changes that make it boot as an unprivileged container and carry no
identity of the host that built it.

What a built tree holds, and why (see C{docs/debian-boot.md}):

  - no host name (C{/etc/hostname} empty): systemd then keeps the name the
    container manager gave the UTS namespace, the VPS's name from VXDB;
  - an empty C{/etc/machine-id}: systemd writes a new one at the first
    boot of each VPS (C{/var/lib/dbus/machine-id} points to it);
  - no SSH host keys: a drop-in makes C{ssh.service} run C{ssh-keygen -A}
    first, so each VPS makes its own at its first boot;
  - a C{/etc/resolv.conf} naming no name server (the build host's would
    leak into every VPS), and a C{/etc/hosts} with only the loopback
    names (C{libnss-myhostname} resolves the VPS's own name);
  - the units that can never work in a user namespace masked: the
    mounts of debugfs, tracefs and configfs, which no user namespace may
    mount (they fail, and the boot is C{degraded}, once the VPS has
    CAP_SYS_RAWIO, their only condition);
  - no logs, package lists, caches or backup files of the build, and
    every date (files, C{/etc/shadow}) at most the release date of the
    packages, so that the same packages give the same tree.

The packages C{debootstrap} fetches can be kept in a cache directory, one
tarball per suite, mirror, architecture and package list: a rebuild from
it needs no network and installs the very same package versions.
"""

import email.utils
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from vcd.vps import packagecache

DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
#: Besides debootstrap's minbase: systemd as init, D-Bus (logind,
#: hostnamectl), the VPS's own name resolvable without a per-VPS file, and
#: an SSH server (its host keys made per VPS).
DEFAULT_PACKAGES = ("systemd-sysv", "dbus", "libnss-myhostname",
                    "openssh-server")
#: Debian's release numbers, for the template's configuration.
RELEASES = {"buster": "10", "bullseye": "11", "bookworm": "12",
            "trixie": "13"}

RESOLV_CONF = """\
# No name server is configured for this VPS: name your resolvers here.
"""
HOSTS = """\
127.0.0.1\tlocalhost
::1\t\tlocalhost ip6-localhost ip6-loopback
ff02::1\t\tip6-allnodes
ff02::2\t\tip6-allrouters
"""
SSH_HOST_KEYS_DROPIN = """\
# Written by vtemplate: the template has no SSH host keys, so that no two
# VPSes share one; each VPS makes its own before sshd first starts.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""

#: Units masked because they cannot work in a container (see the module
#: docstring).
MASKED_UNITS = ("sys-kernel-config.mount", "sys-kernel-debug.mount",
                "sys-kernel-tracing.mount")

#: Files and directories of the build itself, removed from the tree (glob
#: patterns relative to the root).
BUILD_LEFTOVERS = (
    "var/log/bootstrap.log", "var/log/dpkg.log", "var/log/alternatives.log",
    "var/log/apt/*", "var/log/journal/*",
    "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*_*",
    "var/cache/debconf/*-old", "var/lib/dpkg/*-old",
    "var/cache/ldconfig/aux-cache",
    "etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-",
    "etc/ssh/ssh_host_*",
    "var/lib/dbus/machine-id", "var/lib/systemd/random-seed",
    "var/lib/systemd/catalog/database",
)


class DebianBuildError(Exception):
    """
    A Debian tree cannot be built; the message says why and what to do.
    """


def _debootstrap():
    """
    The command that runs debootstrap in a mount namespace of its own
    (private propagation): the proc, sysfs and device mounts it makes in
    the new tree (more of them when it believes it runs in a container)
    vanish with it, even if it is killed, and never show in the host's
    mount table, nor in a copy of the machine taken meanwhile.
    """
    if shutil.which("debootstrap") is None:
        raise DebianBuildError("debootstrap is missing: install the Debian "
                               "package debootstrap")
    if shutil.which("unshare") is None:
        raise DebianBuildError("unshare is missing: install the Debian "
                               "package util-linux")
    return ["unshare", "--mount", "--propagation", "private", "debootstrap"]


def _architecture():
    try:
        out = subprocess.run(["dpkg", "--print-architecture"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise DebianBuildError("cannot tell the Debian architecture (%s)"
                               % (e,))
    return out.stdout.decode("ascii").strip()


def packageList(include):
    """
    @param include: extra package names, a comma-separated string or a
        sequence (C{None} for L{DEFAULT_PACKAGES}).
    @return: the sorted tuple of distinct package names.
    """
    if include is None:
        include = DEFAULT_PACKAGES
    if isinstance(include, str):
        include = include.split(",")
    names = sorted({p.strip() for p in include if p.strip()})
    for name in names:
        if not all(c.isalnum() or c in "+-.:" for c in name):
            raise DebianBuildError("%r is not a package name" % (name,))
    return tuple(names)


def packagesTarball(cacheDir, suite, mirror, architecture, packages):
    """
    @return: the path of the package tarball for this suite, mirror,
        architecture and package list in C{cacheDir} (whether it exists or
        not).
    """
    key = hashlib.sha256("\n".join(
        (suite, mirror, architecture) + tuple(packages)).encode(
            "utf-8")).hexdigest()[:16]
    return os.path.join(cacheDir, "debootstrap-%s-%s-%s.tar.gz" % (
        suite, architecture, key))


def _run(command, what):
    result = subprocess.run(command, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = result.stdout.decode("utf-8", "replace").strip()[-2000:]
        raise DebianBuildError("%s failed (exit %d): %s" % (
            what, result.returncode, tail))


def _warn(message):
    print("vcd debian build: " + message, file=sys.stderr)


def makeTarball(partial, work, suite, mirror, packages):
    """
    Download the packages of a build into the new file C{partial} with
    C{debootstrap --make-tarball}, in the empty work directory C{work}.
    """
    _run(_debootstrap() + [
        "--variant=minbase", "--include=" + ",".join(packages),
        "--make-tarball=" + partial, suite, work, mirror],
        "debootstrap --make-tarball from %s" % (mirror,))


def fetchPackages(cacheDir, suite, mirror, packages, make=makeTarball,
                  warn=_warn):
    """
    Make sure the cache holds the packages of this build, whole: download
    them unless it already does (see L{vcd.vps.packagecache}). A damaged
    tarball is moved aside (and C{warn} called saying so), and made again.

    @param make: makes a tarball, called as L{makeTarball} is.
    @param warn: called with a message on what was found amiss.
    @return: the tarball's path.
    """
    tarball = packagesTarball(cacheDir, suite, mirror, _architecture(),
                              packages)
    with packagecache.lockedCache(cacheDir):
        packagecache.sweep(cacheDir, warn)
        if os.path.lexists(tarball):
            damage = packagecache.tarballDamage(tarball)
            if damage is None:
                return tarball
            warn("the package tarball %s is damaged (%s): moved to %s, made"
                 " again" % (tarball, damage,
                             packagecache.setAside(tarball)))
        work = tempfile.mkdtemp(prefix=packagecache.WORK_PREFIX,
                                dir=cacheDir)
        partial = tarball + packagecache.PARTIAL_MARK + os.path.basename(
            work)
        try:
            make(partial, work, suite, mirror, packages)
            damage = packagecache.tarballDamage(partial)
            if damage is not None:
                raise DebianBuildError("the package tarball debootstrap made"
                                       " is damaged (%s)" % (damage,))
            packagecache.publish(partial, tarball)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if os.path.exists(partial):
                os.unlink(partial)
    return tarball


def bootstrap(root, suite, mirror, packages, cacheDir=None):
    """
    Install a minimal Debian (C{debootstrap --variant=minbase} with
    C{packages}) into the empty directory C{root}, from the package
    tarball in C{cacheDir} (made first if missing) or, without a cache,
    straight from the mirror.
    """
    command = _debootstrap() + ["--variant=minbase",
                                "--include=" + ",".join(packages)]
    what = "debootstrap from %s" % (mirror,)
    if cacheDir is not None:
        tarball = fetchPackages(cacheDir, suite, mirror, packages)
        command.append("--unpack-tarball=" + tarball)
        what = "debootstrap from %s (if it is damaged, remove it)" % (
            tarball,)
    _run(command + [suite, root, mirror], what)


def releaseDate(root):
    """
    @return: the date (seconds since the epoch) of the suite's Release file
        the packages in C{root} came from: the newest a file of the tree
        may be, and the template's date.
    @raise DebianBuildError: if C{root} holds no Release file with a date.
    """
    lists = os.path.join(root, "var/lib/apt/lists")
    for path in sorted(glob.glob(os.path.join(lists, "*_InRelease")) +
                       glob.glob(os.path.join(lists, "*_Release"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Date:"):
                    parsed = email.utils.parsedate_tz(line[5:].strip())
                    if parsed is not None:
                        return int(email.utils.mktime_tz(parsed))
    raise DebianBuildError("no dated Release file in %s" % (lists,))


def _write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def _clampShadow(path, epoch):
    """
    Set the date of the last password change in the shadow file C{path} to
    the day of C{epoch} where it is later (it is the day of the build).
    """
    if not os.path.exists(path):
        return
    day = epoch // 86400
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit() and int(fields[2]) > day:
            fields[2] = str(day)
        out.append(":".join(fields))
    mode = os.stat(path).st_mode & 0o7777
    _write(path, "".join(line + "\n" for line in out), mode)


def _removeLeftovers(root):
    for pattern in BUILD_LEFTOVERS:
        for path in glob.glob(os.path.join(root, pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)


def clampDates(root, epoch):
    """
    Set the modification time of every file of C{root} newer than C{epoch}
    to C{epoch} (the files the build wrote; those unpacked from packages
    keep their packaged dates).
    """
    for directory, dirs, files in os.walk(root):
        for name in dirs + files + ["."]:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            if st.st_mtime > epoch:
                os.utime(path, (epoch, epoch), follow_symlinks=False)


def maskUnits(root, units):
    """
    Mask the systemd C{units} in the tree C{root} (as C{systemctl mask}
    does: a link to C{/dev/null} in C{/etc/systemd/system}).
    """
    directory = os.path.join(root, "etc/systemd/system")
    os.makedirs(directory, mode=0o755, exist_ok=True)
    for unit in units:
        path = os.path.join(directory, unit)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink("/dev/null", path)


def removeIdentity(root, epoch):
    """
    Strip the build host's identity and the build's leftovers from the
    Debian tree C{root} (see the module docstring).
    """
    etc = os.path.join(root, "etc")
    _removeLeftovers(root)
    _write(os.path.join(etc, "hostname"), "")
    _write(os.path.join(etc, "machine-id"), "", 0o444)
    dbus = os.path.join(root, "var/lib/dbus")
    if os.path.isdir(dbus):
        os.symlink("/etc/machine-id", os.path.join(dbus, "machine-id"))
    resolv = os.path.join(etc, "resolv.conf")
    if os.path.lexists(resolv):
        os.unlink(resolv)
    _write(resolv, RESOLV_CONF)
    _write(os.path.join(etc, "hosts"), HOSTS)
    if os.path.isdir(os.path.join(etc, "ssh")):
        dropins = os.path.join(etc, "systemd/system/ssh.service.d")
        os.makedirs(dropins, mode=0o755, exist_ok=True)
        _write(os.path.join(dropins, "vcd-host-keys.conf"),
               SSH_HOST_KEYS_DROPIN)
    maskUnits(root, MASKED_UNITS)
    _clampShadow(os.path.join(etc, "shadow"), epoch)
    clampDates(root, epoch)


def buildDebian(root, suite=DEFAULT_SUITE, mirror=DEFAULT_MIRROR,
                include=None, cacheDir=None):
    """
    Fill the empty directory C{root} with a Debian system for a template.

    @param include: the packages besides minbase (see L{packageList}).
    @param cacheDir: where the downloaded packages are kept (C{None}: not
        kept).
    @return: the release date of its packages (seconds since the epoch),
        which is also the newest date of any of its files.
    @raise DebianBuildError: saying what went wrong or is missing.
    """
    bootstrap(root, suite, mirror, packageList(include), cacheDir)
    epoch = releaseDate(root)
    removeIdentity(root, epoch)
    return epoch


def isoDate(epoch):
    """
    @return: C{epoch} as an ISO 8601 UTC date and time.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
