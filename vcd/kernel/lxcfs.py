# -*- test-case-name: tests.test_lxcfs -*-
"""
lxcfs, the FUSE filesystem whose files are each VPS's own view of
C{/proc/meminfo}, C{loadavg}, C{cpuinfo}, C{stat} and more (the context
flags VIRT_MEM, VIRT_LOAD, VIRT_CPU): whether it serves, and
L{LxcfsService}, which makes sure it does while the daemon runs.

Checking that the binary exists says nothing: lxcfs serves only while its
process runs and its FUSE mount answers. L{serving} reads a file through
the mount (L{vcd.kernel.lxcfsmount} holds the blocking checks). The only
mount ever unmounted is one whose lxcfs process is gone (it answers
nothing, and a new lxcfs cannot mount over it): it is detached, logged,
and a new lxcfs started.

lxcfs runs as a child of the daemon (lxcfs 5 stays in the foreground),
in a session of its own, its output appended to a log file. When the
daemon stops, it stops the lxcfs it started, unless a VPS still has views
of it mounted (a VPS outlives the daemon, and its views would break for
good): that lxcfs keeps serving, and the next daemon (with the same pid
file) adopts it. An lxcfs no vcd started is never stopped.
"""

import os
import shutil

from twisted.application import service
from twisted.internet import defer, protocol, task
from twisted.logger import Logger

from vcd.kernel.contextconfig import MOUNT_POINT, VIEWS
from vcd.kernel.lxcfsmount import (detachDead, lxcfsMount, lxcfsPid, problem,
                                   terminate, usedByOthers, waitStarted)

# The blocking checks live in vcd.kernel.lxcfsmount; they stay importable
# from here.
__all__ = ["MOUNT_POINT", "VIEWS", "LxcfsService", "problem", "lxcfsMount",
           "usedByOthers", "lxcfsPid", "terminate"]


class _LxcfsProcess(protocol.ProcessProtocol):
    """
    The lxcfs child: fires C{ended} with its exit status.
    """

    def __init__(self):
        self.ended = defer.Deferred()

    def processEnded(self, reason):
        self.ended.callback(reason.value)


