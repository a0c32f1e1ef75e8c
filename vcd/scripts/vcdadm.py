# -*- test-case-name: tests.test_clients,tests.test_clientcommands -*-
"""
vcdadm: administer the VServer Control Daemon: its users, their
capabilities and the daemon's own state.

A command for each vcd.* method the daemon serves, named without the
prefix, with the method's arguments in its order (user.set takes the
admin flag before the password, as the original's vcdadm did).
"""

import sys

from vcd.scripts._commandline import Tool
from vcd.scripts._commands import Presentation, deriveCommands

PRESENTATIONS = {
    "user.set": Presentation(order=["username", "admin", "password"],
                             required=["admin"]),
}

TOOL = Tool("vcdadm", __doc__, deriveCommands("vcd.", PRESENTATIONS))

#: C{main(argv=None, ...)} runs vcdadm and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
