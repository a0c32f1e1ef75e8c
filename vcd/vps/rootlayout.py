# -*- test-case-name: tests.test_rootfs -*-
"""
Where the root filesystem of a VPS lives: L{RootLayout}, which the daemon
keeps in VXDB for each VPS and renders into LXC's C{lxc.rootfs.path}.
"""

KIND_COPY = "copy"
KIND_OVERLAY = "overlay"


class RootLayout:
    """
    Where the root filesystem of a VPS lives.

    @ivar kind: C{"copy"} or C{"overlay"}.
    @ivar vdir: the VPS directory.
    @ivar rootfs: for C{"copy"}, the root filesystem directory; else C{None}.
    @ivar lower: for C{"overlay"}, the shared read-only lower layer.
    @ivar upper: for C{"overlay"}, the VPS's own upper layer.
    @ivar work: for C{"overlay"}, the overlayfs work directory.
    """

    def __init__(self, kind, vdir, rootfs=None, lower=None, upper=None,
                 work=None):
        if kind == KIND_COPY:
            if rootfs is None or lower or upper or work:
                raise ValueError("a copy layout has a rootfs and nothing else")
        elif kind == KIND_OVERLAY:
            if rootfs is not None or not (lower and upper and work):
                raise ValueError("an overlay layout has lower, upper, work")
        else:
            raise ValueError("unknown root layout kind %r" % (kind,))
        self.kind = kind
        self.vdir = vdir
        self.rootfs = rootfs
        self.lower = lower
        self.upper = upper
        self.work = work

    def lxcRootfsPath(self):
        """
        @return: the value for LXC's C{lxc.rootfs.path}.
        @raise ValueError: if a path cannot be expressed there (LXC splits
            the value at C{:}; overlayfs splits its options at C{,}).
        """
        if self.kind == KIND_COPY:
            paths = [self.rootfs]
        else:
            paths = [self.lower, self.upper]
        for path in paths:
            if any(c in path for c in ":,\n\0"):
                raise ValueError("LXC cannot use the path %r" % (path,))
        if self.kind == KIND_COPY:
            return "dir:" + self.rootfs
        return "overlay:%s:%s" % (self.lower, self.upper)

    def toRecord(self):
        """
        @return: a dict of strings, for storing in the daemon's database.
        """
        record = {"kind": self.kind, "vdir": self.vdir}
        for key in ("rootfs", "lower", "upper", "work"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        return record

    @classmethod
    def fromRecord(cls, record):
        """
        The inverse of L{toRecord}.

        @raise ValueError: if C{record} does not describe a layout.
        """
        known = {"kind", "vdir", "rootfs", "lower", "upper", "work"}
        unknown = set(record) - known
        if unknown or "kind" not in record or "vdir" not in record:
            raise ValueError("not a root layout record: %r" % (record,))
        return cls(**record)

    def __eq__(self, other):
        if not isinstance(other, RootLayout):
            return NotImplemented
        return self.toRecord() == other.toRecord()

    def __repr__(self):
        return "RootLayout(%s)" % ", ".join(
            "%s=%r" % item for item in self.toRecord().items())
