# -*- test-case-name: tests.test_locks,tests.test_lockhandover -*-
"""
The per-VPS locks: at most one locking operation runs on a VPS at a time.

One mechanism for every caller: the dispatcher takes a lock at once or
answers MEBUSY (L{VPSLocks.take}); the daemon's own actions (a reboot
coming back through vshelper, group actions, onboot) wait their turn for a
while (L{VPSLocks.wait}). Used on the reactor thread only.

A setter's live change (L{vcd.api.livelock}) holds a lock briefly
(milliseconds: a cgroup write) and waits in line for it. A locked method
(start, stop, exec...) arriving while only such brief holders have the
lock does not answer MEBUSY: it waits, ahead of every brief waiter, so a
stream of setters never keeps a VPS from being stopped.
"""

from collections import deque

from twisted.internet import defer

from vcd.faults import MEBUSY, VCDFault


#: How long a live change waits for a start or stop under way, and a
#: locked method for the live changes holding the lock.
LOCK_WAIT = 30


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
        # name: the queue of its waiters (_Waiter), while its lock is held.
        self._waiters = {}
        # The names whose lock a brief holder (a live change) has.
        self._brief = set()
        # Waiters handed a lock, not yet told (see release).
        self._handed = deque()
        self._handing = False

    def acquire(self, name, brief=False):
        """
        Take the lock of VPS C{name} if it is free.

        @param brief: whether the holder is a live change (see L{take}).
        @return: False if it is already held.
        """
        if name in self._waiters:
            return False
        self._waiters[name] = deque()
        if brief:
            self._brief.add(name)
        return True

    def wait(self, name, timeout, brief=False, first=False):
        """
        Take the lock of VPS C{name}, waiting at most C{timeout} seconds.

        @param brief: whether the holder is a live change (see L{take}).
        @param first: wait ahead of every waiter but the other C{first}
            ones.
        @return: a Deferred firing once the lock is held, or failing with
            MEBUSY when the timeout passes first.
        """
        if self.acquire(name, brief):
            return defer.succeed(None)
        queue = self._waiters[name]

        def cancel(d):
            queue.remove(entry)
        waiter = defer.Deferred(cancel)
        entry = _Waiter(waiter, brief, first)
        if first:
            queue.insert(sum(1 for e in queue if e.first), entry)
        else:
            queue.append(entry)

        def timedOut(failure):
            # addTimeout turns its own cancellation into TimeoutError; a
            # caller's cancel stays a CancelledError.
            failure.trap(defer.TimeoutError)
            raise busy(name)
        waiter.addTimeout(timeout, self._reactor)
        return waiter.addErrback(timedOut)

    def take(self, name, timeout):
        """
        Take the lock of VPS C{name} for a locked method: at once if it is
        free; if brief holders only (live changes) have it or wait for it,
        once they are done with it, ahead of them (at most C{timeout}
        seconds); else MEBUSY at once.

        @return: None if the lock is held now, else a Deferred firing once
            it is (or failing with MEBUSY).
        @raise VCDFault: MEBUSY if it is held by another locked operation.
        """
        if self.acquire(name):
            return None
        if name not in self._brief or \
                any(not e.brief for e in self._waiters[name]):
            raise busy(name)
        return self.wait(name, timeout, first=True)

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
        self._brief.discard(name)
        if not queue:
            del self._waiters[name]
            return
        # The waiter holds the lock from now on. It is told in a loop, not
        # from here: a waiter whose work ends at once releases the lock
        # from within its callback, and a recursion through a long queue
        # would end in a RecursionError that left the lock held for good.
        entry = queue.popleft()
        if entry.brief:
            self._brief.add(name)
        self._handed.append(entry.deferred)
        if self._handing:
            return
        self._handing = True
        try:
            while self._handed:
                self._handed.popleft().callback(None)
        finally:
            self._handing = False

    def run(self, name, function, *args, timeout=LOCK_WAIT):
        """
        Run C{function(*args)} holding the lock of C{name}, taken by
        L{take} (MEBUSY if another locked operation has it; after the live
        changes holding it, at most C{timeout} seconds), and release it
        when the result is known.

        @return: the result, or a Deferred firing with it.
        """
        waiting = self.take(name, timeout)
        if waiting is None:
            return self.runHeld(name, function, *args)
        return waiting.addCallback(
            lambda _: self.runHeld(name, function, *args))

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


class _Waiter:
    """
    One waiter for a lock: its Deferred, whether it will hold the lock
    briefly (a live change), and whether it waits ahead of the others.
    """

    def __init__(self, deferred, brief, first):
        self.deferred = deferred
        self.brief = brief
        self.first = first
