"""
Tests for L{vcd.kernel.worker.execute.runCommand} with a command attached
that the worker cannot watch (pidfd_open failing, as when the worker is
out of descriptors): the command is killed, not left running in its VPS
without its timeout and with nobody to answer for it. The "attached
command" is a plain child process here (no container needed).
"""

import errno
import os
import select
import signal

from twisted.trial import unittest

from vcd.kernel.worker import execute
from vcd.kernel.worker.loop import Loop


class UnwatchableCommandTests(unittest.TestCase):

    def setUp(self):
        self.pid = os.posix_spawnp("sleep", ["sleep", "60"],
                                   {"PATH": os.defpath})
        self.pidfd = os.pidfd_open(self.pid)
        self.addCleanup(os.close, self.pidfd)
        self.addCleanup(self.reap)
        self.readEnd, writeEnd = os.pipe()
        self.addCleanup(os.close, writeEnd)
        self.patch(execute, "attachCommand",
                   lambda lxcpath, name, argv, env: (self.pid, self.readEnd,
                                                     1))

    def reap(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def assertKilledWhen(self, failing, error):
        """
        Run the command with C{execute.<failing>} raising C{error}: the
        call fails, the command is killed and its pipe closed.
        """
        def fail(*args):
            raise OSError(error, os.strerror(error))
        self.patch(execute, failing, fail)
        self.assertRaises(OSError, execute.runCommand, Loop(),
                          lambda outcome: None, "/l", "n", ["sleep", "60"],
                          5.0, 100, [])
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        self.assertTrue(poller.poll(10000), "the command still runs")
        self.assertRaises(OSError, os.fstat, self.readEnd)

    def test_noPidfd(self):
        self.assertKilledWhen("whenExited", errno.EMFILE)

    def test_outputNotWatched(self):
        self.assertKilledWhen("OutputPipe", errno.ENOMEM)
