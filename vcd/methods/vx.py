# -*- test-case-name: tests.test_vx_methods,tests.test_lifecycle_fake,tests.test_crashkill,tests.test_execlock,tests.test_execslots -*-
"""
The C{vx} namespace: general maintenance (manual chapter 12): creating,
removing and renaming VPSes, the template list, and running them (start,
stop, restart, reboot, exec, kill, status, load).
"""

from zope.interface import implementer
from twisted.internet import defer
from twisted.logger import Logger
from twisted.plugin import IPlugin

from vcd.methods.userns import describe
from vcd.vxdb import userns
from vcd.api import arguments as A
from vcd.api.locks import LOCK_WAIT
from vcd.vps import faulttext, lifecycle
from vcd.vps.limstatus import limitStatus
from vcd.faults import MERUNNING, MESTOPPED, VCDFault, invalid
from vcd.kernel.errors import KernelError
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_CREATE, OWNER_NONE, OWNER_VPS, Method, Param
from vcd.vps.leftovers import renameOutside
from vcd.vps.provision import createVps, removeVps
from vcd.vxdb import roots
from vcd.vxdb.registry import renameVps
from vcd.api.families import nameParam

log = Logger()


def _forCaller(call, d):
    """
    C{d}, its fault shaped for the caller: no host path for a caller
    without the admin flag (L{faulttext.forCaller}).
    """
    return d.addErrback(faulttext.forCaller, call.services.config,
                        call.user.admin)


def _create(call, args):
    return _forCaller(call, createVps(call, args["name"], args["template"],
                                      args["force"], args["copy"],
                                      args["vdir"]))


def _remove(call, args):
    return _forCaller(call, removeVps(call, args["name"]))


def _rename(call, args):
    if args["name"] == args["newname"]:
        raise invalid("newname", "is the current name")
    # The new name is locked too: nothing may start or create it meanwhile.
    return call.services.locks.run(args["newname"], _renameLocked, call,
                                   args)


@defer.inlineCallbacks
def _renameLocked(call, args):
    services = call.services
    name, newname = args["name"], args["newname"]
    if (yield services.kernel.isRunning(name)):
        raise VCDFault(MERUNNING, "virtual server %r is running; stop it"
                       " first" % (name,))
    if (yield services.kernel.isRunning(newname)):
        raise VCDFault(MERUNNING, "a container called %r is running"
                       % (newname,))
    yield services.db.transact(renameVps, call.vps.xid, newname)
    # Its LXC directory (configuration, logs) follows it; a crash before
    # leaves the old one to the recovery's sweep, a failure to the next
    # start, which writes a new one.
    try:
        yield services.filesystem(renameOutside, services.config.lxcpath,
                                  name, newname)
    except OSError:
        log.failure("moving the LXC directory of {name} to {newname}",
                    name=name, newname=newname)


def _describe(template):
    return {"name": template.name, "description": template.description}


@defer.inlineCallbacks
def _templates(call, args):
    store_ = call.services.templates
    if args["name"]:
        try:
            template = yield call.services.filesystem(store_.get,
                                                      args["name"])
        except (KeyError, ValueError):
            raise invalid("name", "no usable template called %r"
                          % (args["name"],))
        return [_describe(template)]
    templates = yield call.services.filesystem(store_.list)
    return [_describe(t) for t in templates]


def _start(call, args):
    return _forCaller(call, lifecycle.startVps(call.services, call.vps.xid,
                                               args["name"]))


def _stop(call, args):
    return lifecycle.stopVps(call.services, call.vps.xid, args["name"])


def _restart(call, args):
    return _forCaller(call, lifecycle.restartVps(call.services,
                                                 call.vps.xid, args["name"]))


def _reboot(call, args):
    return lifecycle.rebootVps(call.services, call.vps.xid, args["name"])


