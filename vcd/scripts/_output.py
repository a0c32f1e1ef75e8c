# -*- test-case-name: tests.test_clients -*-
"""
How the clients print what the daemon answered: results as tables, lines,
C{key: value} pairs or JSON (L{render}), faults as C{NAME (code): message}
(L{formatFault}).
"""

import json

from vcd.faults import faultName

#: What a table shows for a value it could not get.
MISSING = "-"


def formatValue(value):
    """
    One value as text for tables and C{key: value} lines: nil is empty,
    booleans are C{true}/C{false}, arrays are joined with commas.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(formatValue(item) for item in value)
    if isinstance(value, dict):
        return ",".join("%s=%s" % (key, formatValue(item))
                        for key, item in value.items())
    return str(value)


def formatTable(rows, columns=None):
    """
    Lines of an aligned table of structs: a header of the upper-cased
    member names (C{columns}, else in order of first appearance), then one
    line per struct; a missing member shows as nothing.
    """
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(key for key in row if key not in columns)
    cells = [[column.upper() for column in columns]]
    cells.extend([formatValue(row.get(column)) for column in columns]
                 for row in rows)
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths))
            .rstrip() for line in cells]


def flatten(struct, prefix=""):
    """
    The C{(key, value)} pairs of a struct, nested structs spelled out as
    dotted keys (C{knobs.limit.accepted.RSS}).
    """
    pairs = []
    for key, value in struct.items():
        if isinstance(value, dict) and value:
            pairs.extend(flatten(value, prefix + str(key) + "."))
        else:
            pairs.append((prefix + str(key), value))
    return pairs


def writeJSON(value, stream):
    """
    Print C{value} as indented JSON.
    """
    stream.write(json.dumps(value, indent=2, ensure_ascii=False,
                            default=str) + "\n")


def render(result, stream, asJSON=False):
    """
    Print a method's result: JSON if C{asJSON}; else nothing for nil, an
    aligned table for an array of structs, one item per line for other
    arrays, C{key: value} lines for a struct, the value itself otherwise.
    """
    if asJSON:
        writeJSON(result, stream)
        return
    if result is None:
        return
    if isinstance(result, list):
        if result and all(isinstance(item, dict) for item in result):
            lines = formatTable(result)
        else:
            lines = [formatValue(item) for item in result]
    elif isinstance(result, dict):
        lines = ["%s: %s" % (key, formatValue(value))
                 for key, value in flatten(result)]
    else:
        text = formatValue(result)
        lines = [text[:-1] if text.endswith("\n") else text] if text else []
    for line in lines:
        stream.write(line + "\n")


def formatFault(fault):
    """
    An C{xmlrpc.client.Fault} as C{NAME (code): message}, with the
    manual's name of the fault code, ending in a newline.
    """
    return "%s (%d): %s\n" % (
        faultName(fault.faultCode), fault.faultCode, fault.faultString)
