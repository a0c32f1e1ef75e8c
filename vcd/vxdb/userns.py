# -*- test-case-name: tests.test_userns -*-
"""
The user namespace of each VPS in VXDB: the host ids of its range (never
overlapping another VPS's), whether an administrator made it privileged,
and which base the files of a copy are owned by now.

Every VPS has a range, even a privileged one, so that making it
unprivileged again needs no new allocation.
"""

from collections import namedtuple

from vcd.faults import MESYS, VCDFault

#: A VPS's user namespace: C{privileged} (bool), C{base} and C{count}
#: (its host ids), C{filesBase} (the host id of root in the files of its
#: copy: 0 as in the template, or C{base} once shifted).
UserNamespace = namedtuple("UserNamespace",
                           "privileged base count filesBase")


def usernsOf(cursor, xid):
    """
    @return: the L{UserNamespace} of VPS C{xid}, or None if it has none.
    """
    row = cursor.execute(
        "SELECT privileged, idbase, idcount, filesbase FROM vps_userns"
        " WHERE xid = ?", (xid,)).fetchone()
    if row is None:
        return None
    return UserNamespace(bool(row[0]), row[1], row[2], row[3])


def allocate(cursor, xid, ranges, count):
    """
    Give VPS C{xid} the lowest free block of C{count} ids (aligned to
    C{count}) inside C{ranges}, unless it has one.

    @param ranges: the host's subordinate ids, C{(first, count)} pairs.
    @return: its L{UserNamespace}.
    @raise VCDFault: MESYS if no block is free.
    """
    current = usernsOf(cursor, xid)
    if current is not None:
        return current
    taken = sorted(tuple(row) for row in cursor.execute(
        "SELECT idbase, idcount FROM vps_userns"))
    for first, size in ranges:
        base = -(-first // count) * count
        while base + count <= first + size:
            clash = [t for t in taken
                     if t[0] < base + count and base < t[0] + t[1]]
            if not clash:
                cursor.execute(
                    "INSERT INTO vps_userns (xid, privileged, idbase,"
                    " idcount, filesbase) VALUES (?, 0, ?, ?, 0)",
                    (xid, base, count))
                return UserNamespace(False, base, count, 0)
            base = -(-max(t[0] + t[1] for t in clash) // count) * count
    raise VCDFault(MESYS, "no free range of %d subordinate ids is left for"
                   " an unprivileged virtual server; the administrator"
                   " must give root more subordinate ids" % (count,))


def setPrivileged(cursor, xid, privileged):
    """
    Make VPS C{xid} privileged or not (from its next start).
    """
    cursor.execute("UPDATE vps_userns SET privileged = ? WHERE xid = ?",
                   (int(bool(privileged)), xid))


def setFilesBase(cursor, xid, base):
    """
    Record that the files of VPS C{xid}'s copy are now owned from C{base}.
    """
    cursor.execute("UPDATE vps_userns SET filesbase = ? WHERE xid = ?",
                   (base, xid))


def withoutRange(cursor):
    """
    @return: C{(xid, name)} of every VPS that has no range (made by a vcd
        before VPSes were unprivileged), sorted by xid.
    """
    return [tuple(row) for row in cursor.execute(
        "SELECT m.xid, m.name FROM xid_name_map m LEFT JOIN vps_userns u"
        " ON u.xid = m.xid WHERE u.xid IS NULL ORDER BY m.xid")]


def summary(cursor):
    """
    @return: C{(number of unprivileged VPSes, sorted names of the
        privileged ones)}.
    """
    unprivileged = cursor.execute(
        "SELECT COUNT(*) FROM vps_userns WHERE privileged = 0").fetchone()[0]
    privileged = [row[0] for row in cursor.execute(
        "SELECT m.name FROM vps_userns u JOIN xid_name_map m"
        " ON m.xid = u.xid WHERE u.privileged = 1 ORDER BY m.name")]
    return unprivileged, privileged


def assignMissing(cursor, ranges, count):
    """
    Give every VPS without a range (made by a vcd from before VPSes were
    unprivileged) one, making it unprivileged from its next start.

    @return: C{(name, base)} of each VPS given a range, by xid.
    @raise VCDFault: MESYS if the ranges run out (nothing is changed).
    """
    assigned = []
    for xid, name in withoutRange(cursor):
        assigned.append((name, allocate(cursor, xid, ranges, count).base))
    return assigned
