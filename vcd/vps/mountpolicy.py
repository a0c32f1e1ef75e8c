# -*- test-case-name: tests.test_policy -*-
"""
What may be mounted into a VPS (C{vxdb.mount.set}), on top of the syntax
the method checks.

Callers without the admin flag get an allow-list: the filesystem types of
L{USER_TYPES}, which show the VPS only what belongs to it (a tmpfs, its own
processes, its own network's sysfs, its own PTYs, its own message queues),
each with the options listed there and the generic flags of L{FLAGS}. No
option of theirs may name a path: every path an option names is the
host's (C{lowerdir=}, C{upperdir=}, C{workdir=}, C{source=}, a loop file).

Administrators may mount any other type, but never one of
L{HOST_GLOBAL_TYPES} (they show the VPS state of the whole host, and
several let it change that state), and never a path the VPS can write or
that holds one: nothing under, at or above the vbasedir or the daemon's
data directory (its lxcpath, where the VPS's root is mounted), compared
after resolving symlinks. Bind mounts are refused to everybody before
this policy is asked (L{vcd.methods.vxdb}).

Every refusal is MEPERM, naming the type or option.

The proc, sysfs and devpts entries are recorded only: LXC mounts those
itself, with its masking of the sensitive files
(L{vcd.kernel.lxcconfig} skips the entries). Were they mounted as given,
a fresh proc or sysfs in a privileged VPS would be the host's, writable.
"""

import os
import re

from vcd.vxdb import registry, settings, tables
from vcd.faults import MEPERM, VCDFault

#: Types that expose host-global state: refused to everybody, with why.
HOST_GLOBAL_TYPES = {
    "devtmpfs": "it is the host's /dev, every device node of the host",
    "debugfs": "it exposes the host kernel's internals",
    "tracefs": "it traces the whole host kernel",
    "securityfs": "it holds the host's security modules' policy",
    "bpf": "its pinned BPF objects are the host's",
    "cgroup": "its hierarchy is the host's; LXC mounts the VPS's cgroups",
    "cgroup2": "its hierarchy is the host's; LXC mounts the VPS's cgroups",
    "binfmt_misc": "its interpreters apply to the whole host",
    "configfs": "its kernel objects are the host's",
    "efivarfs": "it holds the host's firmware variables",
    "pstore": "it holds the host's crash records",
    "fusectl": "it controls every FUSE connection of the host",
    "selinuxfs": "it holds the host's SELinux policy",
    "smackfs": "it holds the host's Smack policy",
    "nfsd": "it controls the host's NFS server",
    "rpc_pipefs": "its pipes talk to the host's RPC daemons",
}

#: Flags every type of L{USER_TYPES} accepts.
FLAGS = frozenset([
    "defaults", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec",
    "exec", "noatime", "atime", "nodiratime", "diratime", "relatime",
    "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime",
    "sync", "async", "dirsync", "silent", "loud",
])

_SIZE = r"[0-9]{1,20}[kKmMgGtTpPeE]?"
_COUNT = r"[0-9]{1,20}[kKmMgGtTpPeE]?"
_MODE = r"[0-7]{1,4}"
_ID = r"[0-9]{1,10}"

#: The types callers without the admin flag may mount: for each, its own
#: flags (C{None}) and valued options (a pattern their value must match).
USER_TYPES = {
    "tmpfs": {"size": _SIZE, "nr_blocks": _COUNT, "nr_inodes": _COUNT,
              "mode": _MODE, "uid": _ID, "gid": _ID,
              "huge": r"never|always|within_size|advise",
              "inode32": None, "inode64": None, "noswap": None},
    "proc": {"hidepid": r"[0-24]|off|noaccess|invisible|ptraceable",
             "gid": _ID, "subset": r"pid"},
    "sysfs": {},
    "devpts": {"uid": _ID, "gid": _ID, "mode": _MODE, "ptmxmode": _MODE,
               "max": _ID, "newinstance": None},
    "mqueue": {},
}

#: Options whose value is a path of the host (and the loop flag, whose
#: file is the source).
PATH_OPTIONS = frozenset([
    "lowerdir", "lowerdir+", "upperdir", "workdir", "datadir+", "source",
    "loop",
])


def _split(option):
    key, equals, value = option.partition("=")
    return key, (value if equals else None)


