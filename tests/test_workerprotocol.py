"""
Tests for L{vcd.kernel.worker.protocol}: the commands between the daemon and
its kernel worker, sent from one AMP connection to another over in-memory
transports. Each command's arguments and response arrive as sent, its
errors arrive typed, and values larger than an AMP value (64 KiB - 1)
arrive whole.
"""

import os

from twisted.internet.testing import StringTransport
from twisted.protocols import amp
from twisted.trial import unittest

from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.worker.protocol import Chunked, Exec, SetDomainName, Start


class Loopback:
    """
    A client AMP and a server AMP (C{locator}) joined by in-memory
    transports; L{pump} carries the bytes each wrote to the other.
    """

    def __init__(self, locator):
        self.client = amp.AMP()
        self.server = locator
        self.clientTransport = StringTransport()
        self.serverTransport = StringTransport()
        self.client.makeConnection(self.clientTransport)
        self.server.makeConnection(self.serverTransport)
        self.wire = []

    def pump(self):
        """
        Deliver everything written so far, both ways, until nothing moves.
        """
        while True:
            toServer = self.clientTransport.value()
            self.clientTransport.clear()
            toClient = self.serverTransport.value()
            self.serverTransport.clear()
            if not toServer and not toClient:
                return
            self.wire.extend([toServer, toClient])
            if toServer:
                self.server.dataReceived(toServer)
            if toClient:
                self.client.dataReceived(toClient)


class Recorder(amp.AMP):
    """
    A worker double: records each command's arguments and answers with
    C{self.answer} (a dict, or an exception to raise).
    """

    def __init__(self, answer):
        amp.AMP.__init__(self)
        self.answer = answer
        self.received = []

    def _reply(self, **arguments):
        self.received.append(arguments)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    @Start.responder
    def start(self, **arguments):
        return self._reply(**arguments)

    @Exec.responder
    def execute(self, **arguments):
        return self._reply(**arguments)

    @SetDomainName.responder
    def setDomainName(self, **arguments):
        return self._reply(**arguments)


def randomBytes(size):
    """
    C{size} bytes of every value (not UTF-8), for output.
    """
    return os.urandom(size)


class CommandTests(unittest.TestCase):
    """
    Each command's arguments and responses round-trip.
    """

    def call(self, answer, command, **arguments):
        """
        Send C{command} to a L{Recorder} answering C{answer}.

        @return: C{(result, failure, received arguments, wire bytes)}.
        """
        recorder = Recorder(answer)
        loop = Loopback(recorder)
        results = []
        d = loop.client.callRemote(command, **arguments)
        d.addBoth(results.append)
        loop.pump()
        self.assertEqual(len(results), 1, "no answer")
        self.assertEqual(len(recorder.received), 1)
        return results[0], recorder.received[0], b"".join(loop.wire)

    def test_start(self):
        """
        Start carries the path, name, configuration, root paths and settle
        time, and answers the init's pid.
        """
        arguments = dict(lxcpath="/var/lib/vcd/lxc", name="vps1",
                         config="lxc.uts.name = vps1\n",
                         paths=["/vservers/vps1/upper", "/t/l\u00e9"],
                         settle=0.25)
        result, received, _ = self.call({"initPid": 4242}, Start,
                                        **arguments)
        self.assertEqual(received, arguments)
        self.assertEqual(result, {"initPid": 4242})

    def test_startBigConfiguration(self):
        """
        A configuration larger than an AMP value arrives whole, in pieces.
        """
        config = "".join("lxc.mount.entry = /a%d b%d none bind 0 0\n"
                         % (i, i) for i in range(5000))
        self.assertGreater(len(config.encode()), 3 * amp.MAX_VALUE_LENGTH)
        result, received, wire = self.call(
            {"initPid": 1}, Start, lxcpath="/l", name="n", config=config,
            paths=[], settle=0.001)
        self.assertEqual(received["config"], config)
        self.assertIn(b"config.3", wire)

    def test_exec(self):
        """
        Exec carries the command line, timeout, cap and environment, and
        answers the status (negative for a signal), output and flags.
        """
        arguments = dict(lxcpath="/l", name="vps1",
                         argv=["echo", "a  b", "\u00e9"], timeout=30.0,
                         cap=1048576, env=["PATH=/bin", "TERM=dumb"])
        answer = {"status": -9, "output": b"started\n\xff",
                  "truncated": True, "timedOut": True, "notFound": False}
        result, received, _ = self.call(answer, Exec, **arguments)
        self.assertEqual(received, arguments)
        self.assertEqual(result, answer)

    def test_execBigOutput(self):
        """
        Output of 1 MiB (sixteen times an AMP value) arrives whole, byte
        for byte.
        """
        output = randomBytes(1024 * 1024)
        answer = {"status": 0, "output": output, "truncated": False,
                  "timedOut": False, "notFound": True}
        result, _, wire = self.call(answer, Exec, lxcpath="/l", name="n",
                                    argv=["cat"], timeout=1.0, cap=2 ** 20,
                                    env=[])
        self.assertEqual(result["output"], output)
        self.assertEqual(result["notFound"], True)
        self.assertIn(b"output.16", wire)

    def test_execEmptyOutput(self):
        result, _, _ = self.call(
            {"status": 0, "output": b"", "truncated": False,
             "timedOut": False, "notFound": False},
            Exec, lxcpath="/l", name="n", argv=["true"], timeout=1.0, cap=0,
            env=[])
        self.assertEqual(result["output"], b"")

    def test_setDomainName(self):
        result, received, _ = self.call({}, SetDomainName, initPid=77,
                                        domainname="example.org")
        self.assertEqual(received, {"initPid": 77,
                                    "domainname": "example.org"})
        self.assertEqual(result, {})


