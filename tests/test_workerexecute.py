"""
Tests for L{vcd.kernel.worker.execute.programExists}: whether a command
that exited 126/127/255 was not found inside the VPS, checked in a forked
child chrooted into the VPS's root, and never for longer than its timeout.
"""

import os
import time

from twisted.trial import unittest

from vcd.kernel.worker import execute

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ProgramExistsTests(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("chroot needs root: run the tests as root")

    def test_found(self):
        """
        A program on the path, or given by its path, is found in the root
        of the process named (this one's, here).
        """
        self.assertTrue(execute.programExists(os.getpid(), "sh", PATH))
        self.assertTrue(execute.programExists(os.getpid(), "/bin/sh", PATH))

    def test_notFound(self):
        self.assertFalse(execute.programExists(
            os.getpid(), "no-such-program-here", PATH))
        self.assertFalse(execute.programExists(
            os.getpid(), "/no/such/program", PATH))

    def test_hungCheckIsCut(self):
        """
        A check that hangs (a customer's slow or dead mount) is killed
        after the timeout and answers "exists", instead of holding the
        worker: the forked child inherits this process's os.chroot, made
        to hang here.
        """
        self.patch(os, "chroot", lambda path: time.sleep(60))
        begun = time.monotonic()
        self.assertTrue(execute.programExists(
            os.getpid(), "no-such-program-here", PATH, timeout=0.5))
        self.assertLess(time.monotonic() - begun, 30)
