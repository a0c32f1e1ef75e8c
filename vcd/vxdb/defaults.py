"""
What a VPS runs when its configuration says nothing: the init, halt and
reboot commands, and how long a stop waits for the halt command.
"""

#: The command started as the VPS's init.
DEFAULT_INIT = "/sbin/init"

#: The command a stop runs inside the VPS.
DEFAULT_HALT = "/sbin/halt"

#: The command a restart runs inside the VPS.
DEFAULT_REBOOT = "/sbin/reboot"

#: Seconds a stop waits for the halt command before killing the VPS.
DEFAULT_TIMEOUT = 15
