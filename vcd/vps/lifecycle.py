# -*- test-case-name: tests.test_lifecycle_fake,tests.test_execlock -*-
"""
Running VPSes: start, stop, restart, reboot and exec, shared by the C{vx},
C{vg} and C{helper} namespaces and by the start-up of group C{onboot}.

Every function here expects its caller to hold the VPS lock (taken by
L{lockedAction}, or by the dispatcher for a method that takes the lock)
and turns kernel errors into the manual's faults.
"""

import re

from twisted.internet import defer
from twisted.logger import Logger

from vcd.api.arguments import splitCommand
from vcd.faults import (MEBUSY, MEEXEC, MENOVPS, MEPERM, MERUNNING,
                        MESTOPPED, MESYS, VCDFault)
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.idmap import RootSpec, lxcRootfs
from vcd.kernel.knobmap import startItems
from vcd.kernel.lxcconfig import LXC_PROVIDED_TYPES, StartConfig, renderConfig
from vcd.vps import contextflags, execfaults, faulttext
from vcd.vps.diskstart import StartDisk
from vcd.vps.idshift import shiftOwners
from vcd.vps.mountpolicy import mountRefusal
from vcd.vps.rootlayout import RootLayout
from vcd.vxdb import restarts, running
from vcd.vxdb.userns import setFilesBase

log = Logger()

EXEC_ENVIRONMENT = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root", "TERM=dumb", "LANG=C",
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

def xmlSafe(text):
    """
    Replace the characters XML 1.0 cannot carry with U+FFFD.
    """
    return _NOT_XML.sub("\ufffd", text)


@defer.inlineCallbacks
def lockedAction(services, action, xid, name, retryFor=0.0):
    """
    Run C{action(services, xid, name)} under the lock of VPS C{name}, once
    the lock is held checking that C{name} still is VPS C{xid} (a group
    action or a reboot read the pair a while ago).

    @param retryFor: how long to wait for a busy lock before giving up
        with MEBUSY (0: not at all).
    """
    yield services.locks.wait(name, retryFor)
    try:
        result = yield _ifStillThere(services, action, xid, name)
    finally:
        services.locks.release(name)
    return result


@defer.inlineCallbacks
def _ifStillThere(services, action, xid, name):
    if not (yield services.db.read(running.isNamed, xid, name)):
        raise VCDFault(MENOVPS, "virtual server %r was renamed or removed"
                       " meanwhile" % (name,))
    result = yield action(services, xid, name)
    return result


def rootSpec(layout, userns, mounts):
    """
    The L{RootSpec} the kernel prepares before a start: the VPS's root
    directories, its ids (none when privileged) and its mount points.

    @param userns: its L{vcd.vxdb.userns.UserNamespace}.
    @param mounts: its C{(src, dst, type, opts)} mounts.
    """
    if layout.kind == "copy":
        paths = [layout.rootfs]
    else:
        paths = [layout.lower, layout.upper, layout.work]
    base, count = (0, 0) if userns.privileged else (userns.base,
                                                     userns.count)
    return RootSpec(layout.kind, paths, base, count,
                    [m[1] for m in mounts if m[2] not in LXC_PROVIDED_TYPES])


@defer.inlineCallbacks
def _ownCopy(services, xid, spec, userns):
    """
    Before starting a copy, shift its files to the ids it starts with, if
    they are owned by other ones (a VPS made before VPSes were
    unprivileged, or one an administrator made privileged or unprivileged
    since its last start).
    """
    if spec.kind != "copy" or userns.filesBase == spec.idBase:
        return
    log.info("shifting the owners of the files of xid {xid} from host id"
             " {old} to {new}", xid=xid, old=userns.filesBase,
             new=spec.idBase)
    yield services.filesystem(shiftOwners, spec.paths[0], userns.filesBase,
                              spec.idBase, userns.count)
    yield services.db.transact(setFilesBase, xid, spec.idBase)


def _refuseForbiddenMounts(config, name, mounts):
    """
    Refuse to start a VPS with a mount that no one may set any more
    (stored before the mount policy, or since forbidden): a host-global
    filesystem type, or a path the VPSes can write.

    @raise VCDFault: MEPERM naming the mount and why.
    """
    for src, dst, fstype, opts in mounts:
        why = mountRefusal(src, fstype, opts, True,
                           (config.vbasedir, config.datadir))
        if why is not None:
            raise VCDFault(MEPERM, "cannot start %r: its mount on %s is"
                           " refused (%s); remove it with vxdb.mount.remove"
                           % (name, dst, why))


