"""
Tests for L{vcd.kernel.worker.childio}: a child's exit noticed through its
pidfd and its output read from a pipe, in the reactor, with real processes.
"""

import os
import signal

from twisted.internet import defer, reactor
from twisted.trial import unittest

from vcd.kernel.worker.childio import READ_CHUNK, OutputPipe, whenExited


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


class ExitTests(unittest.TestCase):
    timeout = 30

    @defer.inlineCallbacks
    def test_exitCode(self):
        status = yield whenExited(reactor, forkExiting(7))
        self.assertEqual(status, 7)

    @defer.inlineCallbacks
    def test_signal(self):
        """
        A child killed by a signal gives minus the signal, and is reaped.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        # Blocks in read until killed (the parent holds the write end).
        pid = forkExiting(0, lambda: os.read(read, 1))
        exited = whenExited(reactor, pid)
        self.assertFalse(exited.called)
        os.kill(pid, signal.SIGKILL)
        status = yield exited
        os.close(write)
        self.assertEqual(status, -signal.SIGKILL)
        self.assertRaises(ChildProcessError, os.waitpid, pid, os.WNOHANG)


class OutputPipeTests(unittest.TestCase):
    timeout = 30

    def pipe(self, cap):
        read, write = os.pipe()
        output = OutputPipe(reactor, read, cap)
        self.addCleanup(output.close)
        return output, write

    @defer.inlineCallbacks
    def test_capAndEnd(self):
        """
        At most the cap is kept, the rest noted as truncated; the pipe's end
        is seen once the child that held it exited.
        """
        output, write = self.pipe(100000)
        data = os.urandom(3 * READ_CHUNK)
        pid = forkExiting(0, lambda: os.write(write, data))
        os.close(write)
        yield whenExited(reactor, pid)
        output.drain()
        self.assertTrue(output.eof)
        self.assertIs(output.truncated, True)
        self.assertEqual(output.close(), data[:100000])

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
