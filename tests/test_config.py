"""
Tests for the daemon's configuration: the INI file under the command line,
validation, safe modes of what start-up creates, SIGHUP's reload.
"""

import io
import os
import stat

from twisted.python import usage
from twisted.trial import unittest

from tests.harness import DaemonTestCase
from vcd.config import ConfigurationError, buildConfiguration
from vcd.scripts import vxpasswd
from vcd.tap import Options
from vcd.vxdb.connection import openVXDB
from vcd.vxdb.credentials import loadKey
from vcd.vxdb.whirlpool import whirlpoolHex


def _options(**given):
    options = {"config": None, "listen": [], "datadir": None,
               "vbasedir": None, "templatedir": None, "maxbody": None,
               "httpserver": None}
    options.update(given)
    return options


class ConfigurationTests(unittest.TestCase):

    def writeConfig(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults(self):
        config = buildConfiguration(_options(
            config=self.writeConfig("[vcd]\n")))
        self.assertEqual(config.listen, ["tcp:13386:interface=127.0.0.1"])
        self.assertEqual(config.datadir, "/var/lib/vcd")
        self.assertEqual(config.vxdbPath, "/var/lib/vcd/vxdb")
        self.assertEqual(config.vbasedir, "/vservers")
        self.assertEqual(config.templatedir, "/var/lib/vcd/templates")

    def test_fileThenCommandLine(self):
        path = self.writeConfig("[vcd]\nhost = 127.0.0.2\nport = 4000\n"
                                "datadir = /srv/vcd\nvbasedir = /srv/vs\n"
                                "timeout = 9\n")
        config = buildConfiguration(_options(config=path))
        self.assertEqual(config.listen, ["tcp:4000:interface=127.0.0.2"])
        self.assertEqual(config.datadir, "/srv/vcd")
        self.assertEqual(config.timeout, 9)
        config = buildConfiguration(_options(
            config=path, datadir="/other", listen=["tcp:1:interface=::1",
                                                   "unix:/run/x.sock"]))
        self.assertEqual(config.datadir, "/other")
        self.assertEqual(config.templatedir, "/other/templates")
        self.assertEqual(config.listen, ["tcp:1:interface=::1",
                                         "unix:/run/x.sock"])

    def test_listenKey(self):
        config = buildConfiguration(_options(config=self.writeConfig(
            "[vcd]\nlisten = tcp:1:interface=127.0.0.1 tcp:2\n")))
        self.assertEqual(config.listen, ["tcp:1:interface=127.0.0.1",
                                         "tcp:2"])

    def test_refusals(self):
        for text, words in (("[vcd]\nfoo = 1\n", "unknown key"),
                            ("[vcd]\nport = http\n", "port must be"),
                            ("[vcd]\nport = 70000\n", "port must be"),
                            ("not ini", "cannot read")):
            error = self.assertRaises(
                ConfigurationError, buildConfiguration,
                _options(config=self.writeConfig(text)))
            self.assertIn(words, str(error))
        error = self.assertRaises(ConfigurationError, buildConfiguration,
                                  _options(config="/nonexistent/vcd.conf"))
        self.assertIn("does not exist", str(error))

    def test_httpServer(self):
        """
        C{httpserver} is C{lean} unless the file or C{--http-server} (which
        wins) says C{twisted}; anything else is refused.
        """
        path = self.writeConfig("[vcd]\n")
        self.assertEqual(buildConfiguration(_options(config=path)).httpServer,
                         "lean")
        path = self.writeConfig("[vcd]\nhttpserver = twisted\n")
        self.assertEqual(buildConfiguration(_options(config=path)).httpServer,
                         "twisted")
        self.assertEqual(buildConfiguration(_options(
            config=path, httpserver="lean")).httpServer, "lean")
        options = Options()
        options.parseOptions(["--config", self.writeConfig("[vcd]\n"),
                              "--http-server", "twisted"])
        self.assertEqual(options.configuration.httpServer, "twisted")
        error = self.assertRaises(
            ConfigurationError, buildConfiguration, _options(
                config=self.writeConfig("[vcd]\nhttpserver = apache\n")))
        self.assertIn("httpserver must be one of lean, twisted", str(error))
        self.assertRaises(usage.UsageError, Options().parseOptions,
                          ["--config", self.writeConfig("[vcd]\n"),
                           "--http-server", "nginx"])

    def test_optionsRepeatListen(self):
        options = Options()
        options.parseOptions(["--config", self.writeConfig("[vcd]\n"),
                              "--listen", "tcp:1", "--listen", "tcp:2",
                              "--datadir", "/d"])
        self.assertEqual(options.configuration.listen, ["tcp:1", "tcp:2"])
        self.assertEqual(options.configuration.vxdbPath, "/d/vxdb")


class StartupTests(DaemonTestCase):
    """
    What the daemon creates, and SIGHUP's reload.
    """

    def test_safeModes(self):
        mode = lambda path: stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode(self.config.vxdbPath), 0o600)
        # Searchable (an unprivileged VPS's root passes through to its
        # own directory, closed to everyone else), not listable.
        self.assertEqual(mode(self.config.datadir), 0o711)
        self.assertEqual(mode(self.config.lxcpath), 0o711)
        self.assertEqual(mode(self.daemon.helperSecretFile), 0o600)

    def test_reload(self):
        path = os.path.join(self.base, "vcd.conf")
        with open(path, "w") as f:
            f.write("[vcd]\ntimeout = 7\nmaxbody = 2048\n")
        self.daemon.config.configFile = path
        self.daemon.reload()
        self.assertEqual(self.daemon.site.timeOut, 7)
        self.assertEqual(self.daemon.site.maxBodySize, 2048)
        with open(path, "w") as f:
            f.write("[vcd]\ntimeout = never\n")
        self.daemon.reload()  # a broken file is logged, nothing changes
        self.assertEqual(self.daemon.site.timeOut, 7)
        self.flushLoggedErrors()


