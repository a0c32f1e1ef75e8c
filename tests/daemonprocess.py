"""
A real vcd daemon (C{twistd -n vcd}) in its own process, for tests that
watch it from outside: its memory (VmRSS), its open files and limits, its
answers over TCP (from any loopback address) and over vshelper's Unix
socket. Blocking calls: use them from a test method that does not need the
reactor.
"""

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
import xmlrpc.client

from vcd.helpersocket import HelperSocket
from vcd.names import HELPER_USER
from vcd.scripts.vshelper import UnixTransport

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def freePort():
    """
    @return: a TCP port on 127.0.0.1 free just now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaemonProcess:
    """
    One daemon on a port of 127.0.0.1 with its own directories under
    C{base} and the settings given (keys of the C{[vcd]} section).

    @ivar process: the L{subprocess.Popen} once started.
    """

    def __init__(self, base, settings, fileLimit=None):
        """
        @param fileLimit: (soft, hard) limit on open files to start it
            with, or None for this process's.
        """
        self.base = base
        self.datadir = os.path.join(base, "data")
        self.port = freePort()
        self.settings = dict(settings, datadir=self.datadir,
                             vbasedir=os.path.join(base, "vservers"),
                             listen="tcp:%d:interface=127.0.0.1"
                                    % (self.port,))
        self.fileLimit = fileLimit
        self.logPath = os.path.join(base, "twistd.log")
        self.process = None

    def start(self, deadline=60):
        """
        Start it; return once it answers.
        """
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        if not os.access(twistd, os.X_OK):
            raise AssertionError("%s missing: install Twisted in the venv"
                                 % (twistd,))
        config = os.path.join(self.base, "vcd.conf")
        with open(config, "w") as f:
            f.write("[vcd]\n")
            for key, value in self.settings.items():
                f.write("%s = %s\n" % (key, value))
        command = [twistd, "-n", "--pidfile=", "vcd", "--config", config]
        if self.fileLimit is not None:
            prlimit = shutil.which("prlimit")
            if prlimit is None:
                raise AssertionError("prlimit missing: apt-get install"
                                     " util-linux")
            # prlimit sets the limit and becomes the daemon (exec).
            command = [prlimit, "--nofile=%d:%d" % self.fileLimit, "--"
                       ] + command
        with open(self.logPath, "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.base, env=dict(os.environ, PYTHONPATH=ROOT),
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        end = time.monotonic() + deadline
        while True:
            try:
                self.call("system.listMethods")
                return
            except (OSError, http.client.HTTPException):
                if self.process.poll() is not None or \
                        time.monotonic() > end:
                    raise AssertionError("twistd vcd did not come up: %s"
                                         % (self.log()[-3000:],))
                time.sleep(0.1)

    def stop(self):
        """
        Stop it (SIGTERM, then SIGKILL after 30 s).
        """
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self):
        with open(self.logPath, errors="replace") as f:
            return f.read()

    def rss(self):
        """
        @return: the daemon's resident memory, in bytes.
        """
        with open("/proc/%d/status" % (self.process.pid,)) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for %d" % (self.process.pid,))

    def openFiles(self):
        """
        @return: how many descriptors the daemon has open.
        """
        return len(os.listdir("/proc/%d/fd" % (self.process.pid,)))

    def fileLimits(self):
        """
        @return: the daemon's (soft, hard) limit on open files.
        """
        with open("/proc/%d/limits" % (self.process.pid,)) as f:
            for line in f:
                if line.startswith("Max open files"):
                    soft, hard = line.split()[3:5]
                    return int(soft), int(hard)
        raise AssertionError("no open-files limit for %d"
                             % (self.process.pid,))

    def connect(self, source="127.0.0.1", timeout=10):
        """
        @return: a socket connected to the daemon from C{source}.
        """
        return socket.create_connection(("127.0.0.1", self.port),
                                         timeout=timeout,
                                         source_address=(source, 0))

    def call(self, method, *params, source="127.0.0.1", timeout=10):
        """
        Call C{method} over TCP from C{source} on a new connection.

        @return: the result.
        @raise xmlrpc.client.Fault: for a fault.
        @raise OSError: if the connection is refused or closed unanswered.
        """
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout,
            source_address=(source, 0))
        try:
            connection.request("POST", "/RPC2",
                               body=xmlrpc.client.dumps(params, method),
                               headers={"Content-Type": "text/xml"})
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise OSError("HTTP %d: %r" % (response.status, body[:200]))
        return xmlrpc.client.loads(body)[0][0]

    def helperCall(self, method, *params):
        """
        Call C{method} as vshelper, with its secret, over the Unix socket.
        """
        path = HelperSocket(self.datadir, None, None, None)
        with open(path.secretFile) as f:
            secret = f.read().strip()
        proxy = xmlrpc.client.ServerProxy(
            "http://localhost/RPC2", transport=UnixTransport(path.path),
            allow_none=True)
        with proxy:
            return getattr(proxy, method)(
                {"username": HELPER_USER, "password": secret}, *params)
