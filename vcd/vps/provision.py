"""
Creating, rebuilding and removing VPSes: VXDB and the filesystem in an
order that a crash cannot turn into an orphan directory or into a VPS the
database does not know.

The protocol: a VPS row is written in state C{creating} (or C{removing})
before any file is touched, and set to C{ready} (or deleted) only after the
filesystem work is complete. At start-up, L{recoverInterrupted} finishes
what a crash interrupted: a VPS still C{creating} is discarded (files and
rows), a VPS still C{removing} is removed.
"""

import json
import os

from twisted.internet import defer
from twisted.logger import Logger

from vcd.vps import rootfs
from vcd.faults import (MEEXIST, MEINVAL, MEPERM, MERUNNING, MESYS, VCDFault,
                        invalid)
from vcd.kernel.worker import removeEmptyCgroups
from vcd.names import KNOWN
from vcd.vxdb import store

log = Logger()


def _knownVdir(cursor, vdir, xid):
    row = cursor.execute(
        "SELECT m.name FROM vps_root r JOIN xid_name_map m ON r.xid = m.xid"
        " WHERE r.vdir = ? AND r.xid != ?", (vdir, xid or -1)).fetchone()
    if row is not None:
        raise VCDFault(MEEXIST, "directory %s already belongs to virtual"
                       " server %r" % (vdir, row[0]))


def _applyTemplateDefaults(cursor, xid, template, features):
    """
    Give a new VPS its template's defaults, keeping only the knobs this
    host can enforce (the others are logged).
    """
    dropped = []
    for kind, table, column, values in (
            ("bcap", "vx_bcaps", "bcap", template.bcaps),
            ("ccap", "vx_ccaps", "ccap", template.ccaps),
            ("flag", "vx_flags", "flag", template.flags)):
        for value in sorted(values):
            if value in KNOWN[kind] and features.support(kind, value)[0]:
                cursor.execute("INSERT OR IGNORE INTO %s (xid, %s) VALUES"
                               " (?, ?)" % (table, column), (xid, value))
            else:
                dropped.append("%s %s" % (kind, value))
    for src, dst, fstype, opts in template.mounts:
        cursor.execute("INSERT OR REPLACE INTO mount (xid, src, dst, type,"
                       " opts) VALUES (?, ?, ?, ?, ?)",
                       (xid, src, dst, fstype, opts))
    cursor.execute("INSERT OR REPLACE INTO init_method (xid, init, halt,"
                   " reboot, timeout) VALUES (?, ?, ?, ?, ?)",
                   (xid, template.init, template.halt, template.reboot,
                    template.timeout))
    return dropped


def _beginCreate(cursor, call, name, template, vdir, copy):
    """
    Record a new VPS in state C{creating}, with its template's defaults and
    the caller as owner.
    """
    if store.findVps(cursor, name) is not None:
        raise VCDFault(MEEXIST, "virtual server %r already exists" % (name,))
    _knownVdir(cursor, vdir, None)
    xid = store.allocateXid(cursor)
    cursor.execute("INSERT INTO xid_name_map (xid, name) VALUES (?, ?)",
                   (xid, name))
    cursor.execute("INSERT INTO vps_root (xid, state, kind, vdir, template)"
                   " VALUES (?, 'creating', ?, ?, ?)",
                   (xid, "copy" if copy else "overlay", vdir, template.name))
    dropped = _applyTemplateDefaults(cursor, xid, template,
                                     call.services.features)
    cursor.execute("INSERT INTO xid_uid_map (xid, uid) VALUES (?, ?)",
                   (xid, call.user.uid))
    return xid, dropped


def _beginRebuild(cursor, xid, template, vdir, copy):
    """
    Mark an existing VPS as being rebuilt (state C{rebuilding}: a crash
    now leaves it C{broken}, its configuration kept, see
    L{recoverInterrupted}).

    @return: its old vps_root row C{(kind, vdir, template, layout)}, or
        None, for L{_restoreRoot}.
    """
    old = cursor.execute("SELECT kind, vdir, template, layout FROM vps_root"
                         " WHERE xid = ?", (xid,)).fetchone()
    _knownVdir(cursor, vdir, xid)
    cursor.execute("INSERT OR REPLACE INTO vps_root (xid, state, kind, vdir,"
                   " template) VALUES (?, 'rebuilding', ?, ?, ?)",
                   (xid, "copy" if copy else "overlay", vdir, template.name))
    return tuple(old) if old is not None else None


