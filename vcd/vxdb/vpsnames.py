# -*- test-case-name: tests.test_vx_methods -*-
"""
VPS names and context ids, each function taking a cursor inside the
caller's transaction.
"""

from vcd.faults import MEEXIST, MENOVPS, VCDFault
from vcd.vxdb.store import findVps


def nameOfXid(cursor, xid):
    """
    @return: the name of the VPS with context id C{xid}.
    @raise VCDFault: MENOVPS if there is none.
    """
    row = cursor.execute("SELECT name FROM xid_name_map WHERE xid = ?",
                         (xid,)).fetchone()
    if row is None:
        raise VCDFault(MENOVPS, "no virtual server has context id %d"
                       % (xid,))
    return row[0]


def allNames(cursor):
    """
    @return: the names of every VPS.
    """
    return [name for (name,) in cursor.execute(
        "SELECT name FROM xid_name_map ORDER BY name")]


def countVpses(cursor):
    """
    @return: how many VPSes there are.
    """
    (count,) = cursor.execute("SELECT COUNT(*) FROM xid_name_map").fetchone()
    return count


def renameVps(cursor, xid, newname):
    """
    Call VPS C{xid} C{newname} from now on.

    @raise VCDFault: MEEXIST if a VPS is called C{newname} already.
    """
    if findVps(cursor, newname) is not None:
        raise VCDFault(MEEXIST, "virtual server %r already exists"
                       % (newname,))
    cursor.execute("UPDATE xid_name_map SET name = ? WHERE xid = ?",
                   (newname, xid))