class LxcfsService(service.Service):
    """
    Makes sure lxcfs serves at L{MOUNT_POINT} while the daemon runs: found
    serving, it is used; otherwise it is started (C{lxcfs -l}: loadavg
    views too, its pid file in the daemon's data directory) and checked
    again every L{interval} seconds, started again if it ended. One that
    a daemon with the same pid file started and left serving VPSes is
    the daemon's own again (adopted).

    @ivar why: None while lxcfs serves, else why it does not (for
        C{vcd.hostinfo} and the faults of the flags that need it).
    @ivar ownPid: the pid of the lxcfs the daemon started (or adopted)
        and that serves, or None.
    """

    log = Logger()
    interval = 10.0
    #: How long lxcfs may take to mount (and to unmount once told to end).
    startTimeout = 10.0

    def __init__(self, reactor, run, logFile, pidFile,
                 mountPoint=MOUNT_POINT, executable=None):
        """
        @param run: C{run(f, *args)} running blocking C{f} off the reactor
            thread, firing with its result (the filesystem thread pool).
        @param logFile: where lxcfs's output is appended.
        @param pidFile: lxcfs's pid file (C{-p}).
        @param executable: the lxcfs program (default: found in C{PATH}).
        """
        self.reactor = reactor
        self.run = run
        self.logFile = logFile
        self.pidFile = pidFile
        self.mountPoint = mountPoint
        self.executable = executable or shutil.which("lxcfs")
        self.why = "lxcfs not checked yet"
        self.ownPid = None
        self._spawned = None  # the transport of an lxcfs being started
        self._pause = None  # the start's wait between two checks
        self._loop = None
        self.firstCheck = defer.Deferred()

    @property
    def serving(self):
        """
        Whether lxcfs served at the last check.
        """
        return self.why is None

    def describe(self):
        """
        A plain struct for C{vcd.hostinfo}.
        """
        return {"serving": self.serving, "mountpoint": self.mountPoint,
                "startedByVcd": self.ownPid is not None,
                "problem": self.why or ""}

    def startService(self):
        """
        Make sure lxcfs serves before the daemon serves (blocking, as the
        rest of its start-up: milliseconds, at most L{startTimeout}
        seconds), so that the VPSes created and started from now on have
        their views; then check again every L{interval} seconds.
        """
        service.Service.startService(self)
        why = problem(self.mountPoint)
        if why is not None and self.executable is not None:
            self._logDetached(self._detachDead())
            why = problem(self.mountPoint)
        if why is None:
            self.ownPid = lxcfsPid(self.pidFile, self.mountPoint)
        elif self.executable is None:
            why = "lxcfs is not installed (apt-get install lxcfs)"
        elif lxcfsMount(self.mountPoint) is None:
            transport, ended = self._spawn()
            waitStarted(transport.pid, self.mountPoint, self.startTimeout)
            why = problem(self.mountPoint)
            if why is None:
                self.ownPid = transport.pid
            else:
                why += " (lxcfs pid %d started; see %s)" % (transport.pid,
                                                           self.logFile)
        self._setWhy(why)
        self.firstCheck.callback(why)
        self._loop = task.LoopingCall(self._checkLogged)
        self._loop.clock = self.reactor
        self._loop.start(self.interval, now=False)

    @defer.inlineCallbacks
    def _checkLogged(self):
        try:
            yield self.check()
        except Exception:
            self.log.failure("checking lxcfs failed")
        if not self.firstCheck.called:
            self.firstCheck.callback(self.why)

    @defer.inlineCallbacks
    def check(self):
        """
        Check that lxcfs serves; start it if it does not and nothing
        stands in the way.

        @return: a Deferred firing once L{why} is up to date.
        """
        why = yield self.run(problem, self.mountPoint)
        if why is None:
            if self.ownPid is None:
                self.ownPid = yield self.run(lxcfsPid, self.pidFile,
                                             self.mountPoint)
        else:
            self.ownPid = None
            if self.executable is None:
                why = "lxcfs is not installed (apt-get install lxcfs)"
            else:
                self._logDetached((yield self.run(self._detachDead)))
                if (yield self.run(lxcfsMount, self.mountPoint)) is None:
                    why = yield self._start()
        self._setWhy(why)

    def _detachDead(self):
        """
        L{detachDead}, its failure as a count of 0 with the reason.
        """
        try:
            return detachDead(self.mountPoint), None
        except OSError as e:
            return 0, e

    def _logDetached(self, outcome):
        detached, error = outcome
        if error is not None:
            self.log.error("lxcfs at {path} lost its process, and its mount"
                           " could not be detached: {error}",
                           path=self.mountPoint, error=error)
        elif detached:
            self.log.warn("lxcfs at {path} had lost its process (killed, or"
                          " the machine was restored): its dead mount is"
                          " detached and a new lxcfs starts; running VPSes"
                          " with its views (VIRT_MEM, VIRT_LOAD, VIRT_CPU,"
                          " VIRT_UPTIME) get them back at their next start",
                          path=self.mountPoint)

    def _setWhy(self, why):
        """
        Record the outcome of a check, and log it when it changed.
        """
        if why != self.why:
            if why is None:
                self.log.info("lxcfs serves at {path}", path=self.mountPoint)
            else:
                self.log.error("lxcfs views (VIRT_MEM, VIRT_LOAD, VIRT_CPU)"
                               " unavailable: {why}", why=why)
        self.why = why

    def _spawn(self):
        """
        Start lxcfs as a child, in a session of its own, its output going
        to L{logFile}.

        @return: its transport, and a list that gets its exit status.
        """
        os.makedirs(self.mountPoint, exist_ok=True)
        log = os.open(self.logFile, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                      0o640)
        null = os.open(os.devnull, os.O_RDONLY)
        argv = [self.executable, "-l", "-p", self.pidFile, self.mountPoint]
        setsid = shutil.which("setsid")
        if setsid:
            # Its own session: a signal to the daemon's terminal or
            # process group does not reach it. (setsid(1) does not fork
            # in a process that leads no group.)
            argv = [setsid] + argv
        child = _LxcfsProcess()
        try:
            transport = self.reactor.spawnProcess(
                child, argv[0], argv, env={"PATH": os.defpath},
                childFDs={0: null, 1: log, 2: log})
        finally:
            os.close(log)
            os.close(null)
        ended = []
        child.ended.addCallback(ended.append)
        self.log.info("started lxcfs (pid {pid}) at {path}",
                      pid=transport.pid, path=self.mountPoint)
        return transport, ended

    @defer.inlineCallbacks
    def _start(self):
        if not self.running:
            return "the daemon is stopping"
        transport, ended = self._spawn()
        self._spawned = transport
        deadline = self.reactor.seconds() + self.startTimeout
        while True:
            why = yield self.run(problem, self.mountPoint)
            if why is None or ended or not self.running \
                    or self.reactor.seconds() > deadline:
                break
            self._pause = task.deferLater(self.reactor, 0.05, lambda: None)
            try:
                yield self._pause
            except defer.CancelledError:
                break  # stopService cancelled the wait
            finally:
                self._pause = None
        self._spawned = None
        if not self.running:
            return why  # stopService took care of it
        if why is None:
            self.ownPid = transport.pid
        elif ended:
            why = "lxcfs exited at once (%s; see %s)" % (ended[0],
                                                         self.logFile)
        return why

    def stopService(self):
        service.Service.stopService(self)
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        spawned = self._spawned
        if self._pause is not None:
            self._pause.cancel()  # (its start returns at once)
        if spawned is not None and spawned.pid is not None:
            # Stopped while it starts: wait (blocking) until it serves or
            # ends, and stop it then like one that serves.
            self.ownPid = spawned.pid
            waitStarted(self.ownPid, self.mountPoint, self.startTimeout)
        if self.ownPid is None:
            return
        # Blocking, here: the thread pools stop with the daemon too.
        if usedByOthers(self.mountPoint):
            self.log.info("lxcfs (pid {pid}) keeps serving the views of the"
                          " running VPSes", pid=self.ownPid)
            return
        self.stopLxcfs()

    def stopLxcfs(self):
        """
        Stop the lxcfs this service started or adopted: SIGTERM, after
        which it unmounts itself at once (and ends a few seconds later).
        Blocking until it has unmounted (milliseconds).
        """
        pid, self.ownPid = self.ownPid, None
        if pid is None:
            return
        unmounted = terminate(pid, self.mountPoint, self.startTimeout)
        # It holds a lock on its pid file until it ends (seconds later):
        # a new lxcfs started meanwhile must find a file of its own.
        if lxcfsPid(self.pidFile, self.mountPoint) in (pid, None):
            try:
                os.unlink(self.pidFile)
            except OSError:
                pass
        if not unmounted:
            self.log.error("lxcfs (pid {pid}) did not unmount {path} within"
                           " {timeout}s of SIGTERM", pid=pid,
                           path=self.mountPoint, timeout=self.startTimeout)