def _restoreRoot(cursor, xid, old):
    """
    Undo L{_beginRebuild} when the old files could not be removed.
    """
    if old is None:
        cursor.execute("DELETE FROM vps_root WHERE xid = ?", (xid,))
    else:
        cursor.execute("INSERT OR REPLACE INTO vps_root (xid, state, kind,"
                       " vdir, template, layout) VALUES (?, 'ready', ?, ?,"
                       " ?, ?)", (xid,) + old)


def _currentVdir(cursor, xid):
    row = cursor.execute("SELECT vdir FROM vps_root WHERE xid = ?",
                         (xid,)).fetchone()
    return row[0] if row is not None else None


def _finishCreate(cursor, xid, layout):
    cursor.execute("UPDATE vps_root SET state = 'ready', layout = ? WHERE"
                   " xid = ?", (json.dumps(layout.toRecord()), xid))


def _forget(cursor, xid):
    cursor.execute("DELETE FROM xid_name_map WHERE xid = ?", (xid,))


def _rootRecord(cursor, xid):
    row = cursor.execute("SELECT vdir, state FROM vps_root WHERE xid = ?",
                         (xid,)).fetchone()
    return row


@defer.inlineCallbacks
def createVps(call, name, templateName, force, copy, vdir):
    """
    Create (or, with C{force}, rebuild) the VPS C{name} from a template.

    The caller holds the VPS lock and passed the owner rule.
    """
    services = call.services
    config = services.config
    if not templateName:
        raise invalid("template", "an empty template name was supplied")
    try:
        template = yield services.filesystem(services.templates.get,
                                             templateName)
    except KeyError:
        raise invalid("template", "no template called %r in %s"
                      % (templateName, config.templatedir))
    except ValueError as e:
        raise invalid("template", "template %r is broken: %s"
                      % (templateName, e))
    if vdir and not call.user.admin:
        raise VCDFault(MEPERM, "only administrators may choose vdir")
    if vdir:
        vdir = os.path.normpath(vdir)
    elif call.vps is not None:
        # A rebuild stays where the VPS is.
        vdir = yield services.db.read(_currentVdir, call.vps.xid)
    vdir = vdir or os.path.join(config.vbasedir, name)
    try:
        rootfs.checkVdir(vdir, config.vbasedir)
    except ValueError as e:
        raise invalid("vdir", str(e))
    running = yield services.kernel.isRunning(name)
    if call.vps is not None:
        if not force:
            raise VCDFault(MEEXIST, "virtual server %r already exists; set"
                           " force to rebuild it" % (name,))
        if running:
            raise VCDFault(MERUNNING, "virtual server %r is running; stop it"
                           " before rebuilding" % (name,))
        xid = call.vps.xid
        current = yield services.db.read(_currentVdir, xid)
        if vdir != current and os.path.lexists(vdir):
            raise VCDFault(MEEXIST, "directory %s already exists and belongs"
                           " to no virtual server" % (vdir,))
        old = yield services.db.transact(_beginRebuild, xid, template, vdir,
                                         copy)
        try:
            if old is not None:
                yield services.filesystem(rootfs.removeRoot, old[1],
                                          config.vbasedir)
        except BaseException as e:
            # The old files are (at least partly) still there: keep the VPS
            # as it was rather than forget it and orphan them.
            yield services.db.transact(_restoreRoot, xid, old)
            if isinstance(e, rootfs.RootBusy):
                raise VCDFault(MEEXIST, "the files of %r are still mounted"
                               " (%s); manual check is needed" % (name, e))
            if isinstance(e, ValueError):
                raise VCDFault(MEINVAL, "refusing to remove %s: %s"
                               % (old[1], e))
            raise
    else:
        if running:
            raise VCDFault(MERUNNING, "a container called %r is running"
                           % (name,))
        if os.path.lexists(vdir):
            raise VCDFault(MEEXIST, "directory %s already exists and belongs"
                           " to no virtual server" % (vdir,))
        xid, dropped = yield services.db.transact(
            _beginCreate, call, name, template, vdir, copy)
        if dropped:
            log.info("{name}: template defaults this host cannot enforce"
                     " were not applied: {dropped}", name=name,
                     dropped=", ".join(dropped))
    try:
        layout = yield services.filesystem(
            rootfs.createRoot, template, vdir, copy, config.datadir)
    except BaseException as e:
        if call.vps is None:
            yield services.db.transact(_forget, xid)
        else:
            # Its files are gone, its configuration is not: keep the VPS,
            # marked broken, for another rebuild.
            yield services.db.transact(_setState, xid, "broken")
        yield services.filesystem(rootfs.discardPartial, vdir)
        if isinstance(e, VCDFault):
            raise
        log.failure("creating {name} failed", name=name)
        raise VCDFault(MESYS, "creating virtual server %r failed: %s"
                       % (name, e))
    yield services.db.transact(_finishCreate, xid, layout)
    log.info("{user} created {name} (xid {xid}) from {template} at {vdir}"
             " ({kind})", user=call.user.name, name=name, xid=xid,
             template=template.name, vdir=vdir, kind=layout.kind)
    return None


