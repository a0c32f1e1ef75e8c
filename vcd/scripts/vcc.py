# -*- test-case-name: tests.test_clients,tests.test_clients_e2e -*-
"""
vcc: control virtual servers through the VServer Control Daemon.

Create, remove, rename, start, stop and inspect VPSes; each subcommand is
one vx.* call (list calls vxdb.list).
"""

import os
import sys

from vcd.scripts._clienterrors import EXIT_FAULT, EXIT_OK
from vcd.scripts._commandline import Tool
from vcd.scripts._commands import (
    Command, boolean, integer, namespaced, optional, required, rest)
from vcd.scripts.vce import LIST

_vx = namespaced("vx.")
_NAME = required("name")


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def login(tool, settings, values, io):
    """
    The action of C{login}: an interactive shell inside a running VPS on
    this host (as the original did), through lxc-attach, after the daemon
    has checked the caller's credentials and ownership (vx.status).
    """
    if settings.host not in LOCAL_HOSTS:
        return tool.fail(io, "login: only works on the VPS's own host")
    name = values["name"]
    status = tool.call(settings, "vx.status", {"name": name}, io)
    if not status.get("running"):
        return tool.fail(io, "login: %s is not running" % (name,),
                         code=EXIT_FAULT)
    lxcpath = tool.call(settings, "vcd.hostinfo", {}, io)["lxcpath"]
    argv = ["lxc-attach", "-P", lxcpath, "-n", name, "--clear-env",
            "--set-var", "TERM=%s" % (io.environ.get("TERM", "linux"),),
            "--set-var", "HOME=/root", "--", "/bin/sh", "-l"]
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        return tool.fail(io, "login: cannot run lxc-attach: %s" % (e,),
                         code=EXIT_FAULT)
    return EXIT_OK


#: Subcommands taking only the VPS name, with their help.
_BY_NAME = [
    ("start", "start a VPS"),
    ("stop", "stop a VPS (runs its halt command)"),
    ("restart", "stop and start a VPS"),
    ("reboot", "reboot a VPS (runs its reboot command)"),
    ("status", "show the state of a VPS"),
    ("load", "show the load average of a VPS"),
    ("remove", "remove a VPS and its files"),
]

COMMANDS = [
    _vx("create", [_NAME, required("template"),
                   optional("force", False, boolean),
                   optional("copy", False, boolean), optional("vdir")],
        "create a VPS from a template (force: rebuild an existing one)"),
    _vx("rename", [_NAME, required("newname")], "rename a VPS"),
    _vx("templates", [optional("name")],
        "list templates (or describe one)"),
    LIST,
    _vx("exec", [_NAME, rest("command")],
        "run a command inside a running VPS and print its output"),
    _vx("kill", [_NAME, required("pid", integer), required("sig", integer)],
        "send signal <sig> to process <pid> of a VPS (0: all)"),
    Command("login", None, [_NAME], "open a shell inside a running VPS"
            " (on its host, as root)", action=login),
] + [_vx(name, [_NAME], help) for name, help in _BY_NAME]

TOOL = Tool("vcc", __doc__, COMMANDS)

#: C{main(argv=None, stdout=None, stderr=None, stdin=None, environ=None)}
#: runs vcc and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