class ErrorTests(unittest.TestCase):
    """
    Errors arrive as the exception classes the worker raised, with their
    messages; the connection stays usable.
    """

    def failWith(self, command, error, **arguments):
        recorder = Recorder(error)
        loop = Loopback(recorder)
        results = []
        loop.client.callRemote(command, **arguments).addBoth(results.append)
        loop.pump()
        [failure] = results
        self.assertIs(type(failure.value), type(error))
        self.assertEqual(str(failure.value), str(error))
        # Still usable: the next command is answered.
        recorder.answer = {}
        results = []
        loop.client.callRemote(SetDomainName, initPid=1,
                               domainname="d").addBoth(results.append)
        loop.pump()
        self.assertEqual(results, [{}])

    def start(self, error):
        self.failWith(Start, error, lxcpath="/l", name="n", config="",
                      paths=["/missing"], settle=0.001)

    def test_alreadyRunning(self):
        self.start(AlreadyRunning("n is already running"))

    def test_rootMissing(self):
        self.start(RootMissing("/vservers/n/upper"))

    def test_startKernelError(self):
        self.start(KernelError("liblxc failed to start n: lxc.log says"))

    def test_execKernelError(self):
        self.failWith(Exec, KernelError("n is not running"), lxcpath="/l",
                      name="n", argv=["true"], timeout=1.0, cap=10, env=[])

    def test_setDomainNameKernelError(self):
        self.failWith(SetDomainName, KernelError("OSError: setns"),
                      initPid=1, domainname="d")


class ChunkedTests(unittest.TestCase):
    """
    L{Chunked} puts a value of any length into keys of at most its piece
    length.
    """

    def roundTrip(self, value, pieceLength):
        argument = Chunked(amp.String(), pieceLength)
        box = amp.AmpBox()
        argument.toBox(b"data", box, {"data": value}, None)
        for key, piece in box.items():
            self.assertLessEqual(len(piece), pieceLength, key)
        objects = {}
        argument.fromBox(b"data", amp.AmpBox(box), objects, None)
        self.assertEqual(objects, {"data": value})
        return box

    def test_pieces(self):
        box = self.roundTrip(b"abcdefghij", 3)
        self.assertEqual(box, {b"data": b"4", b"data.0": b"abc",
                               b"data.1": b"def", b"data.2": b"ghi",
                               b"data.3": b"j"})

    def test_exactMultiple(self):
        box = self.roundTrip(b"abcdef", 3)
        self.assertEqual(box[b"data"], b"2")

    def test_empty(self):
        self.assertEqual(self.roundTrip(b"", 3), {b"data": b"0"})

    def test_wholeValueLimit(self):
        """
        The default piece is the largest AMP value: a value of exactly that
        length is one piece, one byte more is two.
        """
        argument = Chunked(amp.String())
        for size, pieces in ((amp.MAX_VALUE_LENGTH, b"1"),
                             (amp.MAX_VALUE_LENGTH + 1, b"2")):
            box = amp.AmpBox()
            argument.toBox(b"o", box, {"o": b"x" * size}, None)
            self.assertEqual(box[b"o"], pieces)
            box.serialize()  # no value too long
