# -*- test-case-name: tests.test_locks,tests.test_lockhandover -*-
"""
The per-VPS locks: at most one locking operation runs on a VPS at a time.

One mechanism for every caller: the dispatcher takes a lock at once or
answers MEBUSY (L{VPSLocks.acquire}); the daemon's own actions (a reboot
coming back through vshelper, group actions, onboot) wait their turn for a
while (L{VPSLocks.wait}). Used on the reactor thread only.
"""

from collections import deque

from twisted.internet import defer

from vcd.faults import MEBUSY, VCDFault


def busy(name):
    """
    The MEBUSY fault for VPS C{name}.
    """
    return VCDFault(MEBUSY, "virtual server %r is busy with another"
                    " operation" % (name,))


class VPSLocks:
    """
    Named locks, handed to waiters in the order they asked.

    @param reactor: an L{twisted.internet.interfaces.IReactorTime}, for
        the waiting deadlines.
    """

    def __init__(self, reactor):
        self._reactor = reactor
        self._waiters = {}
        # Waiters handed a lock, not yet told (see release).
        self._handed = deque()
        self._handing = False

    def acquire(self, name):
        """
        Take the lock of VPS C{name} if it is free.

        @return: False if it is already held.
        """
        if name in self._waiters:
            return False
        self._waiters[name] = deque()
        return True

    def wait(self, name, timeout):
        """
        Take the lock of VPS C{name}, waiting at most C{timeout} seconds.

        @return: a Deferred firing once the lock is held, or failing with
            MEBUSY when the timeout passes first.
        """
        if self.acquire(name):
            return defer.succeed(None)
        queue = self._waiters[name]

        def cancel(d):
            queue.remove(d)
        waiter = defer.Deferred(cancel)
        queue.append(waiter)

        def timedOut(failure):
            # addTimeout turns its own cancellation into TimeoutError; a
            # caller's cancel stays a CancelledError.
            failure.trap(defer.TimeoutError)
            raise busy(name)
        waiter.addTimeout(timeout, self._reactor)
        return waiter.addErrback(timedOut)

    def release(self, name):
        """
        Release the lock of VPS C{name}: hand it to the longest waiter, if
        any. That waiter is called back before this returns, unless this
        release comes from within a waiter's callback: then once that
        callback has returned.
        """
        queue = self._waiters.get(name)
        if queue is None:
            return
        if not queue:
            del self._waiters[name]
            return
        # The waiter holds the lock from now on. It is told in a loop, not
        # from here: a waiter whose work ends at once releases the lock
        # from within its callback, and a recursion through a long queue
        # would end in a RecursionError that left the lock held for good.
        self._handed.append(queue.popleft())
        if self._handing:
            return
        self._handing = True
        try:
            while self._handed:
                self._handed.popleft().callback(None)
        finally:
            self._handing = False

    def run(self, name, function, *args):
        """
        Run C{function(*args)} holding the lock of C{name}, which must be
        free (else MEBUSY), and release it when the result is known.

        @return: the result, or a Deferred firing with it.
        """
        if not self.acquire(name):
            raise busy(name)
        return self.runHeld(name, function, *args)

    def runHeld(self, name, function, *args):
        """
        Run C{function(*args)} while the caller holds the lock of C{name}
        (taken with L{acquire} or L{wait}), and release it when the result
        is known.

        @return: the result, or a Deferred firing with it.
        """
        try:
            result = function(*args)
        except BaseException:
            self.release(name)
            raise
        if not isinstance(result, defer.Deferred):
            self.release(name)
            return result

        def release(passthrough):
            self.release(name)
            return passthrough
        return result.addBoth(release)

    def held(self):
        """
        @return: the sorted names of the VPSes whose lock is held.
        """
        return sorted(self._waiters)
