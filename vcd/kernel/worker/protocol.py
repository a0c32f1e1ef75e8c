# -*- test-case-name: tests.test_workerprotocol -*-
"""
The protocol between the daemon (L{vcd.kernel.worker.client}) and its kernel
worker process (L{vcd.kernel.worker}): AMP over the worker's standard input
and output, with the operations declared here, each with its arguments, its
response and the errors it fails with (typed: they arrive as the same
exception classes, from L{vcd.kernel.errors}).

An AMP value holds at most 64 KiB - 1; values that can be larger (a
configuration, a command's output of up to the output cap) are L{Chunked}:
split over as many keys as they need.
"""

from twisted.protocols import amp

from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing

__all__ = ["Chunked", "Start", "Exec", "SetDomainName", "ERRORS"]


class Chunked(amp.Argument):
    """
    An argument of any length: the wire form of C{inner} (an
    L{amp.Argument}) in pieces of at most C{amp.MAX_VALUE_LENGTH} bytes,
    under the keys C{NAME.0}, C{NAME.1}, ..., with C{NAME} holding how many
    there are.
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


#: The errors every operation may fail with, and their codes on the wire.
#: Anything else the worker meets is sent as a L{KernelError} saying what.
ERRORS = {KernelError: b"KERNEL_ERROR"}


class Start(amp.Command):
    """
    Check the root directories C{paths}, write the container's
    configuration C{config}, start it daemonized with every inherited
    descriptor closed, and watch its init for C{settle} seconds. Starts run
    one at a time.

    Responds with the init's host pid; fails with L{AlreadyRunning},
    L{RootMissing} (the message is the missing path) or L{KernelError}
    (with the end of the container's log).
    """

    arguments = [
        (b"lxcpath", amp.Unicode()),
        (b"name", amp.Unicode()),
        (b"config", Chunked(amp.Unicode())),
        (b"paths", amp.ListOf(amp.Unicode())),
        (b"settle", amp.Float()),
    ]
    response = [(b"initPid", amp.Integer())]
    # Subclasses before KernelError: AMP sends the first class that matches.
    errors = {AlreadyRunning: b"ALREADY_RUNNING",
              RootMissing: b"ROOT_MISSING", **ERRORS}


class Exec(amp.Command):
    """
    Run C{argv} with execvp inside the running container, with the
    environment C{env} only, standard input from /dev/null, standard output
    and error combined; keep at most C{cap} bytes of the output and kill it
    after C{timeout} seconds. Commands run concurrently with each other and
    with the other operations.

    Responds with the exit C{status} (minus the signal if one killed it),
    the C{output} bytes, whether they were C{truncated}, whether it
    C{timedOut}, and whether the program was C{notFound} in the container.
    """

    arguments = [
        (b"lxcpath", amp.Unicode()),
        (b"name", amp.Unicode()),
        (b"argv", amp.ListOf(amp.Unicode())),
        (b"timeout", amp.Float()),
        (b"cap", amp.Integer()),
        (b"env", amp.ListOf(amp.Unicode())),
    ]
    response = [
        (b"status", amp.Integer()),
        (b"output", Chunked(amp.String())),
        (b"truncated", amp.Boolean()),
        (b"timedOut", amp.Boolean()),
        (b"notFound", amp.Boolean()),
    ]
    errors = ERRORS


class SetDomainName(amp.Command):
    """
    Set the NIS domain name in the UTS namespace of the process
    C{initPid} (a container's init), from a forked child of the worker.
    """

    arguments = [
        (b"initPid", amp.Integer()),
        (b"domainname", amp.Unicode()),
    ]
    response = []
    errors = ERRORS
