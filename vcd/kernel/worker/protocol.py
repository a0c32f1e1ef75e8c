# -*- test-case-name: tests.test_workerprotocol -*-
"""
The protocol between the daemon (L{vcd.kernel.worker.client}) and its kernel
worker process (L{vcd.kernel.worker}): AMP over the worker's standard input
and output, with the operations declared here once, as plain data, each
with its arguments, its response and the errors it fails with (typed: they
arrive as the same exception classes, from L{vcd.kernel.errors}).

This module imports no Twisted: the worker encodes and decodes its boxes
with L{vcd.kernel.worker.boxes}, and the daemon sends them with the
C{twisted.protocols.amp} commands that L{vcd.kernel.worker.ampcommands}
builds from the same table.

An AMP value holds at most 64 KiB - 1; values that can be larger (a
configuration, a command's output of up to the output cap) are L{Chunked}:
split over as many keys as they need.
"""

from typing import NamedTuple, Tuple

from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing

__all__ = ["Unicode", "String", "Integer", "Float", "Boolean", "ListOf",
           "Chunked", "Operation", "ERRORS", "Start", "Exec",
           "SetDomainName", "SetHostName", "Barrier", "OPERATIONS"]

#: The largest AMP value, in bytes.
MAX_VALUE_LENGTH = 0xFFFF


class _Tag:
    """
    A type tag: equal to another of its class with the same parameters.
    (Plain classes rather than dataclasses: the worker stays small.)
    """

    def _key(self):
        return (type(self),) + tuple(vars(self).values())

    def __eq__(self, other):
        return isinstance(other, _Tag) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % item for item in vars(self).items()))


class Unicode(_Tag):
    """
    Text, as UTF-8.
    """


class String(_Tag):
    """
    Bytes, as they are.
    """


class Integer(_Tag):
    """
    An integer, in decimal digits.
    """


class Float(_Tag):
    """
    A float, as C{str} gives it.
    """


class Boolean(_Tag):
    """
    C{True} or C{False}, spelled so.
    """


class ListOf(_Tag):
    """
    A list of values of one type, each prefixed by its 2-byte length.
    """

    def __init__(self, element):
        self.element = element


class Chunked(_Tag):
    """
    A value of any length: the wire form of C{inner} in pieces of at most
    C{pieceLength} bytes, under the keys C{NAME.0}, C{NAME.1}, ..., with
    C{NAME} holding how many there are.
    """

    def __init__(self, inner, pieceLength=MAX_VALUE_LENGTH):
        self.inner = inner
        self.pieceLength = pieceLength


class Operation(NamedTuple):
    """
    One operation of the worker.

    @ivar name: its AMP command name.
    @ivar arguments: C{(name, type)} pairs, names as bytes.
    @ivar response: C{(name, type)} pairs, names as bytes.
    @ivar errors: C{(exception class, code)} pairs, subclasses first (the
        first class an error is an instance of gives its code).
    @ivar doc: what it does.
    """

    name: bytes
    arguments: Tuple[Tuple[bytes, _Tag], ...]
    response: Tuple[Tuple[bytes, _Tag], ...]
    errors: Tuple[Tuple[type, bytes], ...]
    doc: str


#: The errors every operation may fail with, and their codes on the wire.
#: Anything else the worker meets is sent as a L{KernelError} saying what.
ERRORS = ((KernelError, b"KERNEL_ERROR"),)


Start = Operation(
    name=b"Start",
    arguments=(
        (b"lxcpath", Unicode()),
        (b"name", Unicode()),
        (b"config", Chunked(Unicode())),
        (b"rootKind", Unicode()),
        (b"rootPaths", ListOf(Unicode())),
        (b"idBase", Integer()),
        (b"idCount", Integer()),
        (b"mountPoints", ListOf(Unicode())),
        (b"settle", Float()),
    ),
    response=((b"initPid", Integer()),),
    errors=((AlreadyRunning, b"ALREADY_RUNNING"),
            (RootMissing, b"ROOT_MISSING")) + ERRORS,
    doc="""
    Check the root directories C{rootPaths}, write the container's
    configuration C{config}, prepare its root (L{vcd.kernel.idmap.RootSpec}
    from C{rootKind}, C{rootPaths}, C{idBase}, C{idCount} and
    C{mountPoints}; nothing when C{rootKind} is empty), start it daemonized
    with every inherited descriptor closed, and watch its init for
    C{settle} seconds. Starts run one at a time.

    Responds with the init's host pid; fails with L{AlreadyRunning},
    L{RootMissing} (the message is the missing path) or L{KernelError}
    (with the end of the container's log).
    """)


Exec = Operation(
    name=b"Exec",
    arguments=(
        (b"lxcpath", Unicode()),
        (b"name", Unicode()),
        (b"argv", ListOf(Unicode())),
        (b"timeout", Float()),
        (b"cap", Integer()),
        (b"env", ListOf(Unicode())),
    ),
    response=(
        (b"status", Integer()),
        (b"output", Chunked(String())),
        (b"truncated", Boolean()),
        (b"timedOut", Boolean()),
        (b"notFound", Boolean()),
    ),
    errors=ERRORS,
    doc="""
    Run C{argv} with execvp inside the running container, with the
    environment C{env} only, standard input from /dev/null, standard output
    and error combined; keep at most C{cap} bytes of the output and kill it
    after C{timeout} seconds. Commands run concurrently with each other and
    with the other operations.

    Responds with the exit C{status} (minus the signal if one killed it),
    the C{output} bytes, whether they were C{truncated}, whether it
    C{timedOut}, and whether the program was C{notFound} in the container.

    The command is attached (or its attach failed) while the request is
    handled, before the worker handles the next one: a L{Barrier} sent
    after it answers once the command runs in the container.
    """)


SetDomainName = Operation(
    name=b"SetDomainName",
    arguments=(
        (b"initPid", Integer()),
        (b"domainname", Unicode()),
    ),
    response=(),
    errors=ERRORS,
    doc="""
    Set the NIS domain name in the UTS namespace of the process
    C{initPid} (a container's init), from a forked child of the worker.
    """)


SetHostName = Operation(
    name=b"SetHostName",
    arguments=(
        (b"initPid", Integer()),
        (b"hostname", Unicode()),
    ),
    response=(),
    errors=ERRORS,
    doc="""
    Set the host name in the UTS namespace of the process C{initPid} (a
    container's init), from a forked child of the worker.
    """)


Barrier = Operation(
    name=b"Barrier",
    arguments=(),
    response=(),
    errors=ERRORS,
    doc="""
    Answer at once. The worker handles its requests in the order they
    arrive, each up to the point where it runs concurrently (an L{Exec}'s
    command attached inside its container, or its attach failed): the
    answer says every request sent before it has come that far.
    """)


#: Every operation, by its command name.
OPERATIONS = {operation.name: operation
              for operation in (Start, Exec, SetDomainName, SetHostName,
                                Barrier)}
