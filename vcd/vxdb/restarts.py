# -*- test-case-name: tests.test_helper -*-
"""
Reboots requested from inside VPSes (the C{restart} table), each function
taking a cursor inside the caller's transaction.
"""

from collections import namedtuple

from vcd.vxdb.registry import requireNameOfXid

#: What L{takeRestart} found: the VPS's name, and whether it had asked.
PendingRestart = namedtuple("PendingRestart", "name requested")


def requestRestart(cursor, xid):
    """
    Record that VPS C{xid} asked for a reboot.

    @return: the VPS's name.
    @raise VCDFault: MENOVPS if there is no VPS C{xid}.
    """
    name = requireNameOfXid(cursor, xid)
    cursor.execute("INSERT OR IGNORE INTO restart (xid) VALUES (?)", (xid,))
    return name


def takeRestart(cursor, xid):
    """
    Remove the reboot request of VPS C{xid}, if any.

    @return: a L{PendingRestart}.
    @raise VCDFault: MENOVPS if there is no VPS C{xid}.
    """
    name = requireNameOfXid(cursor, xid)
    clearRestart(cursor, xid)
    return PendingRestart(name, cursor.rowcount > 0)


def isRestartPending(cursor, xid):
    """
    @return: whether a reboot from inside VPS C{xid} waits for its
        C{helper.shutdown}.
    """
    return cursor.execute("SELECT 1 FROM restart WHERE xid = ?",
                          (xid,)).fetchone() is not None


def clearRestart(cursor, xid):
    """
    Forget a pending restart of VPS C{xid}.
    """
    cursor.execute("DELETE FROM restart WHERE xid = ?", (xid,))
