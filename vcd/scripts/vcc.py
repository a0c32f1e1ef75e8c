# -*- test-case-name: tests.test_clients,tests.test_clientcommands -*-
"""
vcc: control virtual servers through the VServer Control Daemon.

Create, remove, rename, start, stop and inspect VPSes: a command for each
vx.* method the daemon serves, with the method's arguments in its order;
list shows a table of the VPSes (vxdb.list); exec runs a command inside a
VPS and exits with its status; login opens a shell inside a VPS.
"""

import os
import sys

from vcd.scripts import _words
from vcd.scripts._clienterrors import EXIT_FAULT, EXIT_OK, UsageError
from vcd.scripts._commandline import Tool
from vcd.scripts._commands import (Argument, Command, Presentation,
                                   deriveCommands, plain)
from vcd.scripts._execution import execute
from vcd.scripts._listing import listVpses

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def login(session, command, values):
    """
    The action of C{login}: an interactive shell inside a running VPS on
    this host (as the original did), through lxc-attach, after the daemon
    has checked the caller's credentials and ownership (vx.status).
    """
    if session.settings.host not in LOCAL_HOSTS:
        raise UsageError("login: only works on the VPS's own host")
    name = values["name"]
    status = session.call("vx.status", {"name": name})
    if not status.get("running"):
        session.io.stderr.write("vcc: login: %s is not running\n" % (name,))
        return EXIT_FAULT
    lxcpath = session.call("vcd.hostinfo", {})["lxcpath"]
    argv = ["lxc-attach", "-P", lxcpath, "-n", name, "--clear-env",
            "--set-var", "TERM=%s" % (session.io.environ.get("TERM", "linux"),),
            "--set-var", "HOME=/root", "--", "/bin/sh", "-l"]
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        session.io.stderr.write("vcc: login: cannot run lxc-attach: %s\n"
                                % (e,))
        return EXIT_FAULT
    return EXIT_OK


#: How vcc presents the methods where their declarations do not say.
PRESENTATIONS = {
    "exec": Presentation(rest="command", action=execute,
                         help="Run a command inside a running virtual server;"
                         " print its output and exit with its status."),
    "kill": Presentation(convert={"sig": plain(_words.signalNumber)},
                         help="Send a signal (a number or a name such as"
                         " TERM) to processes of a virtual server."),
    "list": Presentation(action=listVpses,
                         help="List the virtual servers (of <username>) with"
                         " their state, context id, addresses and owners."),
}

COMMANDS = deriveCommands("vx.", PRESENTATIONS, others={"list": "vxdb.list"})
COMMANDS.append(Command(
    "login", None, [Argument("name", plain(_words.string),
                             help="Unique virtual server name")],
    "Open a shell inside a running virtual server (on its host, as root).",
    action=login, vpsArgument="name"))

TOOL = Tool("vcc", __doc__, COMMANDS)

#: C{main(argv=None, stdout=None, stderr=None, stdin=None, environ=None)}
#: runs vcc and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
