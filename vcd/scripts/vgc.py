# -*- test-case-name: tests.test_clients,tests.test_clientcommands -*-
"""
vgc: manage virtual server groups through the VServer Control Daemon.

Groups name sets of VPSes (the group onboot is started at boot, the group
all is every VPS): a command for each vg.* method the daemon serves; the
vx.* commands act on every VPS of a group.
"""

import sys

from vcd.scripts._commandline import Tool
from vcd.scripts._commands import Presentation, deriveCommands
from vcd.scripts._declarations import methodsUnder
from vcd.scripts._listing import listGroups, printOutcome

PRESENTATIONS = {
    "list": Presentation(action=listGroups,
                         help="List the groups with their VPSes, or the"
                         " VPSes of a group as a table."),
}
PRESENTATIONS.update(
    (method.name[len("vg."):], Presentation(render=printOutcome))
    for method in methodsUnder("vg.vx."))

TOOL = Tool("vgc", __doc__, deriveCommands("vg.", PRESENTATIONS))

#: C{main(argv=None, ...)} runs vgc and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
