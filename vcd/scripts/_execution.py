# -*- test-case-name: tests.test_clientexec -*-
"""
C{vcc exec}: run a command inside a VPS and behave like the command.

The words after the VPS name are the command's argument vector, passed
untouched: they travel as one command line quoted so that the daemon's
split (no shell) gives back the same words.  The command's output goes
to standard output and its exit status is the tool's: vx.exec answers
the output on success, and a fault C{MEEXEC + status} whose message ends
in C{; output: <output>} when the command exits non-zero (C{MEEXEC + 128
+ signal} when a signal ended it).
"""

import xmlrpc.client

from vcd.faults import MEEXEC
from vcd.scripts._clienterrors import EXIT_EXEC_FAILED, SetupError
from vcd.scripts._output import formatFault, writeJSON

#: What separates the daemon's message from the command's output.
OUTPUT_MARKER = "; output: "


def splitFault(fault):
    """
    The exit status, message and output of the vx.exec fault C{fault},
    or C{None} if it is not about the command's status.

    @return: C{(status, message, output)}.
    """
    if fault.faultCode < MEEXEC:
        return None
    status = fault.faultCode - MEEXEC
    message, marker, output = fault.faultString.partition(OUTPUT_MARKER)
    return status, message, output


def execute(session, command, values):
    """
    The action of C{vcc exec <name> <command> [<arg>...]}.

    @return: the command's exit status; L{EXIT_EXEC_FAILED} if it could
        not be run.
    """
    io = session.io
    try:
        output = session.call(command.method, values) or ""
    except SetupError as e:
        io.stderr.write("%s: %s\n" % (session.tool.prog, e))
        return EXIT_EXEC_FAILED
    except xmlrpc.client.Fault as fault:
        outcome = splitFault(fault)
        if outcome is None:
            io.stderr.write(formatFault(fault))
            return EXIT_EXEC_FAILED
        status, message, output = outcome
        if session.asJSON:
            writeJSON({"status": status, "output": output,
                       "message": message}, io.stdout)
        else:
            io.stdout.write(output)
            if " exited with status " not in message:
                # Killed or not found: the output does not say so.
                io.stderr.write("%s: %s\n" % (session.tool.prog, message))
        return status if 0 < status < 256 else EXIT_EXEC_FAILED
    if session.asJSON:
        writeJSON({"status": 0, "output": output, "message": ""}, io.stdout)
    else:
        io.stdout.write(output)
    return 0
