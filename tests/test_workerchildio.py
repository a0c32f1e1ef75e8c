"""
Tests for L{vcd.kernel.worker.childio}: a child's exit noticed through its
pidfd and its output read from a pipe, in the worker's loop, with real
processes.
"""

import os
import signal
import time

from twisted.trial import unittest

from vcd.kernel.worker.childio import READ_CHUNK, OutputPipe, whenExited
from vcd.kernel.worker.loop import Loop


def forkExiting(code, before=None):
    """
    Fork a child that calls C{before} and exits with C{code}.
    """
    pid = os.fork()
    if pid == 0:
        try:
            if before is not None:
                before()
        finally:
            os._exit(code)
    return pid


def waitExit(testCase, loop, pid):
    """
    Iterate C{loop} until child C{pid} is reaped (at most 30 seconds).

    @return: its status, as L{whenExited} gives it.
    """
    statuses = []
    whenExited(loop, pid, statuses.append)
    deadline = time.monotonic() + 30
    while not statuses:
        testCase.assertLess(time.monotonic(), deadline, "not reaped")
        loop.iterate(1)
    return statuses[0]


class ExitTests(unittest.TestCase):

    def test_exitCode(self):
        self.assertEqual(waitExit(self, Loop(), forkExiting(7)), 7)

    def test_notReapedBeforeExit(self):
        """
        Nothing is called while the child runs.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        pid = forkExiting(3, lambda: os.read(read, 1))
        loop = Loop()
        statuses = []
        whenExited(loop, pid, statuses.append)
        loop.iterate(0.05)
        self.assertEqual(statuses, [])
        os.write(write, b"x")
        os.close(write)
        deadline = time.monotonic() + 30
        while not statuses:
            self.assertLess(time.monotonic(), deadline, "not reaped")
            loop.iterate(1)
        self.assertEqual(statuses, [3])

    def test_signal(self):
        """
        A child killed by a signal gives minus the signal, and is reaped.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        # Blocks in read until killed (the parent holds the write end).
        pid = forkExiting(0, lambda: os.read(read, 1))
        os.kill(pid, signal.SIGKILL)
        status = waitExit(self, Loop(), pid)
        os.close(write)
        self.assertEqual(status, -signal.SIGKILL)
        self.assertRaises(ChildProcessError, os.waitpid, pid, os.WNOHANG)


class OutputPipeTests(unittest.TestCase):

    def setUp(self):
        self.loop = Loop()

    def pipe(self, cap):
        read, write = os.pipe()
        output = OutputPipe(self.loop, read, cap)
        self.addCleanup(output.close)
        return output, write

    def test_capAndEnd(self):
        """
        At most the cap is kept, the rest noted as truncated; the pipe's end
        is seen once the child that held it exited.
        """
        output, write = self.pipe(100000)
        data = os.urandom(3 * READ_CHUNK)
        pid = forkExiting(0, lambda: os.write(write, data))
        os.close(write)
        waitExit(self, self.loop, pid)
        output.drain()
        self.assertTrue(output.eof)
        self.assertIs(output.truncated, True)
        self.assertEqual(output.close(), data[:100000])

    def test_readInLoop(self):
        """
        The loop reads the pipe as data comes, to its end.
        """
        output, write = self.pipe(10)
        os.write(write, b"abc")
        self.loop.iterate(5)
        self.assertEqual(output.chunks, [b"abc"])
        os.close(write)
        self.loop.iterate(5)
        self.assertTrue(output.eof)
        self.assertEqual(output.close(), b"abc")

    def test_drainDoesNotWait(self):
        """
        Draining reads what is in the pipe and returns while a writer
        still holds it open.
        """
        output, write = self.pipe(10)
        self.addCleanup(os.close, write)
        os.write(write, b"abc")
        output.drain()
        self.assertFalse(output.eof)
        self.assertIs(output.truncated, False)
        self.assertEqual(output.close(), b"abc")
