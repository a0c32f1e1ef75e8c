# -*- test-case-name: tests.test_helper,tests.test_config -*-
"""
vshelper's way in: the daemon's private Unix socket, the secret vshelper
logs in with, and the command LXC's post-stop hook runs.
"""

import hashlib
import os
import secrets
import shlex
import sys

from twisted.application import service

import vcd
from vcd.names import HELPER_USER
from vcd.vxdb import users
from vcd.vxdb.whirlpool import whirlpoolHex

#: The longest path a Unix socket address can hold.
UNIX_PATH_MAX = 107


class HelperSocket(service.Service):
    """
    Listens on the private Unix socket (mode 0600) for vshelper, after
    making sure vshelper has a secret nobody had to type.

    @ivar port: the listening port while running, else None.
    """

    def __init__(self, datadir, site, db, reactor):
        self.datadir = datadir
        self.site = site
        self.db = db
        self.reactor = reactor
        self.port = None

    @property
    def path(self):
        """
        The socket: C{<datadir>/vcd.sock}, or a path under /run when that
        is too long for a socket address.
        """
        path = os.path.join(self.datadir, "vcd.sock")
        if len(path.encode()) <= UNIX_PATH_MAX:
            return path
        digest = hashlib.sha256(self.datadir.encode()).hexdigest()
        return "/run/vcd-%s.sock" % (digest[:16],)

    @property
    def secretFile(self):
        """
        The file (mode 0600) holding the vshelper user's secret.
        """
        return os.path.join(self.datadir, "vshelper.secret")

    def hookCommand(self):
        """
        The command LXC's post-stop hook runs: the installed vshelper
        script, or the module from this source tree.
        """
        options = "--socket %s --secret %s" % (
            shlex.quote(self.path), shlex.quote(self.secretFile))
        script = os.path.join(os.path.dirname(sys.executable), "vshelper")
        if os.access(script, os.X_OK) and "site-packages" in vcd.__file__:
            return "%s %s" % (shlex.quote(script), options)
        root = os.path.dirname(os.path.dirname(os.path.abspath(
            vcd.__file__)))
        return "env PYTHONPATH=%s %s -m vcd.scripts.vshelper %s" % (
            shlex.quote(root), shlex.quote(sys.executable), options)

    def _setSecret(self):
        """
        Create the secret if it is missing and store its verifier as the
        vshelper user's password.
        """
        path = self.secretFile
        try:
            with open(path) as f:
                secret = f.read().strip()
        except FileNotFoundError:
            secret = ""
        if len(secret) < 16:
            secret = secrets.token_urlsafe(32)
            fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                         0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret + "\n")
            os.rename(path + ".new", path)
        os.chmod(path, 0o600)
        self.db.open()
        self.db.transactNow(users.setPassword, HELPER_USER,
                            self.db.key.verifier(whirlpoolHex(secret)))

    def startService(self):
        service.Service.startService(self)
        self._setSecret()
        if os.path.exists(self.path):
            os.unlink(self.path)  # left by a daemon that was killed
        self.port = self.reactor.listenUNIX(self.path, self.site, mode=0o600)

    def stopService(self):
        service.Service.stopService(self)
        port, self.port = self.port, None
        if port is not None:
            return port.stopListening()
