# -*- test-case-name: tests.test_workerloop -*-
"""
The kernel worker's event loop, on the standard library's C{selectors}:
descriptors watched for reading, and timers. No threads, no signal
handlers (the containers' monitors and the commands, forked from the
worker, inherit nothing of it; liblxc reaps its own children).

A reader is an object with C{fileno()} and C{doRead()} (as Twisted's
C{IReadDescriptor}, so the worker's watchers read alike in either).
"""

import heapq
import itertools
import selectors
import sys
import time


class Timer:
    """
    A call scheduled on a L{Loop}.
    """

    def __init__(self, loop, when, function, args):
        self._loop = loop
        self.when = when
        self.function = function
        self.args = args
        self.cancelled = False
        self.called = False

    def active(self):
        """
        @return: whether it is still to be called.
        """
        return not (self.cancelled or self.called)

    def cancel(self):
        """
        Do not call it.
        """
        self.cancelled = True

    def reset(self, delay):
        """
        Call it C{delay} seconds from now instead.
        """
        self.when = self._loop.clock() + delay
        self._loop._schedule(self)


class Loop:
    """
    A single-threaded event loop.

    @ivar clock: the function giving the time, in seconds (monotonic).
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._selector = selectors.DefaultSelector()
        self._timers = []  # heap of (when, sequence, Timer)
        self._sequence = itertools.count()
        self._running = False

    def addReader(self, reader):
        """
        Call C{reader.doRead()} whenever its descriptor is readable.
        """
        self._selector.register(reader.fileno(), selectors.EVENT_READ,
                                reader)

    def removeReader(self, reader):
        """
        Stop watching C{reader}.
        """
        self._selector.unregister(reader.fileno())

    def callLater(self, delay, function, *args):
        """
        Call C{function(*args)} in C{delay} seconds (0: in the next
        iteration, after the descriptors ready now were read).

        @return: a L{Timer}.
        """
        timer = Timer(self, self.clock() + delay, function, args)
        self._schedule(timer)
        return timer

    def _schedule(self, timer):
        # A reset timer has an entry per time it was set: only the one
        # with its current time counts.
        heapq.heappush(self._timers, (timer.when, next(self._sequence),
                                      timer))

    def _stale(self, entry):
        when, _, timer = entry
        return not timer.active() or when != timer.when

    def _nextTimeout(self):
        while self._timers and self._stale(self._timers[0]):
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - self.clock())

    def iterate(self, timeout=None):
        """
        Wait for descriptors (at most until the next timer, or C{timeout}
        seconds if that is sooner), read those ready, call the timers due.
        """
        nextTimer = self._nextTimeout()
        if nextTimer is not None:
            timeout = nextTimer if timeout is None else min(timeout,
                                                            nextTimer)
        for key, _ in self._selector.select(timeout):
            # An earlier reader in this batch may have removed it.
            if self._selector.get_map().get(key.fd) is key:
                self._call(key.data.doRead)
        now = self.clock()
        due = []
        while self._timers and self._timers[0][0] <= now:
            entry = heapq.heappop(self._timers)
            if not self._stale(entry):
                due.append(entry[2])
        for timer in due:
            if timer.active():
                timer.called = True
                self._call(timer.function, *timer.args)

    def _call(self, function, *args):
        try:
            function(*args)
        except Exception:
            # A bug: say so on standard error (the daemon logs it) and go
            # on serving the others. (Imported only then: the worker
            # stays small.)
            import traceback
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()

    def run(self):
        """
        Iterate until L{stop} is called.
        """
        self._running = True
        while self._running:
            self.iterate()

    def stop(self):
        """
        End L{run} after this iteration.
        """
        self._running = False
