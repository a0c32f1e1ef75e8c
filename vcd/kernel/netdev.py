# -*- test-case-name: tests.test_netdev,tests.test_vpsnetwork -*-
"""
The kernel's counters of the network interfaces of a VPS: C{/proc/<pid>/net/dev}
shows the interfaces of the network namespace of process C{<pid>}, so
that of a VPS's init shows the VPS's own (its loopback and its C{eth0}),
whatever the host's are. Blocking and cheap (one small file); the daemon
reads it on its kernel thread pool.
"""

#: The columns of C{/proc/net/dev}, receive side then transmit side.
RECEIVE = ("bytes", "packets", "errs", "drop", "fifo", "frame",
           "compressed", "multicast")
TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier",
            "compressed")


class InterfaceCounters:
    """
    The counters of one interface since it was created.

    @ivar name: the interface's name inside the VPS (C{lo}, C{eth0}).
    @ivar received: a dict from the C{RECEIVE} column names to ints.
    @ivar sent: a dict from the C{TRANSMIT} column names to ints.
    """

    def __init__(self, name, received, sent):
        self.name = name
        self.received = received
        self.sent = sent

    def __eq__(self, other):
        if not isinstance(other, InterfaceCounters):
            return NotImplemented
        return (self.name, self.received, self.sent) == (
            other.name, other.received, other.sent)

    def __repr__(self):
        return "<InterfaceCounters %s rx=%r tx=%r>" % (
            self.name, self.received, self.sent)

    def failedPackets(self):
        """
        @return: the packets the kernel could not receive or send: errors
            and drops of both directions, FIFO overruns, framing errors,
            collisions and carrier losses.
        """
        r, s = self.received, self.sent
        return (r["errs"] + r["drop"] + r["fifo"] + r["frame"]
                + s["errs"] + s["drop"] + s["fifo"] + s["colls"]
                + s["carrier"])


def parseNetDev(text):
    """
    Parse the text of a C{/proc/net/dev}.

    @return: a list of L{InterfaceCounters}, in the file's order.
    @raise ValueError: if a line is not of that file's shape.
    """
    interfaces = []
    for line in text.splitlines()[2:]:
        if not line.strip():
            continue
        name, sep, numbers = line.partition(":")
        fields = numbers.split()
        if not sep or len(fields) != len(RECEIVE) + len(TRANSMIT):
            raise ValueError("not a /proc/net/dev line: %r" % (line,))
        values = [int(field) for field in fields]
        interfaces.append(InterfaceCounters(
            name.strip(), dict(zip(RECEIVE, values[:len(RECEIVE)])),
            dict(zip(TRANSMIT, values[len(RECEIVE):]))))
    return interfaces


def namespaceCounters(pid, proc="/proc"):
    """
    The counters of every interface of the network namespace of C{pid}.

    @return: a list of L{InterfaceCounters}.
    @raise OSError: if the process is gone.
    """
    with open("%s/%d/net/dev" % (proc, pid)) as f:
        return parseNetDev(f.read())
