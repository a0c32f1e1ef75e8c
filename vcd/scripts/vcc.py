"""
vcc: control virtual servers through the VServer Control Daemon.

Create, remove, rename, start, stop and inspect VPSes; each subcommand is
one vx.* call (list calls vxdb.list).
"""

import sys

from vcd.scripts._client import (
    EXIT_USAGE, Command, Tool, boolean, integer, namespaced, optional,
    required, rest)

_vx = namespaced("vx.")
_NAME = required("name")


def notAvailable(tool, values, io):
    """
    The action of C{login}: an interactive shell is not implemented yet.
    """
    io.stderr.write("%s: login: not available yet\n" % (tool.prog,))
    return EXIT_USAGE


#: Subcommands taking only the VPS name, with their help.
_BY_NAME = [
    ("start", "start a VPS"),
    ("stop", "stop a VPS (runs its halt command)"),
    ("restart", "stop and start a VPS"),
    ("reboot", "reboot a VPS (runs its reboot command)"),
    ("status", "show the state of a VPS"),
    ("load", "show the load average of a VPS"),
    ("remove", "remove a VPS and its files"),
    ("limstatus", "show resource limit usage of a VPS"),
    ("netstatus", "show network traffic of a VPS"),
]

COMMANDS = [
    _vx("create", [_NAME, required("template"),
                   optional("force", False, boolean),
                   optional("copy", False, boolean), optional("vdir")],
        "create a VPS from a template (force: rebuild an existing one)"),
    _vx("rename", [_NAME, required("newname")], "rename a VPS"),
    _vx("templates", [optional("name")],
        "list templates (or describe one)"),
    Command("list", "vxdb.list", [optional("username")],
            "list VPSes (owned by <username>; all if empty)"),
    _vx("exec", [_NAME, rest("command")],
        "run a command inside a running VPS and print its output"),
    _vx("kill", [_NAME, required("pid", integer), required("sig", integer)],
        "send signal <sig> to process <pid> of a VPS (0: all)"),
    Command("login", None, [_NAME], "open a shell inside a VPS",
            action=notAvailable),
] + [_vx(name, [_NAME], help) for name, help in _BY_NAME]

TOOL = Tool("vcc", __doc__, COMMANDS)

#: C{main(argv=None, stdout=None, stderr=None, stdin=None, environ=None)}
#: runs vcc and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
