# -*- test-case-name: tests.test_clients -*-
"""
vcdadm: administer the VServer Control Daemon: its users, their
capabilities and the daemon's own state.
"""

import sys

from vcd.scripts._commandline import Tool
from vcd.scripts._commands import boolean, namespaced, optional, required

_vcd = namespaced("vcd.")
_USERNAME = required("username")

COMMANDS = [
    _vcd("hostinfo", [], "show the host's vbasedir, CPUs and memory nodes"),
    _vcd("status", [], "show daemon statistics"),
    _vcd("login", [], "check the credentials"),
    _vcd("user.set", [_USERNAME, required("admin", boolean),
                      optional("password")],
         "add or change a user (empty password keeps the old one)"),
    _vcd("user.get", [optional("username")],
         "show a user (all users if empty)"),
    _vcd("user.remove", [_USERNAME], "remove a user"),
    _vcd("user.caps.add", [_USERNAME, required("cap")],
         "grant a capability to a user"),
    _vcd("user.caps.get", [_USERNAME], "list the capabilities of a user"),
    _vcd("user.caps.remove", [_USERNAME, required("cap")],
         "revoke a capability from a user"),
]

TOOL = Tool("vcdadm", __doc__, COMMANDS)

#: C{main(argv=None, ...)} runs vcdadm and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