def _exec(call, args):
    """
    Take a slot for the command (L{vcd.api.execslots}: MEBUSY at once if
    the VPS or the caller already runs as many as the settings
    C{execpervps}, C{execperuser} allow; administrators too), and the lock
    of the VPS (L{VPSLocks.take <vcd.api.locks.VPSLocks.take>}: MEBUSY if
    another locked operation holds it, after the live changes holding
    it), and run the command in it. The slot
    is held until the call ends, however it ends; the lock only until the
    command runs inside the VPS (or could not start), not while it runs:
    a stop meanwhile stops the VPS, which ends the command. The lock keeps
    the command out of a VPS that is being started or stopped (never
    attached between a start and the settings that follow it).
    """
    name, locks = args["name"], call.services.locks
    freeSlot = call.services.execSlots.take(
        call.services.config, call.vps.xid, name, call.user.uid,
        call.user.name)
    try:
        waiting = locks.take(name, LOCK_WAIT)
    except BaseException:
        freeSlot()
        raise
    if waiting is None:
        return _execHeld(call, args, freeSlot)

    def notTaken(failure):
        freeSlot()
        return failure
    return waiting.addCallbacks(lambda _: _execHeld(call, args, freeSlot),
                                notTaken)


def _execHeld(call, args, freeSlot):
    """
    L{_exec} once the lock of the VPS is held.
    """
    name, locks = args["name"], call.services.locks
    held = [True]

    def release(passthrough=None):
        if held:
            held.pop()
            locks.release(name)
        return passthrough

    def end(passthrough):
        release()
        freeSlot()
        return passthrough
    try:
        d = lifecycle.execute(call.services, name, args["command"],
                              attached=release, xid=call.vps.xid)
    except BaseException:
        end(None)
        raise
    return d.addBoth(end)


@defer.inlineCallbacks
def _kill(call, args):
    kernel = call.services.kernel
    try:
        yield kernel.kill(args["name"], args["pid"], args["sig"])
    except KernelError as e:
        if not (yield kernel.isRunning(args["name"])):
            raise VCDFault(MESTOPPED, "virtual server %r is not running"
                           % (args["name"],))
        raise invalid("pid", str(e))


@defer.inlineCallbacks
def _status(call, args):
    status = yield call.services.kernel.status(args["name"])
    status["rootstate"], _ = yield call.services.db.read(
        roots.rootState, call.vps.xid)
    loads = call.services.loads.load(args["name"])
    status.update(load1m=loads["1m"], load5m=loads["5m"],
                  load15m=loads["15m"])
    ns = yield call.services.db.read(userns.usernsOf, call.vps.xid)
    status["kind"] = describe(ns)["kind"]
    # Frozen by SCHED_PAUSE (vcd.vps.contextflags): running, but runs nothing.
    status["frozen"] = bool(status["running"]) and (
        yield call.services.kernel.isFrozen(args["name"]))
    return status


def _limstatus(call, args):
    return limitStatus(call.services, args["name"])


def _load(call, args):
    return call.services.loads.load(args["name"])


def _nameOnly(method, capability, doc, run, lock=False, returns="nil"):
    return Method(method, capability, OWNER_VPS, [nameParam()], returns, doc,
                  run=run, lock=lock)