def _userRefusal(src, fstype, opts):
    if fstype in HOST_GLOBAL_TYPES:
        return "filesystem type %s is refused: %s" % (
            fstype, HOST_GLOBAL_TYPES[fstype])
    options = [_split(option) for option in opts.split(",")]
    for key, value in options:
        if key in PATH_OPTIONS or (value is not None and "/" in value):
            return "mount option %s names a host path" % (key,)
    allowed = USER_TYPES.get(fstype)
    if allowed is None:
        return ("filesystem type %s is for administrators only (allowed: %s)"
                % (fstype, ", ".join(sorted(USER_TYPES))))
    for option, (key, value) in zip(opts.split(","), options):
        if value is None and (option in FLAGS or (
                option in allowed and allowed[option] is None)):
            continue
        pattern = allowed.get(key)
        if pattern is None:
            return ("mount option %s of %s is for administrators only"
                    % (key, fstype))
        if value is None or not re.fullmatch(pattern, value):
            return "mount option %s of %s must match %s" % (key, fstype,
                                                            pattern)
    return None


def _optionPaths(opts):
    """
    The paths the options of a mount name, with the option naming each.
    """
    for option in opts.split(","):
        key, value = _split(option)
        if value is None:
            continue
        if key in PATH_OPTIONS:
            for path in value.split(":"):
                yield key, path
        elif "/" in value:
            yield key, value


def _overlaps(path, roots):
    """
    The first of C{roots} (resolved) that C{path} (resolved) is at, under
    or above, or None.
    """
    path = os.path.realpath(path)
    for root in roots:
        if os.path.commonpath([path, root]) in (path, root):
            return root
    return None


def _adminRefusal(src, fstype, opts, protectedRoots):
    if fstype in HOST_GLOBAL_TYPES:
        return "filesystem type %s is refused: %s" % (
            fstype, HOST_GLOBAL_TYPES[fstype])
    roots = [os.path.realpath(root) for root in protectedRoots]
    named = list(_optionPaths(opts))
    if src.startswith("/"):
        named.insert(0, ("src", src))
    for what, path in named:
        if not path.startswith("/"):
            return "mount option %s: %r is not an absolute path" % (what,
                                                                     path)
        root = _overlaps(path, roots)
        if root is not None:
            return ("%s %s is at, under or above %s, which virtual servers"
                    " can write" % (what, path, root))
    return None


def mountRefusal(src, fstype, opts, admin, protectedRoots):
    """
    Why a mount may not be set, or None if it may.

    @param src: its source (an identifier, or for administrators a path).
    @param fstype: its filesystem type.
    @param opts: its options, separated by commas.
    @param admin: whether the caller has the admin flag.
    @param protectedRoots: the directories virtual servers can write in
        (the vbasedir and the daemon's data directory).
    @return: a message naming the refused type, option or path.
    """
    if admin:
        return _adminRefusal(src, fstype, opts, protectedRoots)
    return _userRefusal(src, fstype, opts)


def refuseMount(src, fstype, opts, admin, protectedRoots):
    """
    L{mountRefusal}, as a fault.

    @raise VCDFault: MEPERM with the refusal.
    """
    why = mountRefusal(src, fstype, opts, admin, protectedRoots)
    if why is not None:
        raise VCDFault(MEPERM, why)


def _storedMounts(cursor):
    mounts = []
    for name in registry.vpsNames(cursor):
        xid = registry.findVps(cursor, name).xid
        mounts.extend((name, row) for row in
                      settings.keyedRows(cursor, tables.MOUNTS, xid))
    return mounts


def auditStoredMounts(db, protectedRoots):
    """
    At start-up: the stored mounts a caller without the admin flag could
    not set now (set by an administrator, or stored before this policy).
    C{vx.start} refuses those no one may set; the others are for the
    administrator to review.

    @param db: the L{vcd.vxdb.database.VXDB}, opened.
    @return: a line for each, naming the VPS, the mount and why.
    """
    lines = []
    for name, row in db.transactNow(_storedMounts):
        why = mountRefusal(row["src"], row["type"], row["opts"], False,
                           protectedRoots)
        if why is not None:
            forbidden = mountRefusal(row["src"], row["type"], row["opts"],
                                     True, protectedRoots)
            lines.append("%s: mount on %s: %s%s" % (
                name, row["dst"], why, "; vx.start refuses it: %s"
                % (forbidden,) if forbidden else
                "; only an administrator may set it: check who did"))
    return lines
