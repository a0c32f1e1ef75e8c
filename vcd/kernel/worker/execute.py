# -*- test-case-name: tests.test_workerexecute,tests.test_kernel_lxc,tests.test_execunwatched -*-
"""
The kernel worker's exec: liblxc's attach starts a command inside a running
container as a child of the worker, and the worker's event loop collects its
output, enforces its timeout and reaps it (through a pidfd), so a long
command in one VPS never delays another request.
"""

import os
import select
import signal

from vcd.kernel.binding import ffi, lib, openContainer
from vcd.kernel.contextconfig import keptTimeNamespace
from vcd.kernel.worker.childio import OutputPipe, whenExited
from vcd.kernel.errors import KernelError

#: The search path of a command whose environment has none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _cstrings(keep, values):
    array = ffi.new("char *[]", len(values) + 1)
    for i, value in enumerate(values):
        keep.append(ffi.new("char[]", value.encode("utf-8",
                                                   "surrogateescape")))
        array[i] = keep[-1]
    array[len(values)] = ffi.NULL
    keep.append(array)
    return array


def attachCommand(lxcpath, name, argv, env):
    """
    Start C{argv} inside the container with liblxc's attach: standard input
    from /dev/null, standard output and error into one pipe, the
    environment C{env} only. The attached process is a child of the caller;
    every descriptor the caller opens itself is close-on-exec, so none
    reaches it.

    @return: C{(pid, readEnd, initPid)}.
    @raise KernelError: if the container is not running or liblxc failed.
    """
    c = openContainer(lxcpath, name)
    keep = []
    readEnd, writeEnd = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    attached = False
    try:
        initPid = c.init_pid(c)
        if initPid <= 0:
            raise KernelError("%s is not running" % (name,))
        options = ffi.new("lxc_attach_options_t *")
        options.attach_flags = lib.LXC_ATTACH_DEFAULT
        options.namespaces = -1
        options.personality = -1
        options.initial_cwd = ffi.NULL
        options.uid = 0xFFFFFFFF
        options.gid = 0xFFFFFFFF
        options.env_policy = lib.LXC_ATTACH_CLEAR_ENV
        options.extra_env_vars = _cstrings(keep, env)
        options.extra_keep_env = ffi.NULL
        options.stdin_fd = devnull
        options.stdout_fd = writeEnd
        options.stderr_fd = writeEnd
        options.log_fd = -9  # -EBADF: no log descriptor
        command = ffi.new("lxc_attach_command_t *")
        command.program = _cstrings(keep, [argv[0]])[0]
        command.argv = _cstrings(keep, argv)
        pid = ffi.new("pid_t *")
        # liblxc joins a VIRT_UPTIME VPS's time namespace in the caller.
        with keptTimeNamespace():
            failed = c.attach(c, lib.lxc_attach_run_command, command,
                              options, pid) < 0
        if failed:
            raise KernelError("liblxc failed to attach to %s" % (name,))
        attached = True
        return pid[0], readEnd, initPid
    finally:
        if not attached:
            os.close(readEnd)
        os.close(writeEnd)
        os.close(devnull)
        lib.lxc_container_put(c)


#: Seconds the check of a command not found may take.
CHECK_TIMEOUT = 2.0


def programExists(rootPid, program, path, timeout=CHECK_TIMEOUT):
    """
    Whether C{program} resolves to an executable inside the root of
    process C{rootPid}: checked in a forked child chrooted there, so
    absolute symlinks resolve as they do inside the VPS. Blocking, for at
    most C{timeout} seconds: the VPS's files are the customer's (a slow or
    hung mount there must not stall the worker for every VPS); a check
    that takes longer is killed and answers True (not "not found").
    """
    child = os.fork()
    if child == 0:
        try:
            # Imported in the child only (it pulls in the compression
            # modules): the worker stays small.
            import shutil
            os.chroot("/proc/%d/root" % (rootPid,))
            os.chdir("/")
            found = (os.access(program, os.X_OK) if "/" in program
                     else shutil.which(program, path=path) is not None)
            os._exit(0 if found else 1)
        except BaseException:
            os._exit(2)
    pidfd = os.pidfd_open(child)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        exited = bool(poller.poll(timeout * 1000))
    finally:
        os.close(pidfd)
    if not exited:
        os.kill(child, signal.SIGKILL)
        # Reaped now if it died; else it stays a zombie of the worker
        # rather than blocking it.
        os.waitpid(child, os.WNOHANG)
        return True
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) != 1


def pathOf(env):
    """
    @return: the search path the environment C{env} (C{NAME=value}
        strings) gives a command.
    """
    for entry in env:
        if entry.startswith("PATH="):
            return entry[5:]
    return DEFAULT_PATH


def runCommand(loop, done, lxcpath, name, argv, timeout, cap, env):
    """
    Run a command in a container and collect it (see
    L{vcd.kernel.worker.protocol.Exec}).

    @param loop: the worker's L{vcd.kernel.worker.loop.Loop}.
    @param done: called once the command exited, with the response of
        L{vcd.kernel.worker.protocol.Exec} (a dict), or with the exception
        that ended it.
    @raise KernelError: if it could not be started.
    """
    pid, readEnd, initPid = attachCommand(lxcpath, name, argv, env)
    try:
        output = OutputPipe(loop, readEnd, cap)
    except BaseException:
        os.close(readEnd)
        _abandon(pid)
        raise
    timedOut = []

    def expire():
        timedOut.append(True)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def exited(status):
        timer.cancel()
        # Whatever it wrote before it exited is in the pipe; a daemon it
        # left behind may keep the pipe open, so do not wait for its end.
        output.drain()
        data = output.close()
        if status is None:
            done(KernelError("the command in %s was reaped elsewhere"
                             % (name,)))
            return
        try:
            notFound = status in (126, 127, 255) and not programExists(
                initPid, argv[0], pathOf(env))
        except Exception as e:
            done(e)
            return
        done({"status": status, "output": data,
              "truncated": output.truncated, "timedOut": bool(timedOut),
              "notFound": notFound})

    try:
        whenExited(loop, pid, exited)
    except BaseException:
        output.close()
        _abandon(pid)
        raise
    timer = loop.callLater(timeout, expire)


def _abandon(pid):
    """
    Kill the attached command C{pid} that cannot be watched (no pidfd: the
    worker is out of descriptors), rather than leave it running in its
    VPS with no timeout and nobody to answer for it; reaped now if it died
    at once, else it stays a zombie of the worker rather than block it.
    """
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass
