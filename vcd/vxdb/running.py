# -*- test-case-name: tests.test_running,tests.test_vx_methods -*-
"""
What running a VPS reads from and writes to VXDB: everything a start needs
in one read, the halt and reboot commands, and the pending-restart mark.
"""

import json
from collections import namedtuple

from vcd.faults import MEINVAL, VCDFault
from vcd.vxdb.restarts import clearRestart, isRestartPending
from vcd.vxdb.defaults import (DEFAULT_HALT, DEFAULT_INIT, DEFAULT_REBOOT,
                               DEFAULT_TIMEOUT)

#: Everything VXDB says about starting one VPS, as plain data.
#: C{rootRecord} is the root layout's record (a dict), C{mounts} are
#: C{(src, dst, type, opts)}, C{addresses} C{(addr, netmask)}, C{uname} a
#: dict, C{limits} a dict from name to C{(soft, max)} ints, and
#: C{restartPending} whether a reboot left a mark to clear.
StartRecord = namedtuple(
    "StartRecord", "xid name rootRecord init bcaps mounts addresses"
    " broadcast uname limits restartPending")

#: The init settings of a VPS, defaults applied.
InitMethod = namedtuple("InitMethod", "init halt reboot timeout")


def initMethod(cursor, xid):
    """
    @return: the L{InitMethod} of VPS C{xid}, with the defaults of
        L{vcd.vxdb.defaults} for what is not set.
    """
    row = cursor.execute("SELECT init, halt, reboot, timeout FROM"
                         " init_method WHERE xid = ?", (xid,)).fetchone()
    init, halt, reboot, timeout = row or ("", "", "", DEFAULT_TIMEOUT)
    return InitMethod(init or DEFAULT_INIT, halt or DEFAULT_HALT,
                      reboot or DEFAULT_REBOOT, timeout)


def startRecord(cursor, xid):
    """
    Read everything a start of VPS C{xid} needs, in one read.

    @return: a L{StartRecord}.
    @raise VCDFault: MEINVAL if the VPS has no complete root record.
    """
    (name,) = cursor.execute("SELECT name FROM xid_name_map WHERE xid = ?",
                             (xid,)).fetchone()
    row = cursor.execute("SELECT state, layout FROM vps_root WHERE xid = ?",
                         (xid,)).fetchone()
    if row is None or row[0] != "ready" or not row[1]:
        raise VCDFault(MEINVAL, "virtual server %r has no complete root"
                       " filesystem (state %s); rebuild it with vx.create"
                       " force" % (name, row[0] if row else "missing"))
    return StartRecord(
        xid=xid, name=name, rootRecord=json.loads(row[1]),
        init=initMethod(cursor, xid).init,
        bcaps=[b for (b,) in cursor.execute(
            "SELECT bcap FROM vx_bcaps WHERE xid = ?", (xid,))],
        mounts=list(cursor.execute(
            "SELECT src, dst, type, opts FROM mount WHERE xid = ? ORDER BY"
            " dst", (xid,))),
        addresses=list(cursor.execute(
            "SELECT addr, netmask FROM nx_addr WHERE xid = ? ORDER BY addr",
            (xid,))),
        broadcast=(cursor.execute("SELECT broadcast FROM nx_broadcast WHERE"
                                  " xid = ?", (xid,)).fetchone() or ("",))[0],
        uname=dict(cursor.execute(
            "SELECT uname, value FROM vx_uname WHERE xid = ?", (xid,))),
        limits={t: (int(s), int(m)) for t, s, m in cursor.execute(
            "SELECT type, soft, max FROM vx_limit WHERE xid = ?", (xid,))},
        restartPending=isRestartPending(cursor, xid),
    )


def takeStopSettings(cursor, xid):
    """
    For a stop: forget a pending restart and read the halt command.

    @return: C{(halt command, timeout in seconds)}.
    """
    clearRestart(cursor, xid)
    init = initMethod(cursor, xid)
    return init.halt, init.timeout


def isNamed(cursor, xid, name):
    """
    @return: whether VPS C{xid} still is called C{name}.
    """
    row = cursor.execute("SELECT 1 FROM xid_name_map WHERE xid = ? AND"
                         " name = ?", (xid, name)).fetchone()
    return row is not None
