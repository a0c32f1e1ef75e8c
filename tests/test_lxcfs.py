"""
Tests for L{vcd.kernel.lxcfs}: the daemon's lxcfs, started for real on a
mount point of the test's own (never the host's /var/lib/lxcfs), checked
through the host's mount table and by reading its views, and stopped by the
test (it must not outlive the test: each test ends with it unmounted).
"""

import errno
import os
import shutil
import signal

from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from vcd.kernel import lxcfs
from vcd.kernel.hostfeatures import HostFeatures


def _mountedAt(path):
    """
    Whether a fuse.lxcfs filesystem is mounted at C{path}: the host's mount
    table, read here.
    """
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            if fields[4] == path and fields[dash + 1] == "fuse.lxcfs":
                return True
    return False


def _run(f, *args):
    return threads.deferToThread(f, *args)


class LxcfsServiceTests(unittest.TestCase):
    """
    L{lxcfs.LxcfsService} starts lxcfs where none serves, reuses one that
    serves, and stops only the one it started.
    """

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("lxcfs tests need root (FUSE mounts)")
        if shutil.which("lxcfs") is None:
            self.fail("lxcfs is missing: apt-get install lxcfs")
        self.base = os.path.abspath(self.mktemp())
        os.makedirs(self.base)
        self.mountPoint = os.path.join(self.base, "lxcfs")

    def service(self, name="a"):
        service = lxcfs.LxcfsService(
            reactor, _run, os.path.join(self.base, name + ".log"),
            os.path.join(self.base, name + ".pid"),
            mountPoint=self.mountPoint)
        self.addCleanup(self._stop, service)
        return service

    @defer.inlineCallbacks
    def assertUnmounted(self, timeout=10):
        """
        Wait until no lxcfs is mounted at the test's mount point: a
        terminated lxcfs unmounts itself, but not before its stop returns.
        """
        deadline = reactor.seconds() + timeout
        while _mountedAt(self.mountPoint):
            if reactor.seconds() > deadline:
                self.fail("lxcfs still mounted at %s %ds after its stop"
                          % (self.mountPoint, timeout))
            yield task.deferLater(reactor, 0.02, lambda: None)

    @defer.inlineCallbacks
    def _stop(self, service):
        if service.running:
            yield service.stopService()
        service.stopLxcfs()
        yield self.assertUnmounted()

    @defer.inlineCallbacks
    def test_startsAndStops(self):
        """
        Where nothing serves, the service starts lxcfs: its meminfo view
        reads; it says it serves; stopped, it unmounts.
        """
        self.assertFalse(_mountedAt(self.mountPoint))
        service = self.service()
        service.startService()
        why = yield service.firstCheck
        self.assertIsNone(why)
        self.assertTrue(service.serving)
        self.assertTrue(_mountedAt(self.mountPoint))
        with open(os.path.join(self.mountPoint, "proc/meminfo")) as f:
            self.assertTrue(f.readline().startswith("MemTotal:"))
        self.assertEqual(service.describe()["startedByVcd"], True)
        yield service.stopService()
        yield self.assertUnmounted()

    @defer.inlineCallbacks
    def test_restartsEnded(self):
        """
        An lxcfs that ended is started again by the next check; a service
        stopped while that start waits stops it all the same: nothing stays
        mounted.
        """
        spawned = defer.Deferred()

        def run(f, *args):
            if f is lxcfs.problem and service._spawned is not None:
                # The start's checks never answer: it is still starting.
                if not spawned.called:
                    spawned.callback(None)
                return defer.Deferred()
            return _run(f, *args)
        service = lxcfs.LxcfsService(
            reactor, run, os.path.join(self.base, "a.log"),
            os.path.join(self.base, "a.pid"), mountPoint=self.mountPoint)
        self.addCleanup(self._stop, service)
        service.startService()
        self.assertTrue(service.serving)
        service.stopLxcfs()
        yield self.assertUnmounted()
        service.check()
        yield spawned
        yield service.stopService()
        yield self.assertUnmounted()
        self.assertIsNone(service.ownPid)

    @defer.inlineCallbacks
    def test_reusesAnother(self):
        """
        A second service finds the first one's lxcfs serving, uses it, and
        leaves it running when it stops.
        """
        first = self.service("a")
        first.startService()
        yield first.firstCheck
        second = self.service("b")
        second.startService()
        self.assertTrue(second.serving)
        self.assertEqual(second.describe()["startedByVcd"], False)
        yield second.stopService()
        self.assertTrue(_mountedAt(self.mountPoint))
        yield first.stopService()
        yield self.assertUnmounted()

    @defer.inlineCallbacks
    def test_adopts(self):
        """
        A service with the pid file of one that left its lxcfs serving
        (VPSes used it) adopts that lxcfs, and stops it.
        """
        first = self.service("a")
        first.startService()
        yield first.firstCheck
        first.ownPid = None  # as if a VPS still used it at the stop
        yield first.stopService()
        self.assertTrue(_mountedAt(self.mountPoint))
        again = self.service("a")
        again.startService()
        self.assertEqual(again.describe()["startedByVcd"], True)
        yield again.stopService()
        yield self.assertUnmounted()

    @defer.inlineCallbacks
    def killDead(self, service, timeout=10):
        """
        Kill C{service}'s lxcfs with SIGKILL, which leaves its mount behind
        answering ENOTCONN or ECONNABORTED (as a machine restored without its processes
        does), and wait until its mount answers so (its threads have
        ended).
        """
        pid = service.ownPid
        service.ownPid = None
        os.kill(pid, signal.SIGKILL)
        deadline = reactor.seconds() + timeout
        while True:
            self.assertTrue(_mountedAt(self.mountPoint))
            try:
                open(os.path.join(self.mountPoint, "proc", "meminfo")).close()
            except OSError as e:
                self.assertIn(e.errno, (errno.ENOTCONN, errno.ECONNABORTED))
                break
            if reactor.seconds() > deadline:
                self.fail("lxcfs pid %d still answers %ds after SIGKILL"
                          % (pid, timeout))
            yield task.deferLater(reactor, 0.02, lambda: None)

    @defer.inlineCallbacks
    def test_deadMountAtStart(self):
        """
        A daemon that finds lxcfs's mount left by a process that is gone
        detaches it, starts its own, and its views read.
        """
        first = self.service("a")
        first.startService()
        yield first.firstCheck
        yield self.killDead(first)
        yield first.stopService()
        again = self.service("b")
        again.startService()
        self.assertIsNone((yield again.firstCheck))
        with open(os.path.join(self.mountPoint, "proc/meminfo")) as f:
            self.assertTrue(f.readline().startswith("MemTotal:"))
        self.assertTrue(again.describe()["startedByVcd"])
        yield again.stopService()
        yield self.assertUnmounted()

    @defer.inlineCallbacks
    def test_deadMountWhileRunning(self):
        """
        lxcfs killed while the daemon runs: the next check detaches its
        dead mount and serves again.
        """
        service = self.service()
        service.startService()
        yield service.firstCheck
        yield self.killDead(service)
        yield service.check()
        self.assertIsNone(service.why)
        with open(os.path.join(self.mountPoint, "proc/uptime")) as f:
            self.assertTrue(f.read())

    @defer.inlineCallbacks
    def test_notInstalled(self):
        """
        Without the lxcfs program the service says what to install, and the
        flags that need it are refused with that reason.
        """
        service = lxcfs.LxcfsService(
            reactor, _run, os.path.join(self.base, "log"),
            os.path.join(self.base, "pid"), mountPoint=self.mountPoint,
            executable=None)
        service.executable = None
        service.startService()
        self.addCleanup(service.stopService)
        why = yield service.firstCheck
        self.assertIn("apt-get install lxcfs", why)
        features = HostFeatures("v1", ["freezer"], service, True, True,
                                False, [0], [0])
        ok, text = features.support("flag", "VIRT_MEM")
        self.assertFalse(ok)
        self.assertIn("apt-get install lxcfs", text)
        self.assertEqual(features.describe()["lxcfs"]["serving"], False)
        self.assertEqual(features.support("flag", "HIDE_NETIF")[0], True)
        self.assertIn("always in force",
                      features.support("flag", "HIDE_NETIF")[1])
