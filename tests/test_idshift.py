"""
L{vcd.vps.idshift.shiftOwners}: the owners of a copy moved to a VPS's
range and back, set-id bits and file capabilities kept, links not
followed. As root (it changes owners); the oracle is lstat and getxattr.
"""

import os
import stat

from twisted.trial import unittest

from vcd.vps.idshift import CAPABILITY_XATTR, shiftOwners

BASE = 1000000 + 65536 * 7
#: A version 2 security.capability value granting cap_net_raw (13)
#: permitted and effective, as setcap writes it.
NET_RAW_CAPS = bytes.fromhex("01000002" "00200000" "00000000"
                             "00000000" "00000000")


class ShiftOwnersTests(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("shifting owners needs root")
        self.root = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.root, "bin"))
        self.suid = os.path.join(self.root, "bin", "su")
        with open(self.suid, "w") as f:
            f.write("x")
        os.chmod(self.suid, 0o4755)
        self.ping = os.path.join(self.root, "bin", "ping")
        with open(self.ping, "w") as f:
            f.write("x")
        os.setxattr(self.ping, CAPABILITY_XATTR, NET_RAW_CAPS)
        self.user = os.path.join(self.root, "home")
        os.mkdir(self.user)
        os.chown(self.user, 1000, 1000)
        self.outside = os.path.abspath(self.mktemp())
        with open(self.outside, "w") as f:
            f.write("host file")
        os.symlink(self.outside, os.path.join(self.root, "link"))

    def test_shiftAndBack(self):
        """
        Every owner moves by the base, the directory itself too; a link
        is changed, not its target; moving back restores the ids.
        """
        count = shiftOwners(self.root, 0, BASE, 65536)
        self.assertEqual(count, 6)
        self.assertEqual(os.lstat(self.root).st_uid, BASE)
        self.assertEqual(os.lstat(self.suid)[4:6], (BASE, BASE))
        self.assertEqual(os.lstat(self.user)[4:6], (BASE + 1000, BASE + 1000))
        self.assertEqual(os.lstat(os.path.join(self.root, "link")).st_uid,
                         BASE)
        self.assertEqual(os.stat(self.outside).st_uid, 0)
        shiftOwners(self.root, BASE, 0, 65536)
        self.assertEqual(os.lstat(self.user)[4:6], (1000, 1000))
        self.assertEqual(os.lstat(self.suid).st_uid, 0)

    def test_setIdBitsAndCapabilitiesKept(self):
        """
        chown clears set-user-ID bits and file capabilities; both are
        put back.
        """
        shiftOwners(self.root, 0, BASE, 65536)
        self.assertEqual(stat.S_IMODE(os.lstat(self.suid).st_mode), 0o4755)
        self.assertEqual(os.getxattr(self.ping, CAPABILITY_XATTR),
                         NET_RAW_CAPS)

    def test_idsOutsideTheRangeLeft(self):
        """
        An id outside the range being moved stays (it shows as the
        overflow id inside).
        """
        os.chown(self.user, 70000, 70000)
        shiftOwners(self.root, 0, BASE, 65536)
        self.assertEqual(os.lstat(self.user)[4:6], (70000, 70000))
