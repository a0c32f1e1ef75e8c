# -*- test-case-name: tests.test_workerprocess -*-
"""
Operations the kernel worker does in a forked child of its own, because
they change the process that does them (setting a VPS's NIS domain name
joins its UTS namespace): the child runs with nothing of the daemon's but
a pipe for its error, and the worker's event loop waits for it.
"""

import os

from vcd.kernel.binding import ffi, lib
from vcd.kernel.worker.childio import OutputPipe, whenExited
from vcd.kernel.errors import KernelError

#: The most of a child's error message the worker reads.
MESSAGE_CAP = 4096


def isolateDescriptors(keep):
    """
    In a forked child: point standard input, output and error at
    /dev/null and close every other descriptor but C{keep}, so nothing of
    the daemon's can leak into a VPS.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def callAndExit(writeEnd, function, *args):
    """
    In a forked child: call C{function(*args)}, write what it raised (its
    class and message) to C{writeEnd}, and exit, 0 if it returned.
    Never returns.
    """
    code = 1
    try:
        try:
            function(*args)
            code = 0
        except BaseException as e:
            os.write(writeEnd, ("%s: %s" % (e.__class__.__name__, e))
                     .encode("utf-8", "replace")[:MESSAGE_CAP])
    finally:
        os._exit(code)


def runForked(loop, done, function, *args):
    """
    Call C{function(*args)} in a forked child, which never returns to the
    caller's code (nor to its loop).

    @param loop: the worker's L{vcd.kernel.worker.loop.Loop}.
    @param done: called once the child has exited, with None, or with a
        L{KernelError} saying what the function raised (or that the child
        died).
    """
    readEnd, writeEnd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(readEnd)
            isolateDescriptors(writeEnd)
        finally:
            callAndExit(writeEnd, function, *args)
    os.close(writeEnd)
    message = OutputPipe(loop, readEnd, MESSAGE_CAP)

    def exited(status):
        message.drain()
        text = message.close().decode("utf-8", "replace")
        if status == 0:
            done(None)
        else:
            done(KernelError(text or "the worker child died (%s)"
                             % (status,)))
    try:
        whenExited(loop, pid, exited)
    except BaseException:
        message.close()
        raise


def _joinUts(initPid):
    fd = os.open("/proc/%d/ns/uts" % (initPid,), os.O_RDONLY)
    try:
        if lib.setns(fd, lib.CLONE_NEWUTS) != 0:
            _raiseErrno("setns")
    finally:
        os.close(fd)


def setDomainName(initPid, domainname):
    """
    Set the NIS domain name in the UTS namespace of process C{initPid}: join
    it (this process must be single-threaded; the caller's namespace
    changes for good) and call setdomainname(2).

    @raise OSError: if either call fails.
    """
    _joinUts(initPid)
    name = domainname.encode()
    if lib.setdomainname(name, len(name)) != 0:
        _raiseErrno("setdomainname")


def setHostName(initPid, hostname):
    """
    Set the host name in the UTS namespace of process C{initPid}, as
    L{setDomainName} does the domain name.

    @raise OSError: if either call fails.
    """
    _joinUts(initPid)
    name = hostname.encode()
    if lib.sethostname(name, len(name)) != 0:
        _raiseErrno("sethostname")


def _raiseErrno(call):
    errno = ffi.errno
    raise OSError(errno, os.strerror(errno), call)
