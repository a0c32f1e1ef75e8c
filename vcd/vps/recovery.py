# -*- test-case-name: tests.test_crash_consistency,tests.test_crashkill,tests.test_hostmounts -*-
"""
The daemon's crash recovery at start-up, before it serves: finish what a
crash interrupted (see L{vcd.vps.provision}'s protocol) and sweep what it
left, without ever keeping the daemon from starting.

In order: detach what the daemon had mounted on the host for each VPS
that is not running (L{vcd.vps.hostmounts.releaseHostMounts}: a killed
daemon leaves them holding the loop device of its image) and replay the
journal of its image if a crash left it needing that; kill what still
writes into a staging or trash directory or
into the directory of an interrupted VPS (a killed daemon's tar, see
L{vcd.vps.leftovers.killWriters}); discard each VPS left C{creating},
remove each left C{removing}, mark each left C{rebuilding} C{broken}; sweep
the staging and trash leftovers; remove the LXC directories of names VXDB
does not know and whose container does not run. What cannot be cleaned is
logged, and an interrupted VPS that could not be cleaned is marked
C{broken}: C{vx.status} shows it (C{rootstate}), C{vx.remove} removes it,
C{vx.create} with C{force} rebuilds it.
"""

import os

from vcd.kernel import diskimage
from vcd.kernel.cgroups import releaseCgroups
from vcd.vps import rootfs
from vcd.vps.crashsafe import removeEntry
from vcd.vps.disklimits import imagePath
from vcd.vps.hostmounts import releaseHostMounts
from vcd.vps.leftovers import killWriters, removeLxcDirectory
from vcd.vxdb import registry, roots


def stagingDirectories(vbasedir, datadir, vdirs):
    """
    The directories where staging leftovers may lie: the base directory,
    the shared lower layers, and the parent of every VPS directory.
    """
    directories = {vbasedir, os.path.join(datadir, "lower")}
    directories.update(os.path.dirname(vdir) for vdir in vdirs)
    return sorted(directories)


def _leftoverEntries(directories):
    entries = []
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        entries.extend(
            os.path.join(directory, name) for name in sorted(names)
            if name.startswith(rootfs.STAGING_PREFIX)
            or name.startswith(rootfs.TRASH_PREFIX))
    return entries


def _finish(db, vbasedir, lxcpath, vps):
    """
    Finish one interrupted VPS.

    @return: a line saying what was done.
    """
    if vps.state == "rebuilding":
        rootfs.discardPartial(vps.vdir, includeVdir=True)
        db.transactNow(roots.setState, vps.xid, "broken")
        return ("%s: an interrupted rebuild left it broken (its"
                " configuration is kept; rebuild it)" % (vps.name,))
    if vps.state == "creating":
        rootfs.discardPartial(vps.vdir, includeVdir=True)
    else:
        rootfs.removeRoot(vps.vdir, vbasedir)
        rootfs.discardPartial(vps.vdir)
    removeLxcDirectory(lxcpath, vps.name)
    releaseCgroups(vps.name)
    db.transactNow(roots.forget, vps.xid)
    return "%s: discarded an interrupted %s" % (
        vps.name, "creation" if vps.state == "creating" else "removal")


def _containerRunning(lxcpath, name):
    from vcd.kernel.lxc import containerRunning
    return containerRunning(lxcpath, name)


def recoverInterrupted(db, vbasedir, datadir, lxcpath,
                       isRunning=_containerRunning):
    """
    Recover from a crash (blocking; at start-up, before the daemon serves).
    Never raises for what it finds: each problem becomes a line.

    @param isRunning: C{isRunning(lxcpath, name)}, whether a container
        runs.
    @return: a list of lines saying what was done or could not be.
    """
    done = []
    interrupted = db.transactNow(roots.interrupted)
    done.extend(_releaseStopped(db, lxcpath, interrupted, isRunning))
    directories = stagingDirectories(vbasedir, datadir,
                                     db.transactNow(roots.allVdirs))
    try:
        killed = killWriters(_leftoverEntries(directories)
                             + [vps.vdir for vps in interrupted])
    except OSError as e:
        done.append("could not stop what writes into staging"
                    " directories: %s" % (e,))
    else:
        if killed:
            done.append("killed processes left writing into staging"
                        " directories: %s" % (" ".join(map(str, killed)),))
    for vps in interrupted:
        try:
            done.append(_finish(db, vbasedir, lxcpath, vps))
        except Exception as e:
            try:
                db.transactNow(roots.setState, vps.xid, "broken")
            except Exception as stateError:
                e = "%s; and marking it broken failed: %s" % (e, stateError)
            done.append("%s: could not clean %s (%s): %s; it is marked"
                        " broken: remove it (vx.remove) or rebuild it"
                        " (vx.create force)" % (vps.name, vps.vdir,
                                                vps.state, e))
    for path in _leftoverEntries(directories):
        try:
            removeEntry(path)
        except Exception as e:
            done.append("could not remove leftover %s: %s" % (path, e))
        else:
            done.append("removed leftover %s" % (path,))
    done.extend(_sweepLxcDirectories(db, lxcpath, isRunning))
    return done


def _namesAndVdirs(cursor):
    found = []
    for name in registry.vpsNames(cursor):
        vps = registry.findVps(cursor, name)
        found.append((name, roots.currentVdir(cursor, vps.xid)))
    return found


def _releaseStopped(db, lxcpath, interrupted, isRunning):
    """
    For each VPS that is not running: detach the daemon's mounts a crash
    left (waiting for the loop device of the image of an C{interrupted}
    VPS, whose files go next), and replay its image's journal if it needs
    recovery (a host crash while it ran).

    @return: lines saying what was done or could not be.
    """
    waitFor = {vps.name for vps in interrupted}
    done = []
    for name, vdir in db.transactNow(_namesAndVdirs):
        try:
            if isRunning(lxcpath, name):
                continue
            image = imagePath(vdir) if vdir else None
            detached = releaseHostMounts(
                lxcpath, name, image if name in waitFor else None)
            if detached:
                done.append("%s: detached what a crash left mounted: %s"
                            % (name, " ".join(detached)))
            if (image and os.path.exists(image)
                    and diskimage.loopOf(image) is None
                    and diskimage.replayJournal(image)):
                done.append("%s: replayed the journal of %s"
                            % (name, image))
        except Exception as e:
            done.append("%s: could not release what a crash left mounted"
                        " or replay its disk's journal: %s" % (name, e))
    return done


def _sweepLxcDirectories(db, lxcpath, isRunning):
    try:
        names = sorted(os.listdir(lxcpath))
    except OSError:
        return []
    known = set(db.transactNow(registry.vpsNames))
    done = []
    for name in names:
        path = os.path.join(lxcpath, name)
        if name in known or os.path.islink(path) or not os.path.isdir(path):
            continue  # the daemon's own files (its seccomp profile)
        try:
            if isRunning(lxcpath, name):
                done.append("container %s runs but is no VPS; left alone"
                            % (name,))
                continue
            releaseHostMounts(lxcpath, name)
            removeLxcDirectory(lxcpath, name)
            releaseCgroups(name)
        except Exception as e:
            done.append("could not remove the LXC directory of %s: %s"
                        % (name, e))
        else:
            done.append("removed the LXC directory of %s, which is no VPS"
                        % (name,))
    return done
