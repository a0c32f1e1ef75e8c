"""
Tests for L{vcd.kernel.worker.protocol}, L{vcd.kernel.worker.boxes} and
L{vcd.kernel.worker.ampcommands}: the operations between the daemon and its
kernel worker, declared once, spoken by Twisted's AMP on the daemon's side
and by the worker's own codec on the other. Each is checked against
Twisted's C{amp} in both directions over in-memory transports: every
operation's arguments and response arrive as sent, its errors arrive typed,
values larger than an AMP value (64 KiB - 1) arrive whole, and an error
message too long for a value arrives cut.
"""

import os

from twisted.internet.testing import StringTransport
from twisted.protocols import amp
from twisted.trial import unittest

from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.worker import ampcommands, boxes, protocol
from vcd.kernel.worker.ampcommands import (Barrier, Exec, SetDomainName,
                                          SetHostName, Start)

#: For each operation: arguments and a response with every kind of value.
SAMPLES = {
    protocol.Start: (
        dict(lxcpath="/var/lib/vcd/lxc", name="vps1",
             config="lxc.uts.name = vps1\n\u00e9\n",
             rootKind="overlay",
             rootPaths=["/vservers/vps1/upper", "/t/l\u00e9", ""],
             idBase=2 ** 32 - 65536, idCount=65536,
             mountPoints=["/srv/\u00e9"], settle=0.25),
        {"initPid": 4242}),
    protocol.Exec: (
        dict(lxcpath="/l", name="vps1", argv=["echo", "a  b", "\u00e9", ""],
             timeout=30.0, cap=1048576, env=["PATH=/bin", "TERM=dumb"]),
        {"status": -9, "output": b"started\n\xff\x00", "truncated": True,
         "timedOut": False, "notFound": True}),
    protocol.SetDomainName: (
        dict(initPid=77, domainname="example.org"), {}),
    protocol.SetHostName: (
        dict(initPid=78, hostname="web1.\u00e9"), {}),
    protocol.Barrier: ({}, {}),
}

COMMANDS = {protocol.Start: Start, protocol.Exec: Exec,
            protocol.SetDomainName: SetDomainName,
            protocol.SetHostName: SetHostName, protocol.Barrier: Barrier}


class CodecWorker:
    """
    The worker's side, in the worker's codec: records each request's
    arguments and answers with C{self.answer} (a dict, or an exception).
    """

    def __init__(self, answer):
        self.answer = answer
        self.received = []
        self.parser = boxes.BoxParser()
        self.written = []

    def dataReceived(self, data):
        for box in self.parser.feed(data):
            operation = protocol.OPERATIONS[box[boxes.COMMAND]]
            self.received.append(boxes.fromBox(operation.arguments, box))
            ask = box[boxes.ASK]
            if isinstance(self.answer, BaseException):
                self.written.append(boxes.errorBox(ask, operation,
                                                   self.answer))
            else:
                self.written.append(boxes.answerBox(ask, operation,
                                                    self.answer))


class Loopback:
    """
    Twisted's AMP client joined to a L{CodecWorker}; L{pump} carries the
    bytes each wrote to the other.
    """

    def __init__(self, worker):
        self.client = amp.AMP()
        self.worker = worker
        self.clientTransport = StringTransport()
        self.client.makeConnection(self.clientTransport)
        self.wire = []

    def pump(self):
        while True:
            toWorker = self.clientTransport.value()
            self.clientTransport.clear()
            toClient = b"".join(self.worker.written)
            del self.worker.written[:]
            if not toWorker and not toClient:
                return
            self.wire.extend([toWorker, toClient])
            if toWorker:
                self.worker.dataReceived(toWorker)
            if toClient:
                self.client.dataReceived(toClient)


