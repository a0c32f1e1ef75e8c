# -*- test-case-name: tests.test_crash_consistency,tests.test_vx_methods -*-
"""
The root record of each VPS (table C{vps_root}) and the state machine that
makes creating, rebuilding and removing crash-safe: C{creating},
C{rebuilding} and C{removing} while files are being touched, C{ready}
after, C{broken} when a rebuild failed (see L{vcd.vps.provision}).
"""

import json
from collections import namedtuple

from vcd.faults import MEEXIST, VCDFault
from vcd.vxdb import registry, settings, tables, userns

#: What a new VPS gets from its template, already filtered to what this
#: host can enforce: C{bcaps}, C{ccaps}, C{flags} (sets of names),
#: C{mounts} (C{(src, dst, type, opts)}), and the init settings.
TemplateDefaults = namedtuple(
    "TemplateDefaults", "bcaps ccaps flags mounts init halt reboot timeout")

#: A VPS a crash interrupted: C{state} is C{creating}, C{rebuilding} or
#: C{removing}.
Interrupted = namedtuple("Interrupted", "xid name vdir state")


def refuseKnownVdir(cursor, vdir, xid=None):
    """
    @raise VCDFault: MEEXIST if C{vdir} belongs to a VPS other than C{xid}.
    """
    row = cursor.execute(
        "SELECT m.name FROM vps_root r JOIN xid_name_map m ON r.xid = m.xid"
        " WHERE r.vdir = ? AND r.xid != ?", (vdir, xid or -1)).fetchone()
    if row is not None:
        raise VCDFault(MEEXIST, "directory %s already belongs to virtual"
                       " server %r" % (vdir, row[0]))


def _applyDefaults(cursor, xid, defaults):
    for table, values in ((tables.BCAPS, defaults.bcaps),
                          (tables.CCAPS, defaults.ccaps),
                          (tables.FLAGS, defaults.flags)):
        for value in sorted(values):
            settings.addToSet(cursor, table, xid, value)
    for src, dst, fstype, opts in defaults.mounts:
        settings.storeRow(cursor, tables.MOUNTS, xid, {
            "src": src, "dst": dst, "type": fstype, "opts": opts})
    settings.storeRow(cursor, tables.INIT_METHOD, xid, {
        "init": defaults.init, "halt": defaults.halt,
        "reboot": defaults.reboot, "timeout": defaults.timeout})


def beginCreate(cursor, name, ownerUid, kind, vdir, templateName, defaults,
                idRanges, idCount):
    """
    Record a new VPS in state C{creating}, with its template's
    L{TemplateDefaults}, user C{ownerUid} as owner, and a range of
    C{idCount} host ids from C{idRanges} (L{userns.allocate}).

    @return: its new xid.
    @raise VCDFault: MEEXIST if the name or the directory is taken; MESYS
        if no range of ids is free.
    """
    if registry.findVps(cursor, name) is not None:
        raise VCDFault(MEEXIST, "virtual server %r already exists" % (name,))
    refuseKnownVdir(cursor, vdir)
    xid = registry.allocateXid(cursor)
    cursor.execute("INSERT INTO xid_name_map (xid, name) VALUES (?, ?)",
                   (xid, name))
    cursor.execute("INSERT INTO vps_root (xid, state, kind, vdir, template)"
                   " VALUES (?, 'creating', ?, ?, ?)",
                   (xid, kind, vdir, templateName))
    _applyDefaults(cursor, xid, defaults)
    cursor.execute("INSERT INTO xid_uid_map (xid, uid) VALUES (?, ?)",
                   (xid, ownerUid))
    userns.allocate(cursor, xid, idRanges, idCount)
    return xid


def beginRebuild(cursor, xid, kind, vdir, templateName):
    """
    Mark an existing VPS as being rebuilt (state C{rebuilding}: a crash
    now leaves it C{broken}, its configuration kept).

    @return: its old root row C{(kind, vdir, template, layout)}, or None,
        for L{restoreRoot}.
    """
    old = cursor.execute("SELECT kind, vdir, template, layout FROM vps_root"
                         " WHERE xid = ?", (xid,)).fetchone()
    refuseKnownVdir(cursor, vdir, xid)
    cursor.execute("INSERT OR REPLACE INTO vps_root (xid, state, kind, vdir,"
                   " template) VALUES (?, 'rebuilding', ?, ?, ?)",
                   (xid, kind, vdir, templateName))
    return tuple(old) if old is not None else None


def restoreRoot(cursor, xid, old):
    """
    Undo L{beginRebuild} when the old files could not be removed.
    """
    if old is None:
        cursor.execute("DELETE FROM vps_root WHERE xid = ?", (xid,))
    else:
        cursor.execute("INSERT OR REPLACE INTO vps_root (xid, state, kind,"
                       " vdir, template, layout) VALUES (?, 'ready', ?, ?,"
                       " ?, ?)", (xid,) + tuple(old))


def rootState(cursor, xid):
    """
    @return: C{(state, layout record as JSON text)} of VPS C{xid}, or
        C{(None, None)} if it has no root record.
    """
    row = cursor.execute("SELECT state, layout FROM vps_root WHERE xid = ?",
                         (xid,)).fetchone()
    return tuple(row) if row is not None else (None, None)


def currentVdir(cursor, xid):
    """
    @return: the directory of VPS C{xid}, or None.
    """
    row = cursor.execute("SELECT vdir FROM vps_root WHERE xid = ?",
                         (xid,)).fetchone()
    return row[0] if row is not None else None


def finishCreate(cursor, xid, layoutRecord, filesBase=0):
    """
    Mark VPS C{xid} ready, with its root layout's record (a dict) and the
    host id that owns the files of its copy (L{userns.setFilesBase}).
    """
    cursor.execute("UPDATE vps_root SET state = 'ready', layout = ? WHERE"
                   " xid = ?", (json.dumps(layoutRecord), xid))
    userns.setFilesBase(cursor, xid, filesBase)


def forget(cursor, xid):
    """
    Delete VPS C{xid} and, by cascade, every row about it.
    """
    cursor.execute("DELETE FROM xid_name_map WHERE xid = ?", (xid,))


def beginRemove(cursor, xid):
    """
    Mark VPS C{xid} C{removing}.

    @return: its directory, or None if it has no root record.
    """
    vdir = currentVdir(cursor, xid)
    if vdir is not None:
        setState(cursor, xid, "removing")
    return vdir


def setState(cursor, xid, state):
    """
    Set the root state of VPS C{xid}.
    """
    cursor.execute("UPDATE vps_root SET state = ? WHERE xid = ?",
                   (state, xid))


def interrupted(cursor):
    """
    @return: the L{Interrupted} VPSes a crash left behind.
    """
    return [Interrupted(*row) for row in cursor.execute(
        "SELECT m.xid, m.name, r.vdir, r.state FROM vps_root r JOIN"
        " xid_name_map m ON r.xid = m.xid WHERE r.state IN ('creating',"
        " 'rebuilding', 'removing')")]


def allVdirs(cursor):
    """
    @return: the directories of every VPS.
    """
    return [vdir for (vdir,) in cursor.execute("SELECT vdir FROM vps_root")]
