# -*- test-case-name: tests.test_workerstart -*-
"""
The kernel worker's start of a container: check its root, write its
configuration, start it daemonized through liblxc (which forks the
container's monitor, detached, with every inherited descriptor closed),
and watch its init for a moment. Blocking: the worker does one start at a
time.
"""

import os
import select

from vcd.kernel.binding import ffi, lib, openContainer
from vcd.kernel.cgroups import ownCgroups, returnTo
from vcd.kernel.contextconfig import keptTimeNamespace
from vcd.kernel.worker.containerlog import logTail, noteLogEnds
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.idmap import prepareRoot, releaseRoot


def writeConfig(lxcpath, name, text):
    """
    Write a container's configuration atomically (unless it is unchanged)
    and note where its logs end, so that a failure quotes this start's
    lines only.

    @return: a dict from log name to its size before this start.
    """
    directory = os.path.join(lxcpath, name)
    path = os.path.join(directory, "config")
    try:
        with open(path) as f:
            unchanged = f.read() == text
    except FileNotFoundError:
        unchanged = False
    if not unchanged:
        os.makedirs(os.path.join(directory, "rootfs.mnt"), mode=0o755,
                    exist_ok=True)
        os.chmod(directory, 0o700)
        with open(path + ".new", "w") as f:
            f.write(text)
        os.rename(path + ".new", path)
    return noteLogEnds(directory)


def startContainer(lxcpath, name, config, root, settle, removeCgroups):
    """
    Start a container with the configuration text the daemon generated.

    @param root: the L{RootSpec} of its root, prepared before and released
        after the start (L{prepareRoot}, L{releaseRoot}); C{None} if the
        configuration's root needs nothing.
    @param settle: how long its init must stay alive, in seconds: an init
        that cannot run (exits at once, misses a library) is gone by then.
    @param removeCgroups: called with C{name} when a failed start left the
        container stopped, to remove the empty cgroups it left.
    @return: the host pid of its init.
    @raise RootMissing: with the path, if a directory of C{root} is
        missing.
    @raise AlreadyRunning: if it runs.
    @raise KernelError: saying why it did not start, with its log.
    """
    for path in (root.paths if root else ()):
        if not os.path.isdir(path):
            raise RootMissing(path)
    # Written first, so the container object reads it. A running VPS keeps
    # the configuration it started with; the file is for the next start.
    offsets = writeConfig(lxcpath, name, config)
    c = openContainer(lxcpath, name)
    try:
        if c.is_running(c):
            raise AlreadyRunning("%s is already running" % (name,))
        if root is not None:
            try:
                prepareRoot(root, lxcpath, name)
            except OSError as e:
                releaseRoot(root, lxcpath, name)
                raise KernelError("cannot prepare the root of %s: %s"
                                  % (name, e.strerror or e))
        try:
            return _start(c, lxcpath, name, settle, removeCgroups, offsets)
        finally:
            if root is not None:
                releaseRoot(root, lxcpath, name)
    finally:
        lib.lxc_container_put(c)


def _start(c, lxcpath, name, settle, removeCgroups, offsets):
    c.want_daemonize(c, True)
    c.want_close_all_fds(c, True)
    home = ownCgroups()
    with keptTimeNamespace():  # VIRT_UPTIME's is not for the next VPS
        started = c.start(c, 0, ffi.NULL)
    # liblxc leaves its caller in the container's monitor cgroup.
    returnTo(home)
    if not started:
        error = "liblxc failed to start %s" % (name,)
    else:
        pid = c.init_pid(c)
        # An init that fails at once (/bin/false) is still reported
        # RUNNING for tens of ms after start() returns, but its pidfd
        # says at once that it exited.
        if pid > 0 and _survives(pid, settle):
            return pid
        error = "the init of %s exited at once" % (name,)
    if not c.is_running(c):
        removeCgroups(name)
    raise KernelError("%s: %s" % (
        error, logTail(os.path.join(lxcpath, name), offsets) or "no log"))


def _survives(pid, seconds):
    """
    Whether process C{pid} is still alive after C{seconds}.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return not poller.poll(seconds * 1000)
    finally:
        os.close(fd)