@implementer(IPlugin, IMethodNamespace)
class VXNamespace:
    """
    The C{vx} namespace.
    """

    name = "vx"
    description = "General maintenance methods (manual chapter 12)"

    methods = (
        Method("vx.create", "CREATE", OWNER_CREATE, [
            nameParam(),
            Param("template", A.templateName(allowEmpty=True),
                  doc="Template to create the VPS from"),
            Param("force", A.Bool(), False,
                  "Rebuild an existing (stopped) VPS"),
            Param("copy", A.Bool(), False,
                  "A private full copy instead of copy-on-write"),
            Param("vdir", A.AbsolutePath(allowEmpty=True), "",
                  "Directory under vbasedir (administrators only)"),
        ], "nil", "Create a virtual server from a template.", run=_create,
            lock=True, aliases={"rebuild": "force"}),
        Method("vx.remove", "CREATE", OWNER_VPS, [nameParam()], "nil",
               "Remove a stopped virtual server: its files and every VXDB"
               " row.", run=_remove, lock=True),
        Method("vx.rename", "CREATE", OWNER_VPS, [
            nameParam(), Param("newname", A.vpsName(), doc="New name")],
            "nil", "Rename a stopped virtual server (VXDB and its LXC"
            " directory).",
            run=_rename, lock=True),
        Method("vx.templates", "CREATE", OWNER_NONE, [
            Param("name", A.templateName(allowEmpty=True), "",
                  "Template name (empty for all)")],
            "array", "List the templates.", run=_templates),
        _nameOnly("vx.start", "INIT", "Start a virtual server; returns once"
                  " its init runs.", _start, lock=True),
        _nameOnly("vx.stop", "INIT", "Run the halt command, wait the init"
                  " timeout, then stop hard; returns the halt output.",
                  _stop, lock=True, returns="string"),
        _nameOnly("vx.restart", "INIT", "Stop, then start a virtual server.",
                  _restart, lock=True),
        _nameOnly("vx.reboot", "INIT", "Run the reboot command; returns its"
                  " output.", _reboot, lock=True, returns="string"),
        Method("vx.exec", "EXEC", OWNER_VPS, [
            nameParam(),
            Param("command", A.String(maxLength=4096, allowEmpty=True),
                  doc="Simple command line (no shell), run with execvp")],
            "string", "Run a command inside a running virtual server;"
            " returns its combined output. MEBUSY at once beyond"
            " execpervps commands running at once in the virtual server"
            " (default 4) or execperuser for the caller across their"
            " virtual servers (default 16); vx.stop and vx.reboot are"
            " never refused so. Holds the VPS lock (MEBUSY if"
            " it is held) only until the command runs: vx.stop stops the"
            " virtual server meanwhile, ending the command (MEEXEC 1000 +"
            " 128 + the signal). MESTOPPED at once if it is frozen"
            " (SCHED_PAUSE).", run=_exec),
        Method("vx.kill", "INIT", OWNER_VPS, [
            nameParam(),
            Param("pid", A.Int(0, 4194304),
                  doc="Pid inside the VPS; 0: all processes, 1: its init"),
            Param("sig", A.Int(0, 64),
                  doc="Signal number (signal(7)); 0 sends nothing and only"
                  " checks that the processes exist, as kill(2) does")],
            "nil", "Send a signal to processes of a virtual server.",
            run=_kill),
        _nameOnly("vx.status", "INIT", "Running, process count, uptime,"
                  " thread counts and load of a virtual server, its kind"
                  " (unprivileged or privileged, as configured: it applies"
                  " from the next start), and the state of its files"
                  " (rootstate: ready, or broken when a failed rebuild or"
                  " the crash recovery left them incomplete), and whether"
                  " it is frozen (the flag SCHED_PAUSE: it runs nothing)."
                  " The"
                  " original's"
                  " forks_total is absent: the kernel counts forks only"
                  " for the whole host (/proc/stat), not per cgroup or PID"
                  " namespace.", _status, returns="struct"),
        _nameOnly("vx.limstatus", "INFO", "The limits the kernel counts"
                  " for a running virtual server, from its cgroup"
                  " counters: an array of {type, min, cur, max, hits}:"
                  " RSS in KiB (in use, peak, allocations that met the"
                  " limit) and NPROC (tasks, peak, forks refused). min is"
                  " 0: the kernel keeps no minimum. Per-process limits"
                  " (NOFILE, ...) have no per-VPS counter and are not"
                  " listed. MESTOPPED if it is not running.", _limstatus,
                  returns="array"),
        _nameOnly("vx.load", "INFO", "Load average (1m, 5m, 15m) of a"
                  " virtual server, as the kernel computes the host's.",
                  _load, returns="struct"),
    )


vx = VXNamespace()
