"""
Tests for L{vcd.kernel.netdev}: reading the kernel's interface counters
from the text of C{/proc/net/dev}, and L{vcd.methods.netstatus}'s struct
of them.
"""

from twisted.trial import unittest

from vcd.kernel.netdev import InterfaceCounters, parseNetDev
from vcd.methods.netstatus import interfaceStruct

#: A /proc/net/dev as Linux 6.x writes it (counters past 2 ** 32).
SAMPLE = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 13710184724 61707443    0    0    0     0          0         0 13710184724 61707443    0    0    0     0       0          0
  eth0: 208645236   11081    1    2    3     4          5         6   938927   11056    7    8    9    10      11         12
"""


class ParseTests(unittest.TestCase):
    """
    L{parseNetDev}.
    """

    def test_interfaces(self):
        """
        Each interface line gives its name and its receive and transmit
        columns, in the file's order.
        """
        lo, eth0 = parseNetDev(SAMPLE)
        self.assertEqual(lo.name, "lo")
        self.assertEqual(lo.received["bytes"], 13710184724)
        self.assertEqual(lo.sent["packets"], 61707443)
        self.assertEqual(eth0.name, "eth0")
        self.assertEqual(eth0.received, {
            "bytes": 208645236, "packets": 11081, "errs": 1, "drop": 2,
            "fifo": 3, "frame": 4, "compressed": 5, "multicast": 6})
        self.assertEqual(eth0.sent, {
            "bytes": 938927, "packets": 11056, "errs": 7, "drop": 8,
            "fifo": 9, "colls": 10, "carrier": 11, "compressed": 12})

    def test_failedPackets(self):
        """
        Failed packets are the errors, drops, overruns, framing errors,
        collisions and carrier losses of both directions (not the
        compressed or multicast counts).
        """
        _, eth0 = parseNetDev(SAMPLE)
        self.assertEqual(eth0.failedPackets(),
                         1 + 2 + 3 + 4 + 7 + 8 + 9 + 10 + 11)

    def test_malformed(self):
        """
        A line of another shape is an error, not a silent zero.
        """
        header = "\n".join(SAMPLE.splitlines()[:2]) + "\n"
        for line in ("  eth0: 1 2 3\n", "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13"
                     " 14 15 16\n", "  eth0: x 2 3 4 5 6 7 8 9 10 11 12 13"
                     " 14 15 16\n"):
            self.assertRaises(ValueError, parseNetDev, header + line)

    def test_headerOnly(self):
        self.assertEqual(parseNetDev("\n".join(SAMPLE.splitlines()[:2])),
                         [])


class StructTests(unittest.TestCase):
    """
    L{interfaceStruct}: the original's member names, counters as uint64
    decimal strings.
    """

    def test_struct(self):
        counters = InterfaceCounters(
            "eth0", {"bytes": 2 ** 40, "packets": 7, "errs": 1, "drop": 1,
                     "fifo": 0, "frame": 0, "compressed": 0,
                     "multicast": 0},
            {"bytes": 5, "packets": 2 ** 33, "errs": 0, "drop": 2,
             "fifo": 0, "colls": 0, "carrier": 0, "compressed": 0})
        self.assertEqual(interfaceStruct(counters), {
            "type": "eth0", "recvp": "7", "recvb": str(2 ** 40),
            "sendp": str(2 ** 33), "sendb": "5", "failp": "4"})
