"""
Tests for L{vcd.kernel.worker.loop}: the kernel worker's event loop calls
its timers in time order (cancelled ones never, reset ones at their new
time), reads its descriptors when they are readable, and goes on after a
callback raised.
"""

import io
import os
import sys

from twisted.trial import unittest

from vcd.kernel.worker.loop import Loop


class FakeClock:
    """
    A time that moves only when told.
    """

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Reader:
    def __init__(self, fd, loop, log):
        self.fd = fd
        self.loop = loop
        self.log = log

    def fileno(self):
        return self.fd

    def doRead(self):
        data = os.read(self.fd, 100)
        self.log.append(data)
        if not data:
            self.loop.removeReader(self)


class LoopTests(unittest.TestCase):

    def setUp(self):
        self.clock = FakeClock()
        self.loop = Loop(self.clock)
        self.calls = []

    def advance(self, seconds):
        self.clock.now += seconds
        self.loop.iterate(0)

    def test_timersInOrder(self):
        self.loop.callLater(2, self.calls.append, "b")
        self.loop.callLater(1, self.calls.append, "a")
        self.loop.callLater(1, self.calls.append, "a2")
        self.advance(0.5)
        self.assertEqual(self.calls, [])
        self.advance(0.5)
        self.assertEqual(self.calls, ["a", "a2"])
        self.advance(1)
        self.assertEqual(self.calls, ["a", "a2", "b"])
        self.advance(10)
        self.assertEqual(self.calls, ["a", "a2", "b"])

    def test_cancelAndReset(self):
        cancelled = self.loop.callLater(1, self.calls.append, "no")
        cancelled.cancel()
        timer = self.loop.callLater(1, self.calls.append, "late")
        self.advance(0.9)
        timer.reset(1)
        self.assertTrue(timer.active())
        self.advance(0.9)
        self.assertEqual(self.calls, [])
        self.advance(0.1)
        self.assertEqual(self.calls, ["late"])
        self.assertFalse(timer.active())
        self.assertFalse(cancelled.active())
        self.advance(5)
        self.assertEqual(self.calls, ["late"])

    def test_waitsForNextTimer(self):
        """
        With no descriptor ready, an iteration waits (on the real clock)
        until the next timer is due.
        """
        loop = Loop()
        loop.callLater(0.05, self.calls.append, "due")
        loop.iterate()
        self.assertEqual(self.calls, ["due"])

    def test_readers(self):
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        reader = Reader(read, self.loop, self.calls)
        self.loop.addReader(reader)
        os.write(write, b"abc")
        self.loop.iterate(5)
        self.assertEqual(self.calls, [b"abc"])
        os.close(write)
        self.loop.iterate(5)
        self.assertEqual(self.calls, [b"abc", b""])
        self.loop.iterate(0)
        self.assertEqual(self.calls, [b"abc", b""])

    def test_errorsLoggedAndLoopGoesOn(self):
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        self.loop.callLater(0, lambda: 1 / 0)
        self.loop.callLater(0, self.calls.append, "after")
        self.advance(0)
        self.assertEqual(self.calls, ["after"])
        self.assertIn("ZeroDivisionError", stderr.getvalue())

    def test_runUntilStopped(self):
        """
        L{Loop.run} returns after the iteration that stopped it: a call
        scheduled then is not made.
        """
        loop = Loop()

        def stop():
            self.calls.append(1)
            loop.stop()
            loop.callLater(0, self.calls.append, 2)
        loop.callLater(0.01, stop)
        loop.run()
        self.assertEqual(self.calls, [1])
