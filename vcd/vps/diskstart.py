# -*- test-case-name: tests.test_disklimits -*-
"""
Disk limits at a VPS's start and while it runs: L{StartDisk} puts the
VPS's own layers on its filesystem (L{vcd.vps.disklimits}) for one start,
L{DiskLimitChange} applies a changed limit to a running VPS, and
L{refuseShrink} refuses a limit below what the VPS uses.
"""

import os

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from vcd.api.interfaces import ILiveChange
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.faults import MESYS, VCDFault, invalid
from vcd.kernel import diskimage
from vcd.kernel.idmap import RootSpec
from vcd.vps import disklimits
from vcd.vxdb import roots, settings, tables

log = Logger()


def limitOf(row):
    """
    @return: the L{disklimits.DiskLimit} of a C{dx_limit} row, or None.
    """
    if row is None:
        return None
    return disklimits.DiskLimit(int(row["space"]), int(row["inodes"]),
                                int(row["reserved"]))


def _readStart(cursor, xid):
    return limitOf(settings.getRow(cursor, tables.DISK_LIMIT, xid))


class StartDisk:
    """
    The filesystem of one VPS for one start: prepared and mounted by
    L{rootSpec}, detached from the host by L{release} (whatever happened
    between).
    """

    def __init__(self, services, xid, name):
        self.services = services
        self.xid = xid
        self.name = name
        self.mounted = None

    @defer.inlineCallbacks
    def rootSpec(self, layout, spec):
        """
        @param layout: the VPS's L{vcd.vps.rootlayout.RootLayout}.
        @param spec: the L{RootSpec} of its plain directories.
        @return: a Deferred firing with C{spec}, or, if the VPS has a disk
            limit, the L{RootSpec} of its layers on its mounted filesystem.
        @raise VCDFault: MESYS if its files cannot be put under the limit.
        """
        limit = yield self.services.db.read(_readStart, self.xid)
        if limit is None and not os.path.exists(
                disklimits.imagePath(layout.vdir)):
            return spec
        notes = []  # appended on the pool's thread, logged on this one
        try:
            mounted = yield self.services.filesystem(
                disklimits.prepareDisk, layout, limit,
                self.services.hostPaths.lxcpath, self.name, spec.idBase,
                notes.append)
        except (OSError, disklimits.DiskLimitError) as e:
            raise VCDFault(MESYS, "cannot start %r: its disk limit cannot"
                           " be applied: %s" % (self.name, e.strerror or e))
        finally:
            for text in notes:
                log.warn("{name}: {text}", name=self.name, text=text)
        if mounted is None:
            return spec
        self.mounted = mounted
        own = disklimits.imageLayerPaths(layout, mounted)
        paths = own if spec.kind == "copy" else [spec.paths[0]] + own
        return RootSpec(spec.kind, paths, spec.idBase, spec.idCount,
                        spec.mountPoints)

    def release(self):
        """
        Detach the host's mount of the VPS's filesystem, if it has one.
        """
        if self.mounted is None:
            return defer.succeed(None)
        return self.services.filesystem(
            disklimits.releaseDisk, self.services.hostPaths.lxcpath,
            self.name)


def _vdir(cursor, xid):
    return roots.currentVdir(cursor, xid)


def refuseShrink(call, cursor, space):
    """
    Refuse a space below what the VPS's filesystem uses. Reads one block
    of its image, or (it running) asks the kernel through a moment's
    mount. An image whose journal needs recovery (a crash) is not
    measured: the next start replays it, and a shrink that does not fit
    then is logged and left.

    @raise VCDFault: MEINVAL naming both sizes.
    """
    vdir = _vdir(cursor, call.vps.xid)
    used = (disklimits.usedKiB(vdir, call.services.hostPaths.lxcpath,
                               call.vps.name) if vdir else None)
    if used is not None and space < used:
        raise invalid("space", "the filesystem of this virtual server uses"
                      " %d KiB; a limit of %d KiB is below that (remove"
                      " files first)" % (used, space))


@implementer(ILiveChange)
class DiskLimitChange:
    """
    A set or remove of vxdb.dx.limit reaching a running VPS: a grown space
    applies at once (when the host allows growing a mounted ext4); every
    other change at the next start, saying why.
    """

    doc = ("Growing the space of a running virtual server whose limit is"
           " in force applies at once (online ext4 resize, where the host"
           " lets the daemon do it); other changes, and a limit set or"
           " removed, at the next start, when its files are moved into or"
           " out of its filesystem.")

    @defer.inlineCallbacks
    def __call__(self, call, args):
        services = call.services
        name = call.vps.name
        if call.method.name.endswith(".remove"):
            return ("%s (its files move out of its own filesystem then)"
                    % (NEXT_START,))
        running = yield services.kernel.isRunning(name)
        if not running:
            return "%s (it is not running)" % (NEXT_START,)
        vdir = yield services.db.read(_vdir, call.vps.xid)
        limit = disklimits.DiskLimit(args["space"], args["inodes"],
                                     args["reserved"])
        try:
            why = yield services.filesystem(
                disklimits.growLive, vdir, services.hostPaths.lxcpath, name,
                limit)
        except diskimage.ImageError as e:
            why = "growing it now failed: %s" % (e.strerror,)
        if why is None:
            return APPLIED_NOW
        return "%s (%s)" % (NEXT_START, why)