def _cgroupItems(features, record):
    """
    The cgroup writes of a start: NPROC, RSS, the scheduler, the CPU set.
    """
    return startItems(features.cgroupLayout, record.limits, record.flags,
                      record.sched, record.cpuset, features.cpuBurst,
                      features.swapAccounting)


@defer.inlineCallbacks
def startVps(services, xid, name):
    """
    Start a stopped VPS with the configuration VXDB holds now; fire once its
    init runs.
    """
    disk = StartDisk(services, xid, name)
    try:
        result = yield _startVps(services, xid, name, disk)
    finally:
        yield disk.release()
    return result


@defer.inlineCallbacks
def _startVps(services, xid, name, disk):
    db = services.db
    record = yield db.read(running.startRecord, xid)
    if record.restartPending:
        yield db.transact(restarts.clearRestart, xid)
    if record.userns is None:
        raise VCDFault(MESYS, "cannot start %r: it has no user namespace"
                       " yet (the daemon gives one at start-up)" % (name,))
    _refuseForbiddenMounts(services.config, name, record.mounts)
    try:
        layout = RootLayout.fromRecord(record.rootRecord)
        spec = rootSpec(layout, record.userns, record.mounts)
        spec = yield disk.rootSpec(layout, spec)
        start = StartConfig(
            name=record.name, xid=xid,
            rootfs=lxcRootfs(spec, services.hostPaths.lxcpath, name),
            init=record.init, bcaps=record.bcaps, mounts=record.mounts,
            addresses=record.addresses, broadcast=record.broadcast,
            uname=record.uname, limits=record.limits,
            idBase=spec.idBase, idCount=spec.idCount,
            cgroup=_cgroupItems(services.features, record),
            flags=record.flags, ccaps=record.ccaps)
        text = renderConfig(start, services.hostPaths)
    except ValueError as e:
        raise VCDFault(MESYS, "cannot start %r: its configuration cannot be"
                       " expressed safely: %s" % (name, e))
    contextflags.refuseUnservedFlags(services.features, name, record.flags)
    yield _ownCopy(services, xid, spec, record.userns)
    try:
        pid = yield services.kernel.start(name, text, spec,
                                          services.config.startCheck)
    except RootMissing as e:
        raise faulttext.rootMissingFault(name, e)
    except AlreadyRunning:
        raise VCDFault(MERUNNING, "virtual server %r is already running"
                       % (name,))
    except KernelError as e:
        raise faulttext.startFault(services.config, name, start.init, text,
                                   e)
    # Without a DOMAINNAME the VPS already has NO_DOMAIN: its UTS
    # namespace is a copy of the kernel worker's own (no fork for it).
    if start.uname.get("DOMAINNAME"):
        yield _setDomainName(services, name, start.uname["DOMAINNAME"])
    yield contextflags.afterStart(services, name, record.flags, record.ccaps)
    log.info("started {name} (xid {xid}, init pid {pid})", name=name,
             xid=xid, pid=pid)
    return None


@defer.inlineCallbacks
def _setDomainName(services, name, domain):
    """
    Right after VPS C{name} started, set its NIS domain name to its
    DOMAINNAME. (Without one, it has L{NO_DOMAIN}, as a booted Linux says:
    its new UTS namespace began as a copy of the kernel worker's own,
    whose domain name is L{NO_DOMAIN}, never the host's.) If that fails,
    stop the VPS: it must not run with a domain name it was not given.

    @raise VCDFault: MESYS saying that the VPS was stopped (or that it
        could not be), and why.
    """
    try:
        yield services.kernel.setDomainName(name, domain)
    except KernelError as e:
        log.error("{name}: its domain name {domain!r} could not be set"
                  " ({error}); stopping it", name=name, domain=domain,
                  error=e)
        if not (yield services.kernel.hardStop(name)):
            raise VCDFault(MESYS, "%r runs with a domain name it was not"
                           " given: its domain name %r could not be set (%s)"
                           ", and it could not be stopped" % (name, domain,
                                                             e))
        raise VCDFault(MESYS, "%r was stopped: its domain name %r could not"
                       " be set: %s" % (name, domain, e))


