# -*- test-case-name: tests.test_idmap -*-
"""
The subordinate user and group ids of the daemon's user (C{/etc/subuid},
C{/etc/subgid}, see subuid(5)): the ids the daemon hands out to
unprivileged VPSes, each VPS a range of its own.
"""

import os
import pwd

SUBUID = "/etc/subuid"
SUBGID = "/etc/subgid"


def parseSubids(text, user, uid):
    """
    The ranges C{text} (in subuid(5) format) gives to C{user} (by name or
    by its numeric id C{uid}).

    @return: a sorted list of C{(first, count)}; malformed lines are
        skipped.
    """
    ranges = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] not in (user, str(uid)):
            continue
        try:
            first, count = int(fields[1]), int(fields[2])
        except ValueError:
            continue
        if first > 0 and count > 0:
            ranges.append((first, count))
    return sorted(ranges)


def intersect(a, b):
    """
    The ids that both lists of C{(first, count)} ranges hold.

    @return: a sorted list of C{(first, count)}.
    """
    common = []
    for first1, count1 in a:
        for first2, count2 in b:
            first = max(first1, first2)
            end = min(first1 + count1, first2 + count2)
            if end > first:
                common.append((first, end - first))
    return sorted(common)


def subordinateIds(uid=None, subuid=SUBUID, subgid=SUBGID):
    """
    The ids that are both subordinate user ids and subordinate group ids of
    the user C{uid} (default: this process's), so that a VPS can map its
    users and groups to the same host numbers.

    @return: a sorted list of C{(first, count)}; empty if the files are
        missing or give this user nothing.
    """
    uid = os.getuid() if uid is None else uid
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    found = []
    for path in (subuid, subgid):
        try:
            with open(path) as f:
                found.append(parseSubids(f.read(), user, uid))
        except FileNotFoundError:
            return []
    return intersect(*found)
