# -*- test-case-name: tests.test_clientcli -*-
"""
The listings of the clients as tables: VPSes (C{vcc list}, C{vce list},
C{vgc list <group>}), groups (C{vgc list}) and the outcome of a group
action (C{vgc vx.start}).

A listing shows only what the daemon's methods give; a cell whose query
failed (a missing capability, a VPS removed meanwhile) shows C{-} in a
table and C{null} in JSON, and the listing goes on.
"""

import ipaddress

from vcd.scripts._clienterrors import EXIT_OK
from vcd.scripts._output import MISSING, formatTable, writeJSON

#: The columns of a VPS table.
VPS_COLUMNS = ("name", "state", "kind", "xid", "uptime", "addresses",
               "owners")


def _address(entry):
    try:
        return str(ipaddress.ip_interface("%s/%s" % (entry["addr"],
                                                     entry["netmask"])))
    except (KeyError, ValueError):
        return entry.get("addr", MISSING)


def vpsRow(session, name):
    """
    The row of VPS C{name}: its state, kind and uptime (vx.status), context
    id
    (vxdb.xid.get), addresses in CIDR notation (vxdb.nx.addr.get) and
    owners (vxdb.owner.get); C{None} where a call failed.
    """
    status = session.callOrNone("vx.status", {"name": name})
    addresses = session.callOrNone("vxdb.nx.addr.get", {"name": name})
    row = {"name": name, "state": None, "kind": None, "uptime": None,
           "xid": session.callOrNone("vxdb.xid.get", {"name": name}),
           "addresses": None,
           "owners": session.callOrNone("vxdb.owner.get", {"name": name})}
    if status is not None:
        row["state"] = "running" if status.get("running") else "stopped"
        row["uptime"] = status.get("uptime")
        row["kind"] = status.get("kind")
    if addresses is not None:
        row["addresses"] = [_address(entry) for entry in addresses]
    return row


def printRows(session, rows, columns):
    """
    Print C{rows}: JSON, or an aligned table of C{columns} with C{-} for
    what is missing.
    """
    if session.asJSON:
        writeJSON(rows, session.io.stdout)
        return
    shown = [{column: MISSING if row.get(column) is None else row[column]
              for column in columns} for row in rows]
    for line in formatTable(shown, columns):
        session.io.stdout.write(line + "\n")


def printVpses(session, names):
    """
    Print the table of the VPSes C{names}.
    """
    printRows(session, [vpsRow(session, name) for name in names],
              VPS_COLUMNS)


def listVpses(session, command, values):
    """
    The action of C{list [<username>]}: the table of the VPSes
    C{vxdb.list} gives.
    """
    printVpses(session, session.call(command.method, values) or [])
    return EXIT_OK


def listGroups(session, command, values):
    """
    The action of vgc's C{list [<group>]}: the groups with their VPSes,
    or the table of the VPSes of one group.
    """
    names = session.call(command.method, values) or []
    if values.get("group"):
        printVpses(session, names)
        return EXIT_OK
    rows = [{"group": group,
             "vpses": session.callOrNone(command.method, {"group": group})}
            for group in names]
    printRows(session, rows, ("group", "vpses"))
    return EXIT_OK


def printOutcome(result, session):
    """
    Print the outcome of a group action (C{{ok, failed}}) as a table of
    each VPS and how it went.
    """
    rows = [{"name": name, "result": "ok"} for name in result.get("ok", [])]
    rows += [{"name": failure.get("name"), "result": "failed: %s"
              % (failure.get("faultString"),)}
             for failure in result.get("failed", [])]
    if rows:
        printRows(session, rows, ("name", "result"))
