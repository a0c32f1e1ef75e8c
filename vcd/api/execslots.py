# -*- test-case-name: tests.test_execslots -*-
"""
How many C{vx.exec} commands run at once: at most C{execpervps} in one VPS
and C{execperuser} for one API user across all their VPSes (settings of
L{vcd.config}). Each running command holds an HTTP connection, up to
C{execoutput} bytes in the kernel worker and in the daemon, and some of
the single-threaded worker's time; without a bound one owner could take
them from everyone.

The commands C{vx.stop} and C{vx.reboot} run (the halt and reboot
commands) take no slot: they are the way out of a VPS whose slots are
full. Used on the reactor thread only.
"""

from collections import Counter

from vcd.faults import MEBUSY, VCDFault


class ExecSlots:
    """
    The C{vx.exec} commands running now, counted per VPS (by xid, which a
    rename keeps) and per user (by uid).
    """

    def __init__(self):
        self._perVps = Counter()
        self._perUser = Counter()

    def running(self):
        """
        @return: how many commands hold a slot now.
        """
        return sum(self._perVps.values())

    def take(self, config, xid, name, uid, username):
        """
        Take a slot for a command in VPS C{xid} (called C{name}) for user
        C{uid} (called C{username}), within the caps C{config} sets now.

        @param config: the L{vcd.config.Configuration}: its C{execPerVps}
            and C{execPerUser}.
        @return: a callable that gives the slot back; calling it again
            does nothing.
        @raise VCDFault: MEBUSY naming the cap reached and its setting.
        """
        if self._perVps[xid] >= config.execPerVps:
            raise VCDFault(MEBUSY, "virtual server %r already runs %d"
                           " vx.exec commands, the most one virtual server"
                           " may run at once (setting execpervps); try again"
                           " when one has ended" % (name, self._perVps[xid]))
        if self._perUser[uid] >= config.execPerUser:
            raise VCDFault(MEBUSY, "user %r already runs %d vx.exec commands"
                           ", the most one user may run at once (setting"
                           " execperuser); try again when one has ended"
                           % (username, self._perUser[uid]))
        self._perVps[xid] += 1
        self._perUser[uid] += 1
        held = [True]

        def release():
            if held:
                held.pop()
                _decrement(self._perVps, xid)
                _decrement(self._perUser, uid)
        return release


def _decrement(counter, key):
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
