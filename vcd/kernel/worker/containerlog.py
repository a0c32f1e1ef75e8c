# -*- test-case-name: tests.test_workerstart -*-
"""
A container's LXC logs (C{log}, C{console.log} in its directory under the
lxcpath), as a failed start quotes them: where they ended before the start,
and what this start added.
"""

import os

#: A container's log is emptied at a start once it is larger than this.
LOG_LIMIT = 1024 * 1024
LOGS = ("log", "console.log")
#: The longest line quoted, and the most quoted in all, in characters: the
#: quote travels in an AMP value (at most 65535 bytes) and in a fault.
QUOTED_LINE = 512
QUOTED_TOTAL = 8192


def noteLogEnds(directory):
    """
    Note where a container's logs end before a start (emptying any larger
    than L{LOG_LIMIT}), so that a failure quotes this start's lines only.

    @param directory: the container's directory.
    @return: a dict from log name to its size.
    """
    offsets = {}
    for log in LOGS:
        logPath = os.path.join(directory, log)
        try:
            size = os.path.getsize(logPath)
        except FileNotFoundError:
            size = 0
        if size > LOG_LIMIT:
            os.truncate(logPath, 0)
            size = 0
        offsets[log] = size
    return offsets


def logTail(directory, offsets=None, lines=8):
    """
    What a start's LXC log says went wrong: its ERROR lines and its last
    lines (from C{offsets}, where the logs ended before the start), and
    the end of the console log (the init's own words).

    @param directory: the container's directory.
    @param offsets: the result of L{noteLogEnds} before the start.
    @return: the lines, joined (each cut at L{QUOTED_LINE} characters,
        at most L{QUOTED_TOTAL} characters in all, the last kept); empty
        if there are none.
    """
    found = []
    for log in LOGS:
        try:
            with open(os.path.join(directory, log), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max((offsets or {}).get(log, 0), f.tell() - 65536))
                text = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        tail = text[-lines:]
        errors = [line for line in text[:-lines] if " ERROR " in line]
        found.extend(errors[-lines:] + tail)
    quoted = "\n".join(_cut(line, QUOTED_LINE) for line in found)
    return quoted[-QUOTED_TOTAL:]


def _cut(line, length):
    if len(line) <= length:
        return line
    return line[:length] + "[...]"
