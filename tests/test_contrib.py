"""
Tests for the files in C{contrib/}: the annotated example configuration
says the daemon's real defaults, and the systemd unit runs the daemon in
the foreground, restarts it on failure and leaves the VPSes running when it
stops.
"""

import configparser
import os
import shlex
import shutil
import subprocess

from twisted.trial import unittest

from vcd.config import Configuration, buildConfiguration, readConfigFile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(HERE, "contrib", "vcd.conf.example")
UNIT = os.path.join(HERE, "contrib", "vcd.service")

#: Every key the daemon reads, and the attribute of the configuration.
SETTINGS = {"listen": "listen", "datadir": "datadir",
            "vbasedir": "vbasedir", "templatedir": "templatedir",
            "timeout": "timeout", "maxbody": "maxBodySize",
            "httpserver": "httpServer", "exectimeout": "execTimeout",
            "execoutput": "execOutputCap", "startcheck": "startCheck",
            "execpervps": "execPerVps", "execperuser": "execPerUser",
            "logfile": "logfile", "pidfile": "pidfile",
            "bcapceiling": "bcapCeiling",
            "maxbodytotal": "maxBodyTotal",
            "maxconnections": "maxConnections",
            "maxperaddress": "maxPerAddress",
            "headtimeout": "headTimeout", "minbodyrate": "minBodyRate"}


class ExampleConfigurationTests(unittest.TestCase):
    """
    contrib/vcd.conf.example.
    """

    def test_parsesToTheDefaults(self):
        """
        The example, read as the daemon reads its configuration file, gives
        exactly what no file at all gives.
        """
        fromExample = buildConfiguration({"config": EXAMPLE})
        defaults = Configuration()
        for key, attribute in SETTINGS.items():
            self.assertEqual(getattr(fromExample, attribute),
                             getattr(defaults, attribute), key)

    def test_documentsEveryKey(self):
        """
        Each key the daemon reads appears in the example, set or commented
        out (the original's host and port are mentioned as alternatives).
        """
        with open(EXAMPLE) as f:
            text = f.read()
        for key in SETTINGS:
            self.assertTrue(("\n%s = " % (key,) in text)
                            or ("\n#%s = " % (key,) in text), key)
        self.assertIn("`host` and `port`", text)
        readConfigFile(EXAMPLE, required=True)


class SystemdUnitTests(unittest.TestCase):
    """
    contrib/vcd.service.
    """

    def setUp(self):
        self.unit = configparser.ConfigParser(interpolation=None,
                                              strict=False)
        self.unit.optionxform = str
        self.unit.read(UNIT)

    def test_runsTheDaemonInTheForeground(self):
        argv = shlex.split(self.unit["Service"]["ExecStart"])
        self.assertEqual(os.path.basename(argv[0]), "twistd")
        self.assertIn("--nodaemon", argv)
        self.assertEqual(argv[-1], "vcd")
        self.assertEqual(self.unit["Service"]["Type"], "simple")

    def test_restartsAndLeavesVPSesRunning(self):
        """
        Restart on failure; KillMode=process, so that stopping the daemon
        does not kill the LXC monitors and containers in its cgroup.
        """
        service = self.unit["Service"]
        self.assertEqual(service["Restart"], "on-failure")
        self.assertEqual(service["KillMode"], "process")
        self.assertIn("kill -HUP", service["ExecReload"])

    def test_systemdAcceptsIt(self):
        """
        systemd-analyze verify finds nothing wrong (systemd is part of
        every Debian host this runs on).
        """
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.fail("systemd-analyze missing: apt-get install systemd")
        result = subprocess.run([tool, "verify", UNIT], capture_output=True,
                                text=True)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
