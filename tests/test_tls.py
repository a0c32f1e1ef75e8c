"""
TLS: the daemon's C{ssl:} listeners (the certificate and key from the
configuration, checked before start-up), the clients over C{https://}
(verification against a CA file, the host name, a pinned fingerprint),
and that the package installs what TLS needs.

Certificates are made with the openssl command, as the README does; the
fingerprints the tests pin are the ones openssl prints, not computed by
the code under test.
"""

import configparser
import io
import os
import shutil
import socket
import subprocess
import time
import xmlrpc.client

from twisted.internet import defer, endpoints, reactor, threads
from twisted.python import usage
from twisted.trial import unittest

from tests.harness import ADMIN_PASSWORD, DaemonTestCase
from vcd.config import Configuration, ConfigurationError
from vcd.scripts import vcc, vce
from vcd.tap import Options
from vcd.tls import checkListeners, completeListener

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _openssl(*argv):
    if shutil.which("openssl") is None:
        raise AssertionError("the openssl command is missing: apt-get"
                             " install openssl")
    result = subprocess.run(("openssl",) + argv, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise AssertionError("openssl %s failed: %s"
                             % (" ".join(argv), result.stderr))
    return result.stdout


def makeCA(directory, name):
    """
    A self-signed CA: C{<name>.key}, C{<name>.pem}.
    """
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".pem")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", cert, "-days", "2", "-subj", "/CN=%s" % (name,),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def makeServerCertificate(directory, caCert, caKey, san="IP:127.0.0.1"):
    """
    A server certificate for C{san} signed by the CA: C{server.key},
    C{server.pem}.
    """
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.pem")
    extensions = os.path.join(directory, "server.ext")
    with open(extensions, "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % (san,))
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", csr, "-subj", "/CN=vcd test")
    _openssl("x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey,
             "-CAcreateserial", "-out", cert, "-days", "2", "-extfile",
             extensions)
    return cert, key


def fingerprint(cert):
    """
    What C{openssl x509 -fingerprint -sha256} prints for C{cert}.
    """
    return _openssl("x509", "-in", cert, "-noout", "-fingerprint",
                    "-sha256").strip()


class TLSDependencyTests(unittest.TestCase):
    """
    The package asks for what C{ssl:} endpoints need, and the venv the
    daemon runs from has it.
    """

    def test_installRequires(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(HERE, "setup.cfg"))
        requires = parser["options"]["install_requires"].split()
        self.assertTrue(any(r.startswith("Twisted[tls]") for r in requires),
                        requires)

    def test_venvHasOpenSSL(self):
        python = os.path.join(os.environ.get("VCD_VENV", "/opt/vcd"), "bin",
                              "python")
        result = subprocess.run(
            [python, "-c", "import OpenSSL, service_identity"],
            capture_output=True, text=True)
        self.assertEqual(
            result.returncode, 0, "%s cannot import pyOpenSSL and"
            " service_identity: run ./vcd-setup install (setup.cfg asks for"
            " Twisted[tls]) or pip install 'Twisted[tls]' there: %s"
            % (python, result.stderr))


class ListenerConfigurationTests(unittest.TestCase):
    """
    C{ssl:} listeners take the certificate and key of the configuration.
    """

    def test_completed(self):
        self.assertEqual(
            completeListener("ssl:13387:interface=0.0.0.0", "/etc/c.pem",
                             "/etc/k.pem"),
            "ssl:13387:interface=0.0.0.0:privateKey=/etc/k.pem:"
            "certKey=/etc/c.pem")
        # One PEM with both.
        self.assertEqual(completeListener("ssl:1", "/a:b.pem", None),
                         "ssl:1:privateKey=/a\\:b.pem:certKey=/a\\:b.pem")
        # Its own key wins; other endpoints are left alone.
        own = "ssl:1:privateKey=/x.pem"
        self.assertEqual(completeListener(own, "/c", "/k"), own)
        self.assertEqual(completeListener("tcp:1", "/c", "/k"), "tcp:1")

    def test_noCertificate(self):
        error = self.assertRaises(ConfigurationError, Configuration,
                                  listen=["ssl:13387"])
        self.assertIn("tlscert", str(error))

    def test_configFileKeys(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        ca, caKey = makeCA(directory, "ca")
        cert, key = makeServerCertificate(directory, ca, caKey)
        path = os.path.join(directory, "vcd.conf")
        with open(path, "w") as f:
            f.write("[vcd]\nlisten = ssl:0:interface=127.0.0.1\n"
                    "tlscert = %s\ntlskey = %s\n" % (cert, key))
        options = Options()
        options.parseOptions(["--config", path])
        self.assertEqual(options.configuration.listen, [
            "ssl:0:interface=127.0.0.1:privateKey=%s:certKey=%s"
            % (key, cert)])

    def test_badFilesRefusedBeforeStart(self):
        """
        A missing key, a key that is not one, or the key of another
        certificate is a usage error naming the listener (not a traceback
        when the daemon starts).
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        config = os.path.join(directory, "vcd.conf")
        with open(config, "w") as f:
            f.write("[vcd]\n")
        notAKey = os.path.join(directory, "garbage.pem")
        with open(notAKey, "w") as f:
            f.write("not a key\n")
        cert, _ = makeCA(directory, "one")
        _, otherKey = makeCA(directory, "two")
        for cert, key in (("/nonexistent/c.pem", "/nonexistent/k.pem"),
                          (notAKey, notAKey), (cert, otherKey)):
            error = self.assertRaises(
                usage.UsageError, Options().parseOptions,
                ["--config", config, "--listen", "ssl:0", "--tls-cert", cert,
                 "--tls-key", key])
            self.assertIn("listener 'ssl:0:privateKey=", str(error))


class HTTPSClientTests(DaemonTestCase):
    """
    The daemon on an C{ssl:} listener made from the configuration, and the
    clients calling it over C{https://}.
    """

    def setUp(self):
        d = DaemonTestCase.setUp(self)
        directory = os.path.join(self.base, "pki")
        os.makedirs(directory)
        self.ca, caKey = makeCA(directory, "ca")
        self.otherCA, _ = makeCA(directory, "other")
        self.cert, key = makeServerCertificate(directory, self.ca, caKey)
        listen = Configuration(listen=["ssl:0:interface=127.0.0.1"],
                               tlsCertificate=self.cert,
                               tlsKey=key).listen[0]
        checkListeners(reactor, [listen])  # says what to install
        endpoint = endpoints.serverFromString(reactor, listen)

        def listening(port):
            self.tlsPort = port
            self.addCleanup(port.stopListening)
        return d.addCallback(lambda _: endpoint.listen(self.daemon.site)
                             ).addCallback(listening)

    def run_(self, tool, host, *argv):
        def run():
            out, err = io.StringIO(), io.StringIO()
            code = tool.main(["-H", host, "-p",
                              str(self.tlsPort.getHost().port)] + list(argv),
                             stdout=out, stderr=err, stdin=io.StringIO(),
                             environ={"VCC_PASSWORD": ADMIN_PASSWORD})
            return code, out.getvalue(), err.getvalue()
        return threads.deferToThread(run)

    @defer.inlineCallbacks
    def test_verifiedByCA(self):
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--cafile",
                                         self.ca, "templates")
        self.assertEqual((code, err), (0, ""))
        self.assertIn("busybox", out)
        code, out, err = yield self.run_(vce, "127.0.0.1", "--cafile",
                                         self.ca, "list")
        self.assertEqual((code, err), (0, ""))

    @defer.inlineCallbacks
    def test_wrongCA(self):
        requests = self.daemon.parts.counters.requests
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--cafile",
                                         self.otherCA, "list")
        self.assertEqual(code, 2)
        self.assertIn("CERTIFICATE_VERIFY_FAILED", err)
        self.assertEqual(self.daemon.parts.counters.requests, requests)
        # Without a CA file the system's CAs do not know the test CA.
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--tls", "list")
        self.assertEqual(code, 2)
        self.assertIn("CERTIFICATE_VERIFY_FAILED", err)

    @defer.inlineCallbacks
    def test_hostNameChecked(self):
        """
        The certificate names 127.0.0.1 only: calling it C{localhost}
        fails even with the right CA.
        """
        code, out, err = yield self.run_(vcc, "localhost", "--cafile",
                                         self.ca, "list")
        self.assertEqual(code, 2)
        self.assertIn("localhost", err)

    @defer.inlineCallbacks
    def test_pinned(self):
        """
        A pin alone trusts exactly that certificate, in openssl's notation
        or as bare hex; with a CA file both must pass; another pin fails.
        """
        printed = fingerprint(self.cert)
        bare = printed.split("=", 1)[1].replace(":", "").lower()
        for pin in (printed, bare):
            code, out, err = yield self.run_(vcc, "127.0.0.1", "--pin", pin,
                                             "templates")
            self.assertEqual((code, err), (0, ""))
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--pin", bare,
                                         "--cafile", self.ca, "templates")
        self.assertEqual((code, err), (0, ""))
        wrong = fingerprint(self.ca)
        requests = self.daemon.parts.counters.requests
        self.assertGreaterEqual(requests, 3)  # the calls above counted
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--pin", wrong,
                                         "list")
        self.assertEqual(code, 2)
        self.assertIn("not the pinned", err)
        # Refused before anything (the password) was sent.
        self.assertEqual(self.daemon.parts.counters.requests, requests)
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--pin", bare,
                                         "--cafile", self.otherCA, "list")
        self.assertEqual(code, 2)
        code, out, err = yield self.run_(vcc, "127.0.0.1", "--pin", "abc",
                                         "list")
        self.assertEqual(code, 2)
        self.assertIn("invalid certificate pin", err)

    @defer.inlineCallbacks
    def test_clientConfigFile(self):
        path = os.path.join(self.base, "vcc.conf")
        with open(path, "w") as f:
            f.write("[vcc]\ntls = yes\ncafile = %s\n" % (self.ca,))
        code, out, err = yield self.run_(vcc, "127.0.0.1", "-c", path,
                                         "templates")
        self.assertEqual((code, err), (0, ""))
        with open(path, "w") as f:
            f.write("[vcc]\npin = %s\n" % (fingerprint(self.ca),))
        code, out, err = yield self.run_(vcc, "127.0.0.1", "-c", path,
                                         "list")
        self.assertEqual(code, 2)
        self.assertIn("not the pinned", err)


class TwistdTLSTests(unittest.TestCase):
    """
    C{twistd vcd --listen ssl:...} from the venv the daemon runs from
    serves C{https://}.
    """

    timeout = 60

    def test_twistdServesHTTPS(self):
        if os.geteuid() != 0:
            self.fail("needs root")
        base = os.path.abspath(self.mktemp())
        os.makedirs(base)
        ca, caKey = makeCA(base, "ca")
        cert, key = makeServerCertificate(base, ca, caKey)
        venv = os.environ.get("VCD_VENV", "/opt/vcd")
        python = os.path.join(venv, "bin", "python")
        env = dict(os.environ, PYTHONPATH=HERE)
        subprocess.run([python, "-m", "vcd.scripts.vxpasswd",
                        os.path.join(base, "data", "vxdb"), "admin",
                        "tls-secret-1"], check=True, env=env, cwd=HERE,
                       capture_output=True)
        with open(os.path.join(base, "none.conf"), "w") as f:
            f.write("[vcd]\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        daemon = subprocess.Popen(
            [python, "-c", "from twisted.scripts.twistd import run; run()",
             "--pidfile=", "-n", "vcd",
             "--config", os.path.join(base, "none.conf"),
             "--datadir", os.path.join(base, "data"),
             "--vbasedir", os.path.join(base, "vservers"),
             "--listen", "ssl:%d:interface=127.0.0.1" % (port,),
             "--tls-cert", cert, "--tls-key", key],
            cwd=HERE, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.addCleanup(daemon.stdout.close)
        self.addCleanup(daemon.wait)
        self.addCleanup(daemon.terminate)
        deadline = time.monotonic() + 30
        while True:
            out, err = io.StringIO(), io.StringIO()
            code = vcc.main(["-H", "127.0.0.1", "-p", str(port), "--cafile",
                             ca, "list"], stdout=out, stderr=err,
                            stdin=io.StringIO(),
                            environ={"VCC_PASSWORD": "tls-secret-1"})
            if code == 0:
                break
            if daemon.poll() is not None or time.monotonic() > deadline:
                daemon.kill()
                self.fail("the daemon did not serve https (%s): %s\n%s" % (
                    daemon.poll(), err.getvalue(),
                    daemon.stdout.read().decode("utf-8", "replace")))
            time.sleep(0.1)
        # Plain HTTP on the TLS port gets no XML-RPC answer.
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2"
                                          % (port,))
        with proxy:
            self.assertRaises(Exception, proxy.system.listMethods)
