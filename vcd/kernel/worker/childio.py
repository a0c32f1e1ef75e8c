# -*- test-case-name: tests.test_workerchildio -*-
"""
Watching a child of the kernel worker from its event loop
(L{vcd.kernel.worker.loop}) without blocking it:
its exit (through a pidfd, which becomes readable the moment the child
exits) and its output (a pipe, read as it comes, up to a cap).

The worker reaps only the children it watches, each by its pid: liblxc
waits for its own.
"""

import os

READ_CHUNK = 65536
#: What a pipe holds by default on Linux (16 pages).
PIPE_BUFFER = 65536


class _Exit:
    """
    A child's pidfd in the loop: readable once the child has exited.
    """

    def __init__(self, loop, pid, exited):
        self.loop = loop
        self.pid = pid
        self.exited = exited
        self.pidfd = os.pidfd_open(pid)
        loop.addReader(self)

    def fileno(self):
        return self.pidfd

    def doRead(self):
        self.loop.removeReader(self)
        os.close(self.pidfd)
        self.pidfd = -1
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            self.exited(None)
        else:
            self.exited(os.waitstatus_to_exitcode(status))


def whenExited(loop, pid, exited):
    """
    Reap the child C{pid} of this process once it exits, and call
    C{exited} with its exit code, or minus the signal that killed it (None
    if something else reaped it).

    @raise ProcessLookupError: if there is no such process.
    """
    _Exit(loop, pid, exited)


class OutputPipe:
    """
    The read end of a child's output pipe in the loop: keeps at most
    C{cap} bytes of what comes, notes whether more came, stops reading at
    its end.

    @ivar truncated: whether output beyond the cap was dropped.
    @ivar eof: whether the pipe's end was seen.
    """

    def __init__(self, loop, fd, cap):
        """
        @param fd: the read end, which this object now owns.
        """
        self.loop = loop
        self.fd = fd
        self.cap = cap
        self.chunks = []
        self.kept = 0
        self.truncated = False
        self.eof = False
        os.set_blocking(fd, False)
        loop.addReader(self)

    def fileno(self):
        return self.fd

    def doRead(self):
        """
        Read what the pipe has; note its end.
        """
        self._readOnce()

    def _readOnce(self):
        """
        @return: whether something was read.
        """
        try:
            data = os.read(self.fd, READ_CHUNK)
        except BlockingIOError:
            return False
        if not data:
            self.eof = True
            self.loop.removeReader(self)
            return False
        take = data[:max(self.cap - self.kept, 0)]
        if take:
            self.chunks.append(take)
            self.kept += len(take)
        if len(take) < len(data):
            self.truncated = True
        return True

    def drain(self):
        """
        Read what is already in the pipe, without waiting for its end (a
        daemon the child left behind may hold it open), and at most one
        pipe buffer's worth: such a daemon may keep writing for ever.
        """
        for _ in range(PIPE_BUFFER // READ_CHUNK + 1):
            if self.eof or not self._readOnce():
                return

    def close(self):
        """
        Stop reading and close the pipe.

        @return: the output kept.
        """
        if not self.eof:
            self.loop.removeReader(self)
            self.eof = True
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        return b"".join(self.chunks)
