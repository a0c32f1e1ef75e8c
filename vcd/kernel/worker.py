"""
The kernel worker: a small single-threaded process that does the liblxc
operations that fork (start, attach), which must never run inside the
threaded daemon.

The daemon spawns it once (C{python -m vcd.kernel.worker}) with
C{reactor.spawnProcess} and talks to it in JSON lines: one request a line on
its standard input, one response a line on its standard output, each with
the request's C{id}. Starts it does itself, one at a time (liblxc's
daemonized start forks the container's monitor, detached). Commands
(exec) it attaches itself too: liblxc makes each a child of the worker,
whose event loop collects their output, enforces their timeouts and reaps
them, so a long command in one VPS never delays another request. Other
requests get a forked child each. When its standard input closes (the
daemon went away) the worker exits, and the VPSes keep running.

Requests:
  - C{{"id", "op": "start", "lxcpath", "name", "config", "paths"}}: check
    the root directories, write the configuration, start the container
    daemonized with every inherited descriptor closed, and watch its init
    for a moment; answers C{{"ok", "initPid"}} or C{{"ok": false, "error"}}
    (with C{"running"} or C{"missing"} where that is why).
  - C{{"id", "op": "exec", "lxcpath", "name", "argv", "timeout", "cap",
    "env"}}: run C{argv} with execvp inside the container, standard input
    from /dev/null, standard output and error combined into one pipe;
    answers C{{"ok", "status", "output", "truncated", "timedOut",
    "notFound"}}.
"""

import collections
import json
import os
import select
import selectors
import signal
import sys
import time

READ_CHUNK = 65536
#: How long a new init must stay alive for its start to succeed: an init
#: that cannot run (exits at once, misses a library) is gone by then.
START_SETTLE = 0.001


def _lxc():
    from vcd.kernel.binding import ffi, lib
    return ffi, lib


def _open(lxcpath, name):
    from vcd.kernel.binding import openContainer
    return openContainer(lxcpath, name)


def _logTail(lxcpath, name, offsets=None, lines=8):
    """
    What this start's LXC log says went wrong: its ERROR lines and its
    last lines (from C{offsets}, where the logs ended before the start),
    and the end of the console log (the init's own words).
    """
    directory = os.path.join(lxcpath, name)
    found = []
    for log in LOGS:
        try:
            with open(os.path.join(directory, log), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max((offsets or {}).get(log, 0), f.tell() - 65536))
                text = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        tail = text[-lines:]
        errors = [line for line in text[:-lines] if " ERROR " in line]
        found.extend(errors[-lines:] + tail)
    return "\n".join(found)


#: A container's log is emptied at a start once it is larger than this.
LOG_LIMIT = 1024 * 1024
LOGS = ("log", "console.log")


def _writeConfig(lxcpath, name, text):
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
    offsets = {}
    for log in LOGS:
        logPath = os.path.join(directory, log)
        try:
            size = os.path.getsize(logPath)
        except FileNotFoundError:
            size = 0
        if size > LOG_LIMIT:
            os.truncate(logPath, 0)
            size = 0
        offsets[log] = size
    return offsets


def doStart(request):
    """
    Start a container (in the worker itself: liblxc's daemonized start
    forks the monitor) with the configuration text the daemon generated.
    Blocking.
    """
    ffi, lib = _lxc()
    lxcpath, name = request["lxcpath"], request["name"]
    for path in request.get("paths", ()):
        if not os.path.isdir(path):
            return {"ok": False, "missing": path,
                    "error": "%s does not exist" % (path,)}
    # Written first, so the container object reads it. A running VPS keeps
    # the configuration it started with; the file is for the next start.
    offsets = _writeConfig(lxcpath, name, request["config"])
    c = _open(lxcpath, name)
    try:
        if c.is_running(c):
            return {"ok": False, "running": True,
                    "error": "%s is already running" % (name,)}
        c.want_daemonize(c, True)
        c.want_close_all_fds(c, True)
        if not c.start(c, 0, ffi.NULL):
            error = "liblxc failed to start %s" % (name,)
        else:
            pid = c.init_pid(c)
            # An init that fails at once (/bin/false) is still reported
            # RUNNING for tens of ms after start() returns, but its pidfd
            # says at once that it exited.
            if pid > 0 and _survives(pid, request.get("settle",
                                                      START_SETTLE)):
                return {"ok": True, "initPid": pid}
            error = "the init of %s exited at once" % (name,)
        running = c.is_running(c)
    finally:
        lib.lxc_container_put(c)
    if not running:
        removeEmptyCgroups(name)
    return {"ok": False, "error": "%s: %s" % (
        error, _logTail(lxcpath, name, offsets) or "no log")}


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


