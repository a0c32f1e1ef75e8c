"""
The installed package (C{pip install .} into a virtualenv, as vcd-setup
does): C{twistd vcd} finds the plugin from site-packages, not from the
source tree, the console scripts exist, and the installed daemon serves.
"""

import os
import socket
import subprocess
import time
import xmlrpc.client

from twisted.trial import unittest

SCRIPTS = ("vxpasswd", "vtemplate", "vcc", "vce", "vcdadm", "vgc", "twistd")


def _venv():
    return os.environ.get("VCD_VENV", "/opt/vcd")


class InstalledPackageTests(unittest.TestCase):
    """
    Run the installed form from outside the source tree.
    """

    timeout = 60

    def setUp(self):
        self.bin = os.path.join(_venv(), "bin")
        if not os.path.exists(os.path.join(self.bin, "twistd")):
            self.fail("no installed vcd in %s: run ./vcd-setup install (or"
                      " set VCD_VENV)" % (_venv(),))
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run_(self, *argv, **kwargs):
        return subprocess.run(argv, cwd="/", env=self.env, capture_output=True,
                              text=True, timeout=30, **kwargs)

    def test_consoleScripts(self):
        for script in SCRIPTS:
            self.assertTrue(os.access(os.path.join(self.bin, script), os.X_OK),
                            script)

    def test_pluginFromSitePackages(self):
        result = self.run_(os.path.join(self.bin, "python"), "-c",
                           "import vcd, twisted.plugins.vcd_plugin as p;"
                           " print(vcd.__file__); print(p.__file__)")
        self.assertEqual(result.returncode, 0, result.stderr)
        for line in result.stdout.split():
            self.assertIn("site-packages", line)
        help_ = self.run_(os.path.join(self.bin, "twistd"), "--help")
        self.assertIn("VServer Control Daemon", help_.stdout)

    def test_installedDaemonServes(self):
        base = os.path.abspath(self.mktemp())
        os.makedirs(base)
        status = self.run_(os.path.join(self.bin, "vxpasswd"),
                           os.path.join(base, "data", "vxdb"), "admin",
                           "installed-1")
        self.assertEqual(status.returncode, 0, status.stderr)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        daemon = subprocess.Popen(
            [os.path.join(self.bin, "twistd"), "-n", "--pidfile=", "vcd",
             "--datadir", os.path.join(base, "data"),
             "--vbasedir", os.path.join(base, "vservers"),
             "--listen", "tcp:%d:interface=127.0.0.1" % (port,)],
            cwd="/", env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.addCleanup(daemon.wait)
        self.addCleanup(daemon.terminate)
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % port,
                                          allow_none=True)
        deadline = time.time() + 20
        while True:
            try:
                methods = proxy.system.listMethods()
                break
            except OSError:
                if time.time() > deadline or daemon.poll() is not None:
                    self.fail("the installed daemon did not come up")
                time.sleep(0.1)
        self.assertIn("vxdb.xid.get", methods)
        self.assertIsNone(proxy.vcd.login(
            {"username": "admin", "password": "installed-1"}))
