# -*- test-case-name: tests.test_workerprotocol -*-
"""
The operations of L{vcd.kernel.worker.protocol} as
C{twisted.protocols.amp} commands, for the daemon's side
(L{vcd.kernel.worker.client}): built from the protocol's table, so the
daemon and the worker (L{vcd.kernel.worker.boxes}) share one declaration.
"""

from twisted.protocols import amp

from vcd.kernel.worker import protocol

__all__ = ["Chunked", "Start", "Exec", "SetDomainName", "SetHostName",
           "Barrier", "commandFor"]


class Chunked(amp.Argument):
    """
    An argument of any length: the wire form of C{inner} (an
    L{amp.Argument}) in pieces of at most C{amp.MAX_VALUE_LENGTH} bytes,
    under the keys C{NAME.0}, C{NAME.1}, ..., with C{NAME} holding how many
    there are (see L{protocol.Chunked}).
    """

    def __init__(self, inner, pieceLength=amp.MAX_VALUE_LENGTH):
        """
        @param inner: the argument type of the whole value.
        @param pieceLength: the largest piece (smaller only in tests).
        """
        amp.Argument.__init__(self)
        self.inner = inner
        self.pieceLength = pieceLength

    def toBox(self, name, strings, objects, proto):
        """
        Put the value of C{name} from C{objects} into C{strings}, in pieces.
        """
        data = self.inner.toStringProto(objects.pop(name.decode("ascii")),
                                        proto)
        step = self.pieceLength
        pieces = [data[i:i + step] for i in range(0, len(data), step)]
        strings[name] = b"%d" % (len(pieces),)
        for i, piece in enumerate(pieces):
            strings[b"%s.%d" % (name, i)] = piece

    def fromBox(self, name, strings, objects, proto):
        """
        Join the pieces of C{name} from C{strings} into its value in
        C{objects}.
        """
        count = int(strings.pop(name))
        data = b"".join(strings.pop(b"%s.%d" % (name, i))
                        for i in range(count))
        objects[name.decode("ascii")] = self.inner.fromStringProto(data,
                                                                   proto)


_SIMPLE = {
    protocol.Unicode: amp.Unicode,
    protocol.String: amp.String,
    protocol.Integer: amp.Integer,
    protocol.Float: amp.Float,
    protocol.Boolean: amp.Boolean,
}


def argumentFor(tag):
    """
    @return: the L{amp.Argument} of a type tag of L{protocol}.
    """
    if type(tag) is protocol.ListOf:
        return amp.ListOf(argumentFor(tag.element))
    if type(tag) is protocol.Chunked:
        return Chunked(argumentFor(tag.inner), tag.pieceLength)
    return _SIMPLE[type(tag)]()


def commandFor(operation):
    """
    @return: the L{amp.Command} of an L{protocol.Operation}.
    """
    return type(operation.name.decode("ascii"), (amp.Command,), {
        "__doc__": operation.doc,
        "__module__": __name__,
        "commandName": operation.name,
        "arguments": [(name, argumentFor(tag))
                      for name, tag in operation.arguments],
        "response": [(name, argumentFor(tag))
                     for name, tag in operation.response],
        # In the table's order, subclasses first: AMP sends the code of
        # the first class an error is an instance of.
        "errors": dict(operation.errors),
    })


Start = commandFor(protocol.Start)
Exec = commandFor(protocol.Exec)
SetDomainName = commandFor(protocol.SetDomainName)
SetHostName = commandFor(protocol.SetHostName)
Barrier = commandFor(protocol.Barrier)
