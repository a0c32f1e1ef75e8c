# -*- test-case-name: tests.test_clients,tests.test_clientcommands -*-
"""
vce: edit the configuration of virtual servers kept by the VServer
Control Daemon.

A command for each vxdb.* method the daemon serves, named without the
prefix, with the method's arguments in its order.  Sizes in KiB take
units (64M, 1G); addresses take CIDR notation (198.18.4.13/24).
"""

import sys

from vcd.scripts import _words
from vcd.scripts._commandline import Tool
from vcd.scripts._commands import Presentation, deriveCommands, plain
from vcd.scripts._listing import listVpses


def limitValue(word, values):
    """
    A value of the limit being set: units for the memory limits.
    """
    return _words.limitValue(word, values.get("limit", ""))


def addressWithPrefix(word, values):
    """
    An address, its netmask taken from a CIDR prefix if it has one.
    """
    address, prefix = _words.splitCIDR(word)
    if prefix is not None:
        values["netmask"] = prefix
    return address


def addressOnly(word):
    """
    An address, a CIDR prefix (as vcc list shows it) dropped.
    """
    return _words.splitCIDR(word)[0]


PRESENTATIONS = {
    "list": Presentation(action=listVpses,
                         help="List the virtual servers (of <username>) with"
                         " their state, context id, addresses and owners."),
    "vx.limit.set": Presentation(convert={"soft": limitValue,
                                          "max": limitValue}),
    "dx.limit.set": Presentation(convert={"space": plain(_words.kibibytes)}),
    "nx.addr.set": Presentation(convert={"addr": addressWithPrefix}),
    "nx.addr.get": Presentation(convert={"addr": plain(addressOnly)}),
    "nx.addr.remove": Presentation(convert={"addr": plain(addressOnly)}),
}

TOOL = Tool("vce", __doc__, deriveCommands("vxdb.", PRESENTATIONS))

#: C{main(argv=None, ...)} runs vce and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
