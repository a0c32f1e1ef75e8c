# -*- test-case-name: tests.test_mountinfo -*-
"""
Reading C{/proc/<pid>/mountinfo}, the mount table of a mount namespace.

Each line describes one mount (see C{proc(5)})::

    36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=ro
    (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)      (11)

The kernel escapes space, tab, newline and backslash in paths (and in
options) as a backslash and three octal digits (C{\\040} for a space);
L{parseMountinfo} undoes that. Names are bytes to the kernel, so they are
decoded as the C{os} module decodes file names (UTF-8 with
C{surrogateescape}) and survive a round trip through C{os.fsencode}.
"""

import os
from typing import NamedTuple, Tuple

DEFAULT_PATH = "/proc/self/mountinfo"


class Mount(NamedTuple):
    """
    One line of a mountinfo file.

    @ivar mountID: the mount's unique id.
    @ivar parentID: the id of the parent mount (its own id for the root of
        the namespace's tree).
    @ivar device: C{"major:minor"} of the filesystem's device.
    @ivar root: the directory of the filesystem that is mounted.
    @ivar mountPoint: where it is mounted, relative to the reading process's
        root.
    @ivar options: the per-mount options, e.g. C{("rw", "noatime")}.
    @ivar optional: the optional fields, e.g. C{("shared:1", "master:2")}.
    @ivar fsType: the filesystem type, e.g. C{"ext4"} or C{"cgroup2"}.
    @ivar source: the filesystem-specific source, e.g. C{"/dev/sda1"}.
    @ivar superOptions: the per-superblock options, e.g.
        C{("rw", "lowerdir=/a", "upperdir=/b")}.
    """

    mountID: int
    parentID: int
    device: str
    root: str
    mountPoint: str
    options: Tuple[str, ...]
    optional: Tuple[str, ...]
    fsType: str
    source: str
    superOptions: Tuple[str, ...]


def unescape(field):
    """
    Undo the kernel's octal escapes (C{\\040} and the like) in one field.

    @param field: a field as read with C{surrogateescape}.
    @return: the field with each backslash and three octal digits replaced
        by the byte they name, decoded like a file name.
    """
    if "\\" not in field:
        return field
    raw = os.fsencode(field)
    out = bytearray()
    i = 0
    while i < len(raw):
        code = raw[i + 1:i + 4]
        if (raw[i] == 0x5C and len(code) == 3
                and all(0x30 <= c <= 0x37 for c in code)):
            out.append(int(code, 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return os.fsdecode(bytes(out))


def _options(field):
    # Split before unescaping: an escaped comma (\054) belongs to a value.
    return tuple(unescape(option) for option in field.split(","))


def parseLine(line):
    """
    Parse one line of a mountinfo file.

    @param line: the line, with or without its newline.
    @return: a L{Mount}.
    @raise ValueError: if C{line} is not a mountinfo line.
    """
    fields = line.rstrip("\n").split(" ")
    try:
        separator = fields.index("-", 6)
    except ValueError:
        raise ValueError("not a mountinfo line (no ' - '): %r" % (line,))
    if len(fields) != separator + 4:
        raise ValueError("not a mountinfo line (%d fields after ' - '): %r"
                         % (len(fields) - separator - 1, line))
    try:
        mountID, parentID = int(fields[0]), int(fields[1])
    except ValueError:
        raise ValueError("not a mountinfo line (mount ids): %r" % (line,))
    return Mount(
        mountID=mountID,
        parentID=parentID,
        device=fields[2],
        root=unescape(fields[3]),
        mountPoint=unescape(fields[4]),
        options=_options(fields[5]),
        optional=tuple(fields[6:separator]),
        fsType=unescape(fields[separator + 1]),
        source=unescape(fields[separator + 2]),
        superOptions=_options(fields[separator + 3]),
    )


def parseMountinfo(text):
    """
    Parse the whole text of a mountinfo file.

    @param text: the text, as read with C{surrogateescape}.
    @return: a list of L{Mount}, in the file's order.
    @raise ValueError: if a line is not a mountinfo line.
    """
    # Not splitlines(): it also splits at characters such as \x1c or
    # \u2028, which the kernel leaves unescaped in a path.
    return [parseLine(line) for line in text.split("\n") if line]


def readMountinfo(path=DEFAULT_PATH):
    """
    Read and parse a mountinfo file.

    @param path: the file; by default this process's mount namespace.
    @return: a list of L{Mount}, in the file's order.
    @raise OSError: if C{path} cannot be read.
    @raise ValueError: if a line is not a mountinfo line.
    """
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parseMountinfo(f.read())
