"""
Reading from VXDB everything a VPS start needs.
"""

import json

from vcd.faults import MEINVAL, VCDFault
from vcd.kernel.lxcconfig import StartConfig
from vcd.vps.rootfs import RootLayout

DEFAULT_INIT = "/sbin/init"


def loadStartConfig(cursor, xid):
    """
    @return: the L{StartConfig} of VPS C{xid}, plus C{(layout, init
        settings)}: a tuple C{(start, layout, timeout, halt, reboot)}.
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
    layout = RootLayout.fromRecord(json.loads(row[1]))
    init = cursor.execute("SELECT init, halt, reboot, timeout FROM"
                          " init_method WHERE xid = ?", (xid,)).fetchone()
    init = init or ("", "", "", 15)
    start = StartConfig(
        name=name, xid=xid, rootfs=layout.lxcRootfsPath(),
        init=init[0] or DEFAULT_INIT,
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
    )
    return start, layout, init[3], init[1], init[2]
