# -*- test-case-name: tests.test_vxdb_methods -*-
"""
The defaults of a VPS's configuration, defined once: what a VPS without a
row of its own in VXDB gets.
"""

#: The init command (C{vxdb.init.set} C{init}).
DEFAULT_INIT = "/sbin/init"
#: The command C{vx.stop} runs inside the VPS.
DEFAULT_HALT = "/sbin/halt"
#: The command C{vx.reboot} runs inside the VPS.
DEFAULT_REBOOT = "/sbin/reboot"
#: Seconds C{vx.stop} waits for the halt command before stopping hard.
DEFAULT_TIMEOUT = 15
