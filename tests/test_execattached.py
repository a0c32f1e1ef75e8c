"""
Tests for L{vcd.kernel.lxc.LXCKernel.execute}'s C{attached}: called once,
when the kernel worker answers the L{Barrier} sent after the L{Exec} (the
command runs), or before the result when the Exec's own answer comes
first; a failed Barrier changes nothing.
"""

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from vcd.kernel.errors import KernelError
from vcd.kernel.lxc import LXCKernel
from vcd.kernel.worker.ampcommands import Barrier, Exec

RESPONSE = {"status": 0, "output": b"out", "truncated": False,
            "timedOut": False, "notFound": False}


class FakeWorker:
    """
    Records each command sent, with the Deferred its answer fires.
    """

    def __init__(self):
        self.sent = []

    def callRemote(self, command, **arguments):
        d = defer.Deferred()
        self.sent.append((command, d))
        return d


class AttachedTests(unittest.TestCase):

    def setUp(self):
        self.worker = FakeWorker()
        self.kernel = LXCKernel("/l", None, Clock(), self.worker)
        self.events = []

    def execute(self):
        d = self.kernel.execute(
            "v", ["true"], 5, 100, [],
            attached=lambda: self.events.append("attached"))
        d.addBoth(lambda r: self.events.append(r))
        self.assertEqual([c for c, _ in self.worker.sent], [Exec, Barrier])
        (_, self.exec_), (_, self.barrier) = self.worker.sent
        return d

    def test_barrierFirst(self):
        """
        The Barrier's answer calls C{attached}; the result comes later.
        """
        self.execute()
        self.barrier.callback({})
        self.assertEqual(self.events, ["attached"])
        self.exec_.callback(RESPONSE)
        self.assertEqual(self.events, ["attached", dict(RESPONSE,
                                                        output="out")])

    def test_execFailsFirst(self):
        """
        An Exec that could not start: C{attached} is called before the
        failure arrives, and not again by the Barrier's answer.
        """
        self.execute()
        self.exec_.errback(KernelError("v is not running"))
        self.assertEqual(self.events[0], "attached")
        self.assertIs(type(self.events[1].value), KernelError)
        self.barrier.callback({})
        self.assertEqual(len(self.events), 2)

    def test_barrierFails(self):
        """
        A failed Barrier (the worker ended) is ignored: C{attached} is
        called with the Exec's own answer.
        """
        self.execute()
        self.barrier.errback(KernelError("worker ended"))
        self.assertEqual(self.events, [])
        self.exec_.callback(RESPONSE)
        self.assertEqual(self.events[0], "attached")
        self.assertEqual(len(self.events), 2)

    def test_withoutAttached(self):
        """
        Without C{attached}, only the Exec is sent.
        """
        d = self.kernel.execute("v", ["true"], 5, 100, [])
        self.assertEqual([c for c, _ in self.worker.sent], [Exec])
        self.worker.sent[0][1].callback(RESPONSE)
        self.assertEqual(self.successResultOf(d)["output"], "out")
