"""
Tests for L{vcd.vxdb.whirlpool} and its binding L{vcd.vxdb._whirlpool}.
"""

import os
import subprocess
import sys

from twisted.trial import unittest

from vcd.vxdb.whirlpool import (ENCODED_PREFIX, passwordDigest,
                                whirlpoolHex)

# The ISO/IEC 10118-3 test vectors of WHIRLPOOL (the final, 2003 version),
# as published with the reference implementation.
VECTORS = [
    (b"",
     "19FA61D75522A4669B44E39C1D2E1726C530232130D407F89AFEE0964997F7A7"
     "3E83BE698B288FEBCF88E3E03C4F0757EA8964E59B63D93708B138CC42A66EB3"),
    (b"a",
     "8ACA2602792AEC6F11A67206531FB7D7F0DFF59413145E6973C45001D0087B42"
     "D11BC645413AEFF63A42391A39145A591A92200D560195E53B478584FDAE231A"),
    (b"abc",
     "4E2448A4C6F486BB16B6562C73B4020BF3043E3A731BCE721AE1B303D97E6D4C"
     "7181EEBDB6C57E277D0E34957114CBD6C797FC9D95D8B582D225292076D4EEF5"),
    (b"message digest",
     "378C84A4126E2DC6E56DCC7458377AAC838D00032230F53CE1F5700C0FFB4D3B"
     "8421557659EF55C106B4B52AC5A4AAA692ED920052838F3362E86DBD37A8903E"),
]


class WhirlpoolTests(unittest.TestCase):
    def test_vectors(self):
        for data, digest in VECTORS:
            self.assertEqual(whirlpoolHex(data), digest.lower())

    def test_str(self):
        """
        Text is digested as UTF-8.
        """
        self.assertEqual(whirlpoolHex("abc"), VECTORS[2][1].lower())
        self.assertEqual(whirlpoolHex("\u00e9"),
                         whirlpoolHex("\u00e9".encode("utf-8")))

    def test_embeddedNul(self):
        """
        The whole buffer is digested, NUL bytes included.
        """
        self.assertNotEqual(whirlpoolHex(b"a\0b"), whirlpoolHex(b"a"))
        self.assertEqual(len(whirlpoolHex(b"a\0b")), 128)

    def test_passwordDigest(self):
        self.assertEqual(passwordDigest("abc"), VECTORS[2][1].lower())
        self.assertEqual(passwordDigest(ENCODED_PREFIX + VECTORS[1][1]),
                         VECTORS[1][1].lower())

    def test_noKernelLayer(self):
        """
        Importing the module loads neither the kernel layer nor cffi's
        run-time compiler (it is an API-mode binding).
        """
        result = subprocess.run(
            [sys.executable, "-c",
             "import sys, vcd.vxdb.whirlpool\n"
             "print(sorted(m for m in sys.modules"
             " if m.startswith(('vcd.kernel', 'cffi'))))"],
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (0, "[]\n", ""))

    def test_missingBinding(self):
        """
        Without the compiled binding, importing the module says what to
        install.
        """
        result = subprocess.run(
            [sys.executable, "-c",
             "import sys; sys.modules['vcd.vxdb._whirlpool'] = None\n"
             "import vcd.vxdb.whirlpool"],
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("libssl3", result.stderr)
        self.assertIn("build_ext --inplace", result.stderr)