class VxpasswdTests(unittest.TestCase):

    def test_createsSeedsAndSets(self):
        path = os.path.join(self.mktemp(), "vxdb")
        err = io.StringIO()
        self.assertEqual(vxpasswd.main([path, "admin", "secret-123"],
                                       stderr=err), 0, err.getvalue())
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        db = openVXDB(path)
        users = dict(db.execute("SELECT name, password FROM user"))
        self.assertEqual(sorted(users), ["admin", "vshelper"])
        self.assertTrue(loadKey(path).matches(users["admin"],
                                              whirlpoolHex("secret-123")))
        self.assertEqual(users["vshelper"], "!")
        caps = [c for (c,) in db.execute(
            "SELECT cap FROM user_caps JOIN user USING (uid) WHERE"
            " name = 'admin'")]
        self.assertNotIn("HELPER", caps)
        self.assertEqual(len(caps), 14)
        self.assertEqual([g for (g,) in db.execute("SELECT name FROM"
                                                   " groups")], ["onboot"])
        db.close()

    def test_passwordFromStdinAndRefusals(self):
        path = os.path.join(self.mktemp(), "vxdb")
        self.assertEqual(vxpasswd.main([path, "admin"],
                                       stdin=io.StringIO("from-stdin-1\n"),
                                       stderr=io.StringIO()), 0)
        err = io.StringIO()
        self.assertEqual(vxpasswd.main([path, "admin", "short"], stderr=err),
                         1)
        self.assertIn("at least 8", err.getvalue())
        err = io.StringIO()
        self.assertEqual(vxpasswd.main([path, "ghost", "long-enough"],
                                       stderr=err), 1)
        self.assertIn("no user", err.getvalue())
        self.assertEqual(vxpasswd.main([], stderr=io.StringIO()), 2)
