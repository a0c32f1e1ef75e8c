# -*- test-case-name: tests.test_vx_methods,tests.test_crash_consistency -*-
"""
Creating, rebuilding and removing VPSes: VXDB and the filesystem in an
order that a crash cannot turn into an orphan directory or into a VPS the
database does not know.

The protocol: a VPS row is written in state C{creating} (or C{removing})
before any file is touched, and set to C{ready} (or deleted) only after the
filesystem work is complete. At start-up,
L{vcd.vps.recovery.recoverInterrupted} finishes what a crash interrupted:
a VPS still C{creating} is discarded (files and rows), a VPS still
C{removing} is removed.
"""

import os

from twisted.internet import defer
from twisted.logger import Logger

from vcd.vps import disklimits, rootfs
from vcd.faults import (MEEXIST, MEINVAL, MEPERM, MERUNNING, MESYS, VCDFault,
                        invalid)
from vcd.vps.hostmounts import releaseHostMounts
from vcd.vps.leftovers import removeOutside
from vcd.names import KNOWN
from vcd.kernel.idmap import IDS_PER_VPS
from vcd.vxdb import roots, userns

log = Logger()


def _templateDefaults(template, features):
    """
    A template's defaults, keeping only the knobs this host can enforce.

    @return: C{(TemplateDefaults, the names of the dropped knobs)}.
    """
    dropped = []
    kept = {}
    for kind, values in (("bcap", template.bcaps), ("ccap", template.ccaps),
                         ("flag", template.flags)):
        kept[kind] = set()
        for value in sorted(values):
            if value in KNOWN[kind] and features.support(kind, value)[0]:
                kept[kind].add(value)
            else:
                dropped.append("%s %s" % (kind, value))
    defaults = roots.TemplateDefaults(
        bcaps=kept["bcap"], ccaps=kept["ccap"], flags=kept["flag"],
        mounts=list(template.mounts), init=template.init, halt=template.halt,
        reboot=template.reboot, timeout=template.timeout)
    return defaults, dropped


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
        vdir = yield services.db.read(roots.currentVdir, call.vps.xid)
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
        current = yield services.db.read(roots.currentVdir, xid)
        if vdir != current and os.path.lexists(vdir):
            raise VCDFault(MEEXIST, "directory %s already exists and belongs"
                           " to no virtual server" % (vdir,))
        old = yield services.db.transact(roots.beginRebuild, xid,
                                         _kind(copy), vdir, template.name)
        try:
            if old is not None:
                yield _releaseMounts(services, name, old[1])
                yield services.filesystem(rootfs.removeRoot, old[1],
                                          config.vbasedir)
        except BaseException as e:
            # The old files are (at least partly) still there: keep the VPS
            # as it was rather than forget it and orphan them.
            yield services.db.transact(roots.restoreRoot, xid, old)
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
        defaults, dropped = _templateDefaults(template, services.features)
        xid = yield services.db.transact(
            roots.beginCreate, name, call.user.uid, _kind(copy), vdir,
            template.name, defaults, services.features.idRanges,
            IDS_PER_VPS)
        if dropped:
            log.info("{name}: template defaults this host cannot enforce"
                     " were not applied: {dropped}", name=name,
                     dropped=", ".join(dropped))
    ids = yield services.db.transact(userns.allocate, xid,
                                     services.features.idRanges, IDS_PER_VPS)
    filesBase = 0 if ids.privileged or not copy else ids.base
    try:
        layout = yield services.filesystem(
            rootfs.createRoot, template, vdir, copy, config.datadir,
            filesBase, ids.count)
    except BaseException as e:
        if call.vps is None:
            yield services.db.transact(roots.forget, xid)
        else:
            # Its files are gone, its configuration is not: keep the VPS,
            # marked broken, for another rebuild.
            yield services.db.transact(roots.setState, xid, "broken")
        yield services.filesystem(rootfs.discardPartial, vdir)
        if isinstance(e, VCDFault):
            raise
        log.failure("creating {name} failed", name=name)
        raise VCDFault(MESYS, "creating virtual server %r failed: %s"
                       % (name, e))
    yield services.db.transact(roots.finishCreate, xid,
                               layout.toRecord(), filesBase)
    log.info("{user} created {name} (xid {xid}) from {template} at {vdir}"
             " ({kind})", user=call.user.name, name=name, xid=xid,
             template=template.name, vdir=vdir, kind=layout.kind)
    return None


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
    vdir = yield services.db.transact(roots.beginRemove, xid)
    try:
        yield _releaseMounts(services, name, vdir)
    except OSError as e:
        yield services.db.transact(roots.setState, xid, "ready")
        raise VCDFault(MEEXIST, "what the daemon mounted for %r cannot be"
                       " detached (%s); manual check is needed" % (name, e))
    if vdir:
        try:
            yield services.filesystem(rootfs.removeRoot, vdir,
                                      services.config.vbasedir)
        except rootfs.RootBusy as e:
            yield services.db.transact(roots.setState, xid, "ready")
            raise VCDFault(MEEXIST, "the files of %r are still mounted (%s);"
                           " manual check is needed" % (name, e))
        except ValueError as e:
            yield services.db.transact(roots.setState, xid, "ready")
            raise VCDFault(MEINVAL, "refusing to remove %s: %s" % (vdir, e))
    try:
        # Its LXC directory and the cgroups its last runs left go
        # before its rows: a crash until then leaves it removing, for the
        # recovery to finish.
        yield services.filesystem(removeOutside, services.config.lxcpath,
                                  name, vdir)
    except OSError as e:
        yield services.db.transact(roots.setState, xid, "broken")
        raise VCDFault(MEEXIST, "what %r has outside its directory cannot"
                       " be removed (%s); manual check is needed"
                       % (name, e))
    yield services.db.transact(roots.forget, xid)
    log.info("{user} removed {name}", user=call.user.name, name=name)


def _releaseMounts(services, name, vdir):
    """
    Detach what a crash left mounted by the daemon for the stopped VPS
    C{name} (L{releaseHostMounts}), and wait for the loop device of its
    image at C{vdir} (if any) to be released, before its files go. Marked
    C{removing} (or C{rebuilding}) first, so a crash after this is finished
    by the recovery, which detaches them again.

    @return: a Deferred.
    """
    image = disklimits.imagePath(vdir) if vdir else None
    return services.filesystem(releaseHostMounts, services.config.lxcpath,
                               name, image)


def _kind(copy):
    return rootfs.KIND_COPY if copy else rootfs.KIND_OVERLAY
