# -*- test-case-name: tests.test_clients -*-
"""
vgc: manage virtual server groups through the VServer Control Daemon.

Groups name sets of VPSes (the group onboot is started at boot); the
vx.* subcommands act on every VPS of a group.
"""

import sys

from vcd.scripts._commandline import Tool
from vcd.scripts._commands import namespaced, optional, required

_vg = namespaced("vg.")
_GROUP = required("group")

COMMANDS = [
    _vg("add", [_GROUP, optional("name")],
        "add VPS <name> to a group"),
    _vg("list", [optional("group")],
        "list the VPSes of a group"),
    _vg("remove", [_GROUP, optional("name")],
        "remove VPS <name> from a group"),
] + [_vg("vx." + action, [_GROUP], "%s every VPS of a group" % (action,))
     for action in ("start", "stop", "reboot", "restart")]

TOOL = Tool("vgc", __doc__, COMMANDS)

#: C{main(argv=None, ...)} runs vgc and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