def afterStart(request):
    """
    After the answer went out: remove the empty cgroups earlier runs of
    this container left (liblxc cannot remove its monitor's cgroup while
    the monitor is in it, and numbers the next one on).
    """
    removeEmptyCgroups(request["name"])


def removeEmptyCgroups(name):
    """
    Remove the empty cgroups a failed start of container C{name} left
    behind (C{lxc.monitor.NAME*}, C{lxc.payload.NAME*}) at the top of
    every hierarchy. Only empty directories go (rmdir fails on a busy
    cgroup); no hierarchy is ever unmounted or remounted.
    """
    prefixes = ("lxc.monitor.%s" % (name,), "lxc.payload.%s" % (name,))
    from vcd.kernel.hostfeatures import cgroupMounts
    for mountpoint, _, _ in cgroupMounts():
        try:
            entries = os.listdir(mountpoint)
        except OSError:
            continue
        for entry in entries:
            if entry in prefixes or any(
                    entry.startswith(p + "-") and entry[len(p) + 1:].isdigit()
                    for p in prefixes):
                try:
                    os.rmdir(os.path.join(mountpoint, entry))
                except OSError:
                    pass


def _cstrings(ffi, keep, values):
    array = ffi.new("char *[]", len(values) + 1)
    for i, value in enumerate(values):
        keep.append(ffi.new("char[]", value.encode("utf-8",
                                                   "surrogateescape")))
        array[i] = keep[-1]
    array[len(values)] = ffi.NULL
    keep.append(array)
    return array


def _programExists(rootPid, program, path):
    """
    Whether C{program} resolves to an executable inside the root of
    process C{rootPid}: checked in a forked child chrooted there, so
    absolute symlinks resolve as they do inside the VPS.
    """
    import shutil
    child = os.fork()
    if child == 0:
        try:
            os.chroot("/proc/%d/root" % (rootPid,))
            os.chdir("/")
            found = (os.access(program, os.X_OK) if "/" in program
                     else shutil.which(program, path=path) is not None)
            os._exit(0 if found else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) != 1


def attachCommand(request):
    """
    Start C{request["argv"]} inside the container with liblxc's attach:
    standard input from /dev/null, standard output and error into one
    pipe. The attached process is a child of the caller.

    @return: C{(pid, readEnd, initPid)}, or a result dict saying why not.
    """
    ffi, lib = _lxc()
    lxcpath, name, argv = request["lxcpath"], request["name"], request["argv"]
    env = request.get("env") or []
    c = _open(lxcpath, name)
    keep = []
    readEnd, writeEnd = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        initPid = c.init_pid(c)
        if initPid <= 0:
            os.close(readEnd)
            return {"ok": False, "error": "%s is not running" % (name,)}
        options = ffi.new("lxc_attach_options_t *")
        options.attach_flags = lib.LXC_ATTACH_DEFAULT
        options.namespaces = -1
        options.personality = -1
        options.initial_cwd = ffi.NULL
        options.uid = 0xFFFFFFFF
        options.gid = 0xFFFFFFFF
        options.env_policy = lib.LXC_ATTACH_CLEAR_ENV
        options.extra_env_vars = _cstrings(ffi, keep, env)
        options.extra_keep_env = ffi.NULL
        options.stdin_fd = devnull
        options.stdout_fd = writeEnd
        options.stderr_fd = writeEnd
        options.log_fd = -9  # -EBADF: no log descriptor
        command = ffi.new("lxc_attach_command_t *")
        command.program = _cstrings(ffi, keep, [argv[0]])[0]
        command.argv = _cstrings(ffi, keep, argv)
        pid = ffi.new("pid_t *")
        if c.attach(c, lib.lxc_attach_run_command, command, options,
                    pid) < 0:
            os.close(readEnd)
            return {"ok": False, "error": "liblxc failed to attach to %s"
                    % (name,)}
        return pid[0], readEnd, initPid
    finally:
        os.close(writeEnd)
        os.close(devnull)
        lib.lxc_container_put(c)


def _withNotFound(result, request, initPid):
    result["notFound"] = (
        result["status"] in (126, 127, 255) and not _programExists(
            initPid, request["argv"][0], _pathOf(request.get("env") or [])))
    return result