class TwistedWorker(amp.AMP):
    """
    The worker's side in Twisted's AMP, answering C{self.answer}: the
    oracle for the worker's codec as a client would use it.
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

    @SetHostName.responder
    def setHostName(self, **arguments):
        return self._reply(**arguments)

    @Barrier.responder
    def barrier(self, **arguments):
        return self._reply(**arguments)


def askTwisted(operation, answer, arguments):
    """
    Send C{arguments} encoded by the codec to a L{TwistedWorker} answering
    C{answer}; decode its answer with the codec.

    @return: C{(answer box, arguments Twisted received)}.
    """
    worker = TwistedWorker(answer)
    transport = StringTransport()
    worker.makeConnection(transport)
    box = boxes.toBox(operation.arguments, arguments)
    box.update({boxes.COMMAND: operation.name, boxes.ASK: b"7"})
    worker.dataReceived(boxes.serializeBox(box))
    [reply] = boxes.BoxParser().feed(transport.value())
    return reply, worker.received


class CodecAnswersTwistedTests(unittest.TestCase):
    """
    Twisted's AMP client asks, the worker's codec answers.
    """

    def call(self, answer, command, **arguments):
        worker = CodecWorker(answer)
        loop = Loopback(worker)
        results = []
        loop.client.callRemote(command, **arguments).addBoth(results.append)
        loop.pump()
        self.assertEqual(len(results), 1, "no answer")
        self.assertEqual(len(worker.received), 1)
        return results[0], worker.received[0], b"".join(loop.wire)

    def test_everyOperation(self):
        for operation, (arguments, answer) in SAMPLES.items():
            result, received, _ = self.call(answer, COMMANDS[operation],
                                            **arguments)
            self.assertEqual(received, arguments)
            self.assertEqual(result, answer)

    def test_startBigConfiguration(self):
        """
        A configuration larger than an AMP value arrives whole, in pieces.
        """
        config = "".join("lxc.mount.entry = /a%d b%d none bind 0 0\n"
                         % (i, i) for i in range(5000))
        self.assertGreater(len(config.encode()), 3 * amp.MAX_VALUE_LENGTH)
        _, received, wire = self.call(
            {"initPid": 1}, Start, lxcpath="/l", name="n", config=config,
            rootKind="", rootPaths=[], idBase=0,
            idCount=0, mountPoints=[], settle=0.001)
        self.assertEqual(received["config"], config)
        self.assertIn(b"config.3", wire)

    def test_execBigOutput(self):
        """
        Output of 1 MiB (sixteen times an AMP value) arrives whole, byte
        for byte.
        """
        output = os.urandom(1024 * 1024)
        answer = {"status": 0, "output": output, "truncated": False,
                  "timedOut": False, "notFound": True}
        result, _, wire = self.call(answer, Exec, lxcpath="/l", name="n",
                                    argv=["cat"], timeout=1.0, cap=2 ** 20,
                                    env=[])
        self.assertEqual(result["output"], output)
        self.assertIn(b"output.16", wire)

    def test_execEmptyOutput(self):
        result, _, _ = self.call(
            {"status": 0, "output": b"", "truncated": False,
             "timedOut": False, "notFound": False},
            Exec, lxcpath="/l", name="n", argv=["true"], timeout=1.0, cap=0,
            env=[])
        self.assertEqual(result["output"], b"")

    def failWith(self, command, error, expected=None, **arguments):
        """
        C{command} answered with C{error} fails on the Twisted side with
        an exception of the same class (or C{expected}); the connection
        stays usable.

        @return: that exception.
        """
        worker = CodecWorker(error)
        loop = Loopback(worker)
        results = []
        loop.client.callRemote(command, **arguments).addBoth(results.append)
        loop.pump()
        [failure] = results
        self.assertIs(type(failure.value), expected or type(error))
        worker.answer = {}
        results = []
        loop.client.callRemote(SetDomainName, initPid=1,
                               domainname="d").addBoth(results.append)
        loop.pump()
        self.assertEqual(results, [{}])
        return failure.value

    def start(self, error):
        return self.failWith(Start, error, lxcpath="/l", name="n",
                             config="", rootKind="copy", rootPaths=["/missing"],
                             idBase=0, idCount=0, mountPoints=[],
                             settle=0.001)

    def test_typedErrors(self):
        for error in (AlreadyRunning("n is already running"),
                      RootMissing("/vservers/n/upper \u00e9"),
                      KernelError("liblxc failed to start n: log says")):
            self.assertEqual(str(self.start(error)), str(error))
        e = self.failWith(Exec, KernelError("n is not running"),
                          lxcpath="/l", name="n", argv=["true"],
                          timeout=1.0, cap=10, env=[])
        self.assertEqual(str(e), "n is not running")
        e = self.failWith(SetDomainName, KernelError("OSError: setns"),
                          initPid=1, domainname="d")
        self.assertEqual(str(e), "OSError: setns")

    def test_undeclaredErrorAsKernelError(self):
        """
        An exception the operation does not declare arrives as a
        KernelError naming its class.
        """
        e = self.failWith(SetDomainName, ValueError("boom"), KernelError,
                          initPid=1, domainname="d")
        self.assertEqual(str(e), "ValueError: boom")

    def test_hugeErrorsArriveCut(self):
        """
        An error message longer than one AMP value can carry arrives cut at
        MAX_ERROR_TEXT characters, typed, and the connection stays up
        (Twisted's AMP would drop it, failing every command in flight).
        """
        self.assertLess(boxes.MAX_ERROR_TEXT * 4, amp.MAX_VALUE_LENGTH)
        e = self.start(RootMissing("\U0001f600" * 70000))
        self.assertEqual(str(e), "\U0001f600" * boxes.MAX_ERROR_TEXT)
        e = self.failWith(SetDomainName, MemoryError("x" * 70000),
                          KernelError, initPid=1, domainname="d")
        self.assertEqual(str(e), ("MemoryError: " + "x" * 70000)
                         [:boxes.MAX_ERROR_TEXT])


class CodecAsksTwistedTests(unittest.TestCase):
    """
    The codec encodes the arguments and decodes the answers as Twisted's
    AMP does.
    """

    def test_everyOperation(self):
        for operation, (arguments, answer) in SAMPLES.items():
            reply, received = askTwisted(operation, answer, arguments)
            self.assertEqual(received, [arguments])
            self.assertEqual(reply[boxes.ANSWER], b"7")
            self.assertEqual(boxes.fromBox(operation.response, reply),
                             answer)

    def test_bigValues(self):
        config = "\u00e9" * 200000
        output = os.urandom(300000)
        reply, received = askTwisted(
            protocol.Exec, dict(SAMPLES[protocol.Exec][1], output=output),
            dict(SAMPLES[protocol.Exec][0]))
        self.assertEqual(boxes.fromBox(protocol.Exec.response,
                                       reply)["output"], output)
        _, received = askTwisted(protocol.Start, {"initPid": 1},
                                 dict(SAMPLES[protocol.Start][0],
                                      config=config))
        self.assertEqual(received[0]["config"], config)

    def test_errors(self):
        """
        Twisted's error boxes carry the codes the table declares.
        """
        for error, code in ((RootMissing("/x"), b"ROOT_MISSING"),
                            (AlreadyRunning("n"), b"ALREADY_RUNNING"),
                            (KernelError("k"), b"KERNEL_ERROR")):
            reply, _ = askTwisted(protocol.Start, error,
                                  SAMPLES[protocol.Start][0])
            self.assertEqual((reply[boxes.ERROR], reply[boxes.ERROR_CODE],
                              reply[boxes.ERROR_DESCRIPTION]),
                             (b"7", code, str(error).encode()))
            self.assertEqual(
                boxes.errorBox(b"7", protocol.Start, error),
                boxes.serializeBox(reply))


class ValueTests(unittest.TestCase):
    """
    Each type tag's wire form is the one of the Twisted argument
    L{ampcommands} builds for it.
    """

    VALUES = [
        (protocol.Unicode(), ["", "a", "\u00e9\u20ac\U0001f600"]),
        (protocol.String(), [b"", b"\x00\xff"]),
        (protocol.Integer(), [0, -9, 2 ** 70]),
        (protocol.Float(), [0.001, 30.0, -1e300, 1.0 / 3]),
        (protocol.Boolean(), [True, False]),
        (protocol.ListOf(protocol.Unicode()), [[], [""], ["a", "\u00e9"]]),
        (protocol.ListOf(protocol.Integer()), [[1, -2, 300]]),
    ]

    def test_sameAsTwisted(self):
        for tag, values in self.VALUES:
            argument = ampcommands.argumentFor(tag)
            for value in values:
                data = boxes.encodeValue(tag, value)
                self.assertEqual(data, argument.toString(value), (tag, value))
                self.assertEqual(boxes.decodeValue(tag, data), value)
                self.assertEqual(argument.fromString(data), value)

    def test_badValues(self):
        self.assertRaises(boxes.MalformedBox, boxes.decodeValue,
                          protocol.Boolean(), b"yes")
        self.assertRaises(boxes.MalformedBox, boxes.decodeValue,
                          protocol.ListOf(protocol.String()), b"\x00\x05ab")
        self.assertRaises(ValueError, boxes.encodeValue, protocol.Float(), 1)

    def test_missingArgument(self):
        self.assertRaises(boxes.MalformedBox, boxes.fromBox,
                          protocol.SetDomainName.arguments,
                          {b"initPid": b"1"})


class FramingTests(unittest.TestCase):
    """
    The codec's framing is AMP's.
    """

    def test_sameAsTwisted(self):
        box = {b"_command": b"Exec", b"k": b"", b"v" * 255: b"x" * 65535}
        self.assertEqual(boxes.serializeBox(box), amp.AmpBox(box).serialize())

    def test_byteByByte(self):
        """
        Boxes arrive whole however the stream is cut.
        """
        wire = (amp.AmpBox({b"a": b"1", b"b": b""}).serialize()
                + amp.AmpBox({b"c": b"x" * 300}).serialize())
        parser = boxes.BoxParser()
        received = []
        for i in range(len(wire)):
            received.extend(parser.feed(wire[i:i + 1]))
        self.assertEqual(received, [{b"a": b"1", b"b": b""},
                                    {b"c": b"x" * 300}])

    def test_tooLong(self):
        self.assertRaises(boxes.MalformedBox, boxes.serializeBox,
                          {b"k": b"x" * 65536})
        self.assertRaises(boxes.MalformedBox, boxes.serializeBox,
                          {b"k" * 256: b""})
        self.assertRaises(boxes.MalformedBox, boxes.BoxParser().feed,
                          b"\x01\x00")


class ChunkedTests(unittest.TestCase):
    """
    L{protocol.Chunked} puts a value of any length into keys of at most
    its piece length, in the codec and in Twisted alike.
    """

    def roundTrip(self, value, pieceLength):
        tag = protocol.Chunked(protocol.String(), pieceLength)
        box = boxes.toBox([(b"data", tag)], {"data": value})
        for key, piece in box.items():
            self.assertLessEqual(len(piece), pieceLength, key)
        twistedBox = amp.AmpBox()
        ampcommands.argumentFor(tag).toBox(b"data", twistedBox,
                                           {"data": value}, None)
        self.assertEqual(box, dict(twistedBox))
        self.assertEqual(boxes.fromBox([(b"data", tag)], box),
                         {"data": value})
        return box

    def test_pieces(self):
        box = self.roundTrip(b"abcdefghij", 3)
        self.assertEqual(box, {b"data": b"4", b"data.0": b"abc",
                               b"data.1": b"def", b"data.2": b"ghi",
                               b"data.3": b"j"})

    def test_exactMultiple(self):
        self.assertEqual(self.roundTrip(b"abcdef", 3)[b"data"], b"2")

    def test_empty(self):
        self.assertEqual(self.roundTrip(b"", 3), {b"data": b"0"})

    def test_wholeValueLimit(self):
        """
        The default piece is the largest AMP value: a value of exactly that
        length is one piece, one byte more is two.
        """
        self.assertEqual(protocol.MAX_VALUE_LENGTH, amp.MAX_VALUE_LENGTH)
        tag = protocol.Chunked(protocol.String())
        for size, pieces in ((amp.MAX_VALUE_LENGTH, b"1"),
                             (amp.MAX_VALUE_LENGTH + 1, b"2")):
            box = boxes.toBox([(b"o", tag)], {"o": b"x" * size})
            self.assertEqual(box[b"o"], pieces)
            boxes.serializeBox(box)  # no value too long