@defer.inlineCallbacks
def stopVps(services, xid, name):
    """
    Stop a running VPS: run its halt command as vx.exec does, wait the
    init timeout for it to stop, then stop it hard (and log that). A
    reboot going on when the stop comes is cancelled: its post-stop hook,
    however late, does not start the VPS again
    (L{vcd.vps.stops.RequestedStops}).

    @return: a Deferred firing with the halt command's output.
    """
    if not (yield services.kernel.isRunning(name)):
        raise VCDFault(MESTOPPED, "virtual server %r is not running"
                       % (name,))
    stops = services.stops
    # Before the pending restart is cleared: a helper.restart from now on
    # belongs to this stop and is ignored.
    stops.begin(xid)
    try:
        output = yield _stop(services, xid, name)
    except BaseException:
        stops.abandon(xid)
        raise
    stops.end(xid)
    return output


@defer.inlineCallbacks
def _stop(services, xid, name):
    halt, timeout = yield services.db.transact(running.takeStopSettings,
                                                 xid)
    yield contextflags.thawToStop(services, name)
    output = ""
    try:
        output = yield execute(services, name, halt, check=False,
                               argument="halt")
    except VCDFault as f:
        output = f.faultString
    stopped = yield services.kernel.waitStopped(name, timeout)
    if not stopped:
        log.warn("{name} did not stop within {timeout}s of its halt command;"
                 " stopping it hard", name=name, timeout=timeout)
        stopped = yield services.kernel.hardStop(name)
        if not stopped:
            raise VCDFault(MEBUSY, "virtual server %r did not stop" % (name,))
    services.loads.forget(name)
    log.info("stopped {name}", name=name)
    return output


@defer.inlineCallbacks
def restartVps(services, xid, name):
    """
    Stop, then start a VPS; wait for both.
    """
    yield stopVps(services, xid, name)
    yield startVps(services, xid, name)
    return None


@defer.inlineCallbacks
def rebootVps(services, xid, name):
    """
    Run the reboot command of a running VPS; its init's reboot comes back
    through vshelper (helper.restart, helper.shutdown), which starts it
    again with the configuration VXDB holds then.
    """
    if not (yield services.kernel.isRunning(name)):
        raise VCDFault(MESTOPPED, "virtual server %r is not running"
                       % (name,))
    init = yield services.db.read(running.initMethod, xid)
    command = init.reboot
    output = yield execute(services, name, command, check=False,
                           argument="reboot")
    return output


@defer.inlineCallbacks
def execute(services, name, command, check=True, argument="command",
            attached=None, xid=None):
    """
    Run a simple command line inside a running VPS; refuse at once if it
    is frozen (its command would wait the whole exec timeout).

    @param check: raise MEEXEC for a non-zero exit.
    @param attached: if given, the kernel's (L{IVPSKernel.execute
        <vcd.kernel.interfaces.IVPSKernel.execute>}): called once the
        command runs inside the VPS; not called for a command refused
        before it was asked to start (a bad command line, a frozen VPS).
    @param xid: the VPS's xid, for the fault of a command a stop of the
        VPS killed to say so.
    @return: a Deferred firing with the combined output.
    """
    argv = splitCommand(command, argument)
    config = services.config
    try:
        yield execfaults.refuseFrozen(services, name, argv[0])
        result = yield services.kernel.execute(
            name, argv, config.execTimeout, config.execOutputCap,
            EXEC_ENVIRONMENT, attached=attached)
    except KernelError as e:
        if not (yield services.kernel.isRunning(name)):
            raise VCDFault(MESTOPPED, "virtual server %r is not running"
                           % (name,))
        raise VCDFault(MESYS, "cannot run %r in %r: %s" % (argv[0], name, e))
    output = xmlSafe(result["output"])
    if result["truncated"]:
        output += ("\n[vcd: output truncated at %d bytes]"
                   % (config.execOutputCap,))
    status = result["status"]
    if status < 0 and check and not result["timedOut"]:
        why = yield execfaults.whyKilled(services, xid, name)
        raise VCDFault(MEEXEC + 128 - status, "%r was killed by signal %d%s;"
                       " output: %s" % (argv[0], -status, why, output))
    if result["timedOut"]:
        raise VCDFault(MEEXEC + 128 + 9, "%r was killed after %d s (the exec"
                       " timeout); output: %s" % (argv[0], config.execTimeout,
                                                 output))
    if result["notFound"]:
        raise VCDFault(MEEXEC + status, "command %r not found (or not"
                       " executable) inside %r" % (argv[0], name))
    if status != 0 and check:
        code = MEEXEC + (status if status > 0 else 128 - status)
        raise VCDFault(code, "%r exited with status %s; output: %s"
                       % (argv[0], status, output))
    return output
