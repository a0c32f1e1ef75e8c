# -*- test-case-name: tests.test_workerprocess -*-
"""
The kernel worker: a small single-threaded process that does the liblxc
operations that fork (start, attach), which must never run inside the
threaded daemon.

The daemon spawns it once (C{python -m vcd.kernel.worker}) with
C{reactor.spawnProcess} (L{vcd.kernel.worker.client}) and talks to it in AMP
over its standard input and output: the operations and their typed errors
are declared in L{vcd.kernel.worker.protocol}, and answered by
L{vcd.kernel.worker.responder}. Starts it does itself, one at a time
(L{vcd.kernel.worker.start}: liblxc's daemonized start forks the container's
monitor, detached). Commands (exec) it attaches itself too
(L{vcd.kernel.worker.execute}): liblxc makes each a child of the worker, whose
reactor collects their output, enforces their timeouts and reaps them, so
a long command in one VPS never delays another request. Operations that
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


def _logErrorsTo(stream):
    """
    Send the worker's warnings and errors to C{stream} (the daemon logs
    what the worker writes to its standard error).
    """
    from twisted.logger import (FilteringLogObserver, LogLevel,
                                LogLevelFilterPredicate, globalLogBeginner,
                                textFileLogObserver)
    globalLogBeginner.beginLoggingTo([FilteringLogObserver(
        textFileLogObserver(stream),
        [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)])],
        redirectStandardIO=False)


def main():
    """
    Run the worker on this process's standard input and output.
    """
    # Nothing inherited but standard input, output and error: every
    # descriptor the worker opens itself (the reactor's included, which is
    # why it is imported only now) is close-on-exec, so none can reach a
    # command it attaches to a VPS.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    from twisted.internet import reactor, stdio
    # Imports the binding: fails at once if it is missing.
    from vcd.kernel.worker.responder import WorkerResponder
    _logErrorsTo(sys.stderr)
    responder = WorkerResponder(reactor, removeEmptyCgroups)
    responder.finished.addCallback(lambda _: reactor.stop())
    stdio.StandardIO(responder, reactor=reactor)
    # No signal handlers of the reactor's (no SIGCHLD handler, no wakeup
    # descriptor): the containers' monitors and the commands, forked from
    # this process, inherit nothing of them, and liblxc reaps its own
    # children. The worker reaps only the ones it watches, by pid.
    reactor.run(installSignalHandlers=False)


if __name__ == "__main__":
    main()