def _beginRemove(cursor, xid):
    row = _rootRecord(cursor, xid)
    if row is None:
        return None
    cursor.execute("UPDATE vps_root SET state = 'removing' WHERE xid = ?",
                   (xid,))
    return row[0]


@defer.inlineCallbacks
def removeVps(call, name):
    """
    Remove the stopped VPS C{name}: its files (never following a symlink
    out of its directory), then every VXDB row.
    """
    services = call.services
    if (yield services.kernel.isRunning(name)):
        raise VCDFault(MERUNNING, "virtual server %r is running; stop it"
                       " first" % (name,))
    xid = call.vps.xid
    vdir = yield services.db.transact(_beginRemove, xid)
    if vdir:
        try:
            yield services.filesystem(rootfs.removeRoot, vdir,
                                      services.config.vbasedir)
        except rootfs.RootBusy as e:
            yield services.db.transact(_setState, xid, "ready")
            raise VCDFault(MEEXIST, "the files of %r are still mounted (%s);"
                           " manual check is needed" % (name, e))
        except ValueError as e:
            yield services.db.transact(_setState, xid, "ready")
            raise VCDFault(MEINVAL, "refusing to remove %s: %s" % (vdir, e))
    yield services.db.transact(_forget, xid)
    try:
        # The empty cgroups its last runs left (its monitor's cannot be
        # removed while the monitor lives) go with it.
        yield services.filesystem(removeEmptyCgroups, name)
    except OSError:
        log.failure("removing the cgroups of {name}", name=name)
    log.info("{user} removed {name}", user=call.user.name, name=name)


def _setState(cursor, xid, state):
    cursor.execute("UPDATE vps_root SET state = ? WHERE xid = ?",
                   (state, xid))


def _interrupted(cursor):
    return cursor.execute(
        "SELECT m.xid, m.name, r.vdir, r.state FROM vps_root r JOIN"
        " xid_name_map m ON r.xid = m.xid WHERE r.state IN ('creating',"
        " 'rebuilding', 'removing')"
    ).fetchall()


def recoverInterrupted(db, vbasedir, datadir):
    """
    Finish what a crash interrupted (blocking; at start-up, before the
    daemon serves): discard VPSes left C{creating}, remove those left
    C{removing}, and sweep staging leftovers under C{vbasedir}.

    @return: a list of lines saying what was done.
    """
    done = []
    for xid, name, vdir, state in db.transactNow(_interrupted):
        try:
            if state in ("creating", "rebuilding"):
                rootfs.discardPartial(vdir, includeVdir=True)
            else:
                rootfs.removeRoot(vdir, vbasedir)
        except (OSError, ValueError) as e:
            done.append("%s: could not clean %s: %s" % (name, vdir, e))
            continue
        if state == "rebuilding":
            db.transactNow(_setState, xid, "broken")
            done.append("%s: an interrupted rebuild left it broken (its"
                        " configuration is kept; rebuild it)" % (name,))
            continue
        db.transactNow(_forget, xid)
        done.append("%s: discarded an interrupted %s" % (
            name, "creation" if state == "creating" else "removal"))
    for directory in db.transactNow(_stagingDirectories, vbasedir, datadir):
        for entry in rootfs.sweepStaging(directory):
            done.append("removed leftover %s" % (os.path.join(directory,
                                                              entry),))
    return done


def _stagingDirectories(cursor, vbasedir, datadir):
    """
    The directories where staging leftovers may lie: the base directory,
    the shared lower layers, and the parent of every VPS directory.
    """
    directories = {vbasedir, os.path.join(datadir, "lower")}
    for (vdir,) in cursor.execute("SELECT vdir FROM vps_root"):
        directories.add(os.path.dirname(vdir))
    return sorted(directories)

