"""
Tests for the harness's removal of the lock directories liblxc makes under
C{/run/lxc/lock} for each test's lxcpath (L{tests.harness.removeLxcLocks}).
"""

import os

from twisted.internet import defer
from twisted.trial import unittest

from tests import harness
from tests.harness import DaemonTestCase, lxcLockDirectory, removeLxcLocks
from tests.running import RunningHelpers


class LockDirectoryTests(unittest.TestCase):
    """
    Tests for L{lxcLockDirectory}: where liblxc's locks of an lxcpath are.
    """

    def test_absolute(self):
        """
        liblxc appends the lxcpath to C{/run/lxc/lock/}.
        """
        self.assertEqual(lxcLockDirectory("/var/lib/vcd/lxc"),
                         "/run/lxc/lock/var/lib/vcd/lxc")

    def test_relative(self):
        """
        A relative lxcpath is appended as it is.
        """
        self.assertEqual(lxcLockDirectory("a/lxc/"), "/run/lxc/lock/a/lxc")

    def test_outside(self):
        """
        An lxcpath with a C{..}, or naming the root of the locks, has no
        lock directory of its own.
        """
        for lxcpath in ("/../../etc", "a/../b", "/", ""):
            self.assertRaises(ValueError, lxcLockDirectory, lxcpath)


class RemoveTests(unittest.TestCase):
    """
    Tests for L{removeLxcLocks}'s refusals, on a lock root of the test's
    own.
    """

    def setUp(self):
        self.root = os.path.abspath(self.mktemp())
        os.makedirs(self.root)
        self.patch(harness, "LXC_LOCK_ROOT", self.root)

    def test_removesOwnOnly(self):
        """
        The lock directory of the lxcpath goes, with its parents up to the
        one of the test's own directory; a sibling's and the parents of the
        test's own directory stay.
        """
        locks = os.path.join(self.root, "t/own/temp/data/lxc")
        sibling = os.path.join(self.root, "t/other/temp/data/lxc")
        for path in (locks, sibling):
            os.makedirs(path)
            open(os.path.join(path, ".vps"), "w").close()
        removeLxcLocks("/t/own/temp/data/lxc", "/t/own")
        self.assertFalse(os.path.lexists(os.path.join(self.root, "t/own")))
        self.assertTrue(os.path.exists(os.path.join(sibling, ".vps")))

    def test_notInside(self):
        """
        An lxcpath outside the test's own directory is refused.
        """
        os.makedirs(os.path.join(self.root, "elsewhere/lxc"))
        for lxcpath, own in (("/elsewhere/lxc", "/t/own"),
                             ("/t/own", "/t/own"),
                             ("relative/lxc", "relative")):
            self.assertRaises(AssertionError, removeLxcLocks, lxcpath, own)
        self.assertTrue(os.path.isdir(os.path.join(self.root,
                                                   "elsewhere/lxc")))

    def test_symlink(self):
        """
        A lock directory reached through a symbolic link is not removed.
        """
        target = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(target, "lxc"))
        os.makedirs(os.path.join(self.root, "t"))
        os.symlink(target, os.path.join(self.root, "t/own"))
        self.assertRaises(AssertionError, removeLxcLocks, "/t/own/lxc",
                          "/t")
        self.assertTrue(os.path.isdir(os.path.join(target, "lxc")))


class DaemonCleanupTests(RunningHelpers, DaemonTestCase):
    """
    A test of L{DaemonTestCase} that ran a container leaves no lock
    directory of its lxcpath once its cleanups are done.
    """

    def setUp(self):
        # Registered before the harness's cleanups, so run after them all.
        self.addCleanup(self.assertLocksGone)
        return super().setUp()

    def assertLocksGone(self):
        for path in (lxcLockDirectory(self.config.lxcpath),
                     lxcLockDirectory(os.path.dirname(self.base))):
            self.assertFalse(os.path.lexists(path),
                             "%s is left after the test" % (path,))
        self.assertTrue(os.path.isdir(os.path.dirname(
            lxcLockDirectory(os.path.dirname(self.base)))))

    @defer.inlineCallbacks
    def test_runningContainer(self):
        """
        While a VPS runs, liblxc holds its lock file in the lxcpath's lock
        directory; after the test, that directory is gone.
        """
        name = yield self.newVps(start=True)
        lockFile = os.path.join(lxcLockDirectory(self.config.lxcpath),
                                "." + name)
        self.assertTrue(os.path.isfile(lockFile), lockFile)