class RunningExec:
    """
    A command the worker attached to a container and collects the output
    of, in its own event loop (no fork of ours: liblxc's attach makes the
    command a child of the worker).
    """

    def __init__(self, request, pid, readEnd, initPid):
        self.request = request
        self.pid = pid
        self.readEnd = readEnd
        self.initPid = initPid
        self.cap = request["cap"]
        self.deadline = time.monotonic() + request["timeout"]
        self.chunks = []
        self.kept = 0
        self.truncated = False
        self.timedOut = False
        self.status = None
        self.eof = False
        self.registered = False
        self.pidfd = None

    def read(self):
        """
        Read what the pipe has; note its end.
        """
        try:
            data = os.read(self.readEnd, READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            self.eof = True
            return
        take = data[:max(self.cap - self.kept, 0)]
        if take:
            self.chunks.append(take)
            self.kept += len(take)
        if len(take) < len(data):
            self.truncated = True

    def drain(self):
        """
        Read what is already in the pipe (the command exited; a daemon it
        left behind may keep the pipe open, so do not wait for its end).
        """
        while not self.eof:
            ready, _, _ = select.select([self.readEnd], [], [], 0)
            if not ready:
                return
            self.read()

    def expire(self, now):
        """
        Kill the command if its time is up.
        """
        if self.status is None and not self.timedOut and now >= self.deadline:
            self.timedOut = True
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def result(self):
        """
        @return: the answer, once the command exited.
        """
        return _withNotFound({
            "ok": True, "status": self.status,
            "output": b"".join(self.chunks).decode("utf-8", "replace"),
            "truncated": self.truncated, "timedOut": self.timedOut},
            self.request, self.initPid)


def _pathOf(env):
    for entry in env:
        if entry.startswith("PATH="):
            return entry[5:]
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


CLONE_NEWUTS = 0x04000000


def doSetDomainName(request):
    """
    Set the NIS domain name inside a running container: join its UTS
    namespace (this forked child is single-threaded) and call
    setdomainname(2).
    """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/proc/%d/ns/uts" % (request["initPid"],), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWUTS) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)
    name = request["domainname"].encode()
    if libc.setdomainname(name, len(name)) != 0:
        raise OSError(ctypes.get_errno(), "setdomainname")
    return {"ok": True}


OPERATIONS = {"start": doStart, "setdomainname": doSetDomainName}
#: Work done after the answer went out.
AFTER = {"start": afterStart}
#: How long the worker must have had nothing to do before it does
#: after-work (such as removing a started container's stale cgroups).
IDLE_DELAY = 0.2
#: Operations the worker does itself rather than in a forked child.
INLINE = frozenset(["start"])


def _perform(request):
    """
    Do one operation; return its result dict, errors included.
    """
    try:
        operation = OPERATIONS.get(request.get("op"))
        if operation is None:
            return {"ok": False, "error": "unknown operation %r"
                    % (request.get("op"),)}
        return operation(request)
    except BaseException as e:
        return {"ok": False, "error": "%s: %s" % (e.__class__.__name__, e)}


def _answerOf(request, result):
    result["id"] = request.get("id")
    return (json.dumps(result) + "\n").encode()


def _after(request):
    after = AFTER.get(request.get("op"))
    if after is not None:
        try:
            after(request)
        except Exception:
            pass


def _runChild(request, resultFd):
    """
    In a forked child: do one operation, write its JSON result, then do
    the operation's after-work.
    """
    view = memoryview(_answerOf(request, _perform(request)))
    while view:
        written = os.write(resultFd, view)
        view = view[written:]
    os.close(resultFd)
    _after(request)


def _isolateDescriptors(keep):
    """
    In a forked child: point standard input, output and error at
    /dev/null and close every other descriptor but C{keep}, so nothing of
    the daemon's can leak into a VPS through liblxc.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


class Worker:
    """
    The worker's main loop: read requests, do starts itself (see
    L{INLINE}) and fork a child for every other request, relay each
    child's answer as soon as its line is complete, reap the children.
    """

    def __init__(self, stdin, stdout):
        self.stdin = stdin
        self.stdout = stdout
        self.selector = selectors.DefaultSelector()
        self.pending = {}  # result fd -> _Child
        self.execs = {}  # pid -> RunningExec
        self.idleWork = collections.deque()  # requests with after-work
        self.inputBuffer = b""
        self.inputOpen = True

    def run(self):
        os.set_blocking(self.stdin, False)
        self.selector.register(self.stdin, selectors.EVENT_READ, "stdin")
        while self.inputOpen or self.pending or self.execs:
            timeout = IDLE_DELAY if self.idleWork else 1.0
            if self.execs:
                soonest = min(e.deadline for e in self.execs.values())
                timeout = max(0.0, min(timeout, soonest - time.monotonic()))
            events = self.selector.select(timeout)
            if not events and self.idleWork and not self.execs:
                _after(self.idleWork.popleft())
            for key, _ in events:
                if key.data == "stdin":
                    self._readRequests()
                elif isinstance(key.data, RunningExec):
                    key.data.read()
                    if key.data.eof:
                        self.selector.unregister(key.fd)
                        key.data.registered = False
                elif isinstance(key.data, tuple):
                    # A command's pidfd: it exited.
                    self.selector.unregister(key.fd)
                    os.close(key.fd)
                    key.data[1].pidfd = None
                else:
                    self._readResult(key.fd)
            now = time.monotonic()
            for running in list(self.execs.values()):
                running.expire(now)
            self._reap()
            self._finishExecs()

    def _startExec(self, request):
        try:
            attached = attachCommand(request)
        except Exception as e:
            attached = {"ok": False, "error": "%s: %s" % (
                e.__class__.__name__, e)}
        if isinstance(attached, dict):
            self._write(_answerOf(request, attached))
            return
        running = RunningExec(request, *attached)
        os.set_blocking(running.readEnd, False)
        self.selector.register(running.readEnd, selectors.EVENT_READ,
                               running)
        running.registered = True
        try:
            # Wakes the loop the moment the command exits.
            running.pidfd = os.pidfd_open(running.pid)
            self.selector.register(running.pidfd, selectors.EVENT_READ,
                                   ("exited", running))
        except ProcessLookupError:
            running.pidfd = None
        self.execs[running.pid] = running

    def _finishExecs(self):
        for pid, running in list(self.execs.items()):
            if running.status is None:
                continue
            running.drain()
            if running.registered:
                self.selector.unregister(running.readEnd)
            os.close(running.readEnd)
            if running.pidfd is not None:
                self.selector.unregister(running.pidfd)
                os.close(running.pidfd)
            del self.execs[pid]
            try:
                answer = running.result()
            except Exception as e:
                answer = {"ok": False, "error": "%s: %s" % (
                    e.__class__.__name__, e)}
            self._write(_answerOf(running.request, answer))

    def _readRequests(self):
        try:
            data = os.read(self.stdin, READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            self.inputOpen = False
            self.selector.unregister(self.stdin)
            return
        self.inputBuffer += data
        while b"\n" in self.inputBuffer:
            line, self.inputBuffer = self.inputBuffer.split(b"\n", 1)
            if line.strip():
                self._submit(json.loads(line))

    def _submit(self, request):
        if request.get("op") == "exec":
            self._startExec(request)
        elif request.get("op") in INLINE:
            # liblxc's daemonized start forks by itself: no child of ours
            # is needed, and starts run one at a time, so a storm of them
            # leaves the host's CPUs to everyone else in turn.
            self._write(_answerOf(request, _perform(request)))
            # After-work waits until the worker is idle: the next request
            # (an exec right after a start) is not delayed by it.
            self.idleWork.append(request)
        else:
            self._fork(request)

    def _fork(self, request):
        readEnd, writeEnd = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(readEnd)
                _isolateDescriptors(writeEnd)
                _runChild(request, writeEnd)
            except BaseException:
                code = 1
            os._exit(code)
        os.close(writeEnd)
        os.set_blocking(readEnd, False)
        self.selector.register(readEnd, selectors.EVENT_READ, "result")
        self.pending[readEnd] = _Child(request)

    def _readResult(self, fd):
        child = self.pending[fd]
        try:
            data = os.read(fd, READ_CHUNK * 16)
        except BlockingIOError:
            return
        if data:
            child.buffer += data
            if not child.answered and child.buffer.endswith(b"\n"):
                self._answer(child, child.buffer)
            return
        self.selector.unregister(fd)
        os.close(fd)
        del self.pending[fd]
        if not child.answered:
            self._answer(child, json.dumps({
                "id": child.request.get("id"), "ok": False,
                "error": "the worker child died"}).encode() + b"\n")

    def _answer(self, child, line):
        child.answered = True
        self._write(line)

    def _write(self, data):
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.stdout, view)
            except BlockingIOError:
                selectors.DefaultSelector().select(0.01)
                continue
            view = view[written:]

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.execs:
                self.execs[pid].status = os.waitstatus_to_exitcode(status)


class _Child:
    """
    A forked child doing one request.
    """

    def __init__(self, request):
        self.request = request
        self.buffer = b""
        self.answered = False


def main():
    """
    Run the worker on this process's standard input and output.
    """
    # Nothing inherited but standard input, output and error: every
    # descriptor the worker opens itself is close-on-exec, so none can reach
    # a command it attaches to a VPS.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _lxc()  # fail at once if the binding is missing
    Worker(sys.stdin.fileno(), sys.stdout.fileno()).run()


if __name__ == "__main__":
    main()
