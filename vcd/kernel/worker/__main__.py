# -*- test-case-name: tests.test_workerprocess -*-
"""
The kernel worker: a small single-threaded process that does the liblxc
operations that fork (start, attach), which must never run inside the
threaded daemon.

The daemon spawns it once (C{python -m vcd.kernel.worker}) with
C{reactor.spawnProcess} (L{vcd.kernel.worker.client}) and talks to it in AMP
over its standard input and output: the operations and their typed errors
are declared in L{vcd.kernel.worker.protocol}, encoded and decoded by
L{vcd.kernel.worker.boxes}, and answered by L{vcd.kernel.worker.responder}
from an event loop on the standard library's C{selectors}
(L{vcd.kernel.worker.loop}). The worker imports no Twisted: each fork
liblxc does in it costs time in proportion to its memory. Starts it does
itself, one at a time (L{vcd.kernel.worker.start}: liblxc's daemonized
start forks the container's monitor, detached). Commands (exec) it
attaches itself too (L{vcd.kernel.worker.execute}): liblxc makes each a
child of the worker, whose loop collects their output, enforces their
timeouts and reaps them, so a long command in one VPS never delays another
request. Operations that
change the process doing them get a forked child each
(L{vcd.kernel.worker.fork}). When its standard input closes (the daemon went
away) the worker answers what it was asked and exits; the VPSes keep
running.

This module is the entry point.
"""

import os
import signal
import sys

from vcd.kernel.cgroups import removeEmptyCgroups
from vcd.kernel.worker.boxes import MalformedBox
from vcd.kernel.worker.loop import Loop

READ_CHUNK = 65536


class _Input:
    """
    The worker's standard input in its loop: the daemon's requests.
    """

    def __init__(self, loop, fd, responder):
        self.loop = loop
        self.fd = fd
        self.responder = responder
        os.set_blocking(fd, False)
        loop.addReader(self)

    def fileno(self):
        return self.fd

    def doRead(self):
        try:
            data = os.read(self.fd, READ_CHUNK)
        except BlockingIOError:
            return
        if data:
            try:
                self.responder.dataReceived(data)
                return
            except MalformedBox as e:
                sys.stderr.write("not AMP, input ignored: %s\n" % (e,))
                sys.stderr.flush()
        self.loop.removeReader(self)
        self.responder.inputClosed()


def _writerTo(fd):
    """
    @return: a function writing all of its bytes to C{fd} (blocking), or
        nothing once nobody reads them.
    """
    closed = []

    def write(data):
        view = memoryview(data)
        while view and not closed:
            try:
                view = view[os.write(fd, view):]
            except BrokenPipeError:
                closed.append(True)
    return write


def _ownUtsNamespace():
    """
    Move the worker into a UTS namespace of its own whose NIS domain name
    is C{(none)}: each VPS's UTS namespace starts as a copy of the
    worker's, so no VPS's init ever sees the host's domain name (the
    start sets the VPS's own DOMAINNAME right after). The host's
    namespace is left as it is.
    """
    from vcd.kernel.binding import ffi, lib
    if lib.unshare(lib.CLONE_NEWUTS) != 0 or \
            lib.setdomainname(b"(none)", len(b"(none)")) != 0:
        raise OSError(ffi.errno, os.strerror(ffi.errno),
                      "a UTS namespace of the worker's own")


def main():
    """
    Run the worker on this process's standard input and output.
    """
    # Nothing inherited but standard input, output and error: every
    # descriptor the worker opens itself (its selector's included) is
    # close-on-exec, so none can reach a command it attaches to a VPS.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # Imports the binding: fails at once if it is missing.
    from vcd.kernel.worker.responder import WorkerResponder
    _ownUtsNamespace()
    # No signal handlers (no SIGCHLD handler, no wakeup descriptor): the
    # containers' monitors and the commands, forked from this process,
    # inherit nothing of them, and liblxc reaps its own children. The
    # worker reaps only the ones it watches, by pid.
    loop = Loop()
    responder = WorkerResponder(loop, _writerTo(sys.stdout.fileno()),
                                removeEmptyCgroups, loop.stop)
    _Input(loop, sys.stdin.fileno(), responder)
    loop.run()


if __name__ == "__main__":
    main()
