# -*- test-case-name: tests.test_clients -*-
"""
vce: edit the configuration of virtual servers kept by the VServer
Control Daemon.

Each subcommand is the vxdb.* method of the same name, with the
method's arguments as positional words in the method's order.
"""

import sys

from vcd.scripts._commandline import Tool
from vcd.vxdb.defaults import DEFAULT_TIMEOUT
from vcd.scripts._commands import (
    boolean, integer, namespaced, optional, required, sameAs, uint64)

_vxdb = namespaced("vxdb.")
_NAME = required("name")

#: C{list}, which vcc has too.
LIST = _vxdb("list", [optional("username")],
             "list VPSes (owned by <username>; all if empty)")

#: The scheduler's cpuid meaning "every entry" on get and remove.
ALL_CPUS = -2


def family(name, noun, key, setArguments):
    """
    The C{get}, C{remove} and C{set} subcommands of one setting.

    @param key: the arguments after the VPS name that select entries on
        get and remove (empty, or one optional argument).
    @param setArguments: the arguments after the VPS name of C{set}.
    """
    which = ""
    if key:
        which = " (all if <%s> is omitted)" % (key[0].name,)
    return [
        _vxdb(name + ".get", [_NAME] + key, "show the " + noun + which),
        _vxdb(name + ".remove", [_NAME] + key, "remove the " + noun + which),
        _vxdb(name + ".set", [_NAME] + setArguments, "set the " + noun),
    ]


def members(name, member, noun, plural, removeAll=False):
    """
    The C{add}, C{get} and C{remove} subcommands of a set of names.

    @param removeAll: whether C{remove} without the member removes all.
    """
    removed = optional(member) if removeAll else required(member)
    return [
        _vxdb(name + ".add", [_NAME, required(member)], "add " + noun),
        _vxdb(name + ".get", [_NAME], "list the " + plural),
        _vxdb(name + ".remove", [_NAME, removed], "remove " + noun
              + (" (all if omitted)" if removeAll else "")),
    ]


COMMANDS = (
    [LIST]
    + family("dx.limit", "disk limit", [],
             [required("space", uint64), required("inodes", uint64),
              required("reserved", integer)])
    + [_vxdb("init.get", [_NAME], "show the init, halt and reboot commands"),
       _vxdb("init.set", [_NAME, required("init"), required("halt"),
                          required("reboot"),
                          optional("timeout", DEFAULT_TIMEOUT, integer)],
             "set the init, halt and reboot commands (timeout: seconds "
             "stop waits, %d)" % (DEFAULT_TIMEOUT,))]
    + family("mount", "mount points", [optional("dst")],
             [required("src"), required("dst"), optional("type"),
              optional("opts")])
    + family("nx.addr", "network addresses", [optional("addr")],
             [required("addr"), optional("netmask")])
    + family("nx.broadcast", "broadcast address", [],
             [required("broadcast")])
    + members("vx.bcaps", "bcap", "a system capability",
              "system capabilities")
    + members("vx.ccaps", "ccap", "a context capability",
              "context capabilities")
    + members("vx.flags", "flag", "a context flag", "context flags")
    + family("vx.limit", "resource limits", [optional("limit")],
             [required("limit"), required("soft", uint64),
              optional("max", sameAs("soft"), uint64)])
    + family("vx.cpuset", "CPU set", [],
             [required("cpus"), required("mems"),
              required("virtualize", boolean)])
    + family("vx.sched", "CPU scheduler buckets",
             [optional("cpuid", ALL_CPUS, integer)],
             [required(field, integer) for field in (
                 "cpuid", "interval", "fillrate", "interval2", "fillrate2",
                 "tokensmin", "tokensmax")])
    + family("vx.uname", "system information", [optional("uname")],
             [required("uname"), required("value")])
    + members("owner", "username", "an owner", "owners", removeAll=True)
    + [_vxdb("xid.get", [_NAME], "show the context ID of a VPS"),
       _vxdb("name.get", [required("xid", integer)],
             "show the VPS of a context ID"),
       _vxdb("vdir.get", [_NAME], "show the root directory of a VPS")]
)

TOOL = Tool("vce", __doc__, COMMANDS)

#: C{main(argv=None, ...)} runs vce and returns the exit code.
main = TOOL.run

if __name__ == "__main__":
    sys.exit(main())
