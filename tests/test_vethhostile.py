"""
Tests of L{vcd.kernel.vethrouting.UP_SCRIPT} against a hostile VPS's root,
without containers: in network namespaces of their own
(L{tests.vethprobe}), a router advertisement sent by the VPS changes
nothing on its host-side veth, while the same advertisement on a veth
without the script's settings gives the host a default route through the
VPS and an on-link route for another VPS's address (the control, which
shows the attack is real on this kernel).

Needs root (network namespaces), iproute2 and util-linux (unshare,
nsenter).
"""

import json
import os
import shutil
import subprocess
import sys

from twisted.trial import unittest

import tests.vethprobe


class RouterAdvertisementTests(unittest.TestCase):
    """
    The host takes no route from a VPS's router advertisement.
    """

    def setUp(self):
        for tool in ("unshare", "nsenter", "ip"):
            if shutil.which(tool) is None:
                self.fail("%s missing: install util-linux and iproute2"
                          % (tool,))
        if not os.path.exists("/proc/sys/net/ipv6"):
            self.fail("this kernel has no IPv6")
        root = os.path.dirname(os.path.dirname(os.path.abspath(
            tests.vethprobe.__file__)))
        env = dict(os.environ, PYTHONPATH=root)
        probe = subprocess.run(
            ["unshare", "-n", sys.executable, tests.vethprobe.__file__],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, timeout=60)
        self.assertEqual(probe.returncode, 0, probe.stderr)
        self.result = json.loads(probe.stdout)

    def test_controlTakesRoutes(self):
        """
        Without the script's settings, the advertisement gives the host a
        default route through the VPS and sends the other VPS's address to
        it (the attack the settings stop).
        """
        routes = self.result["control"]["routes"]
        self.assertTrue([r for r in routes
                         if r.startswith("default via fe80::a")], routes)
        self.assertTrue([r for r in routes
                         if r.startswith(tests.vethprobe.VICTIM + " ")],
                        routes)

    def test_protectedTakesNothing(self):
        """
        On a veth the up script prepared, the advertisement adds no route
        and no address: only the link-local prefix route remains.
        """
        self.assertEqual(self.result["protected"],
                         {"routes": ["fe80::/64 proto kernel metric 256"
                                     " pref medium"],
                          "addresses": []})
