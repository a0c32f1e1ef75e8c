"""
A Debian 12 template built by C{vtemplate build debian} boots in a VPS:
systemd reaches C{running}, the VPS has the name VXDB gives it and an
identity of its own (machine id, SSH host keys), a TCP service inside it
answers on its address, and C{vcc login} gives a shell on a terminal.

Needs root, the LXC tools (Debian package lxc), debootstrap (Debian package
debootstrap) and the Debian mirror of this machine. The template is built
once per test run; the packages debootstrap downloads are kept in
L{PACKAGE_CACHE} (C{$VCD_TEST_CACHE}, by default
C{/var/cache/vcd-tests/debootstrap}), so only the first run on a machine
downloads them.
"""

import contextlib
import hashlib
import io
import os
import re
import shlex
import shutil
import socket
import sys
import tarfile
import time

from twisted.internet import defer, protocol, reactor, threads

from tests.harness import ADMIN_PASSWORD, DaemonTestCase, Fault
from tests.running import RunningHelpers, pause, testAddress
from vcd.scripts import vtemplate
from vcd.vps import debianbuild
from vcd.vps.templates import TemplateStore

PACKAGE_CACHE = os.environ.get("VCD_TEST_CACHE",
                               "/var/cache/vcd-tests/debootstrap")
TEMPLATE = "debian"
#: How long systemd may take to boot (on a busy two-CPU host).
BOOT_TIMEOUT = 120
_BUILT = {}


def runVtemplate(*argv):
    """
    Run vtemplate; fire with (exit status, stdout, stderr).
    """
    def run():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = vtemplate.main(list(argv))
        return status, out.getvalue(), err.getvalue()
    return threads.deferToThread(run)


@defer.inlineCallbacks
def debianTemplate(testCase, templatedir):
    """
    Put the Debian template into C{templatedir}, building it with
    C{vtemplate build debian} the first time in this test run (its
    packages come from L{PACKAGE_CACHE}, downloaded only if missing).
    """
    if "dir" not in _BUILT:
        if shutil.which("debootstrap") is None:
            testCase.fail("debootstrap is missing: apt-get install debootstrap")
        source = os.path.abspath("_debian_template")
        started = time.monotonic()
        status, out, err = yield runVtemplate(
            "--templatedir", source, "build", "debian", TEMPLATE,
            "--cache-dir", PACKAGE_CACHE, "--force")
        if status != 0:
            testCase.fail("vtemplate build debian failed (%s): %s"
                          % (status, err))
        _BUILT["dir"] = source
        _BUILT["seconds"] = time.monotonic() - started
    os.makedirs(templatedir, exist_ok=True)
    for entry in os.listdir(_BUILT["dir"]):
        shutil.copy2(os.path.join(_BUILT["dir"], entry),
                     os.path.join(templatedir, entry))


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DebianTemplateTests(DaemonTestCase):
    """
    What C{vtemplate build debian} writes: a template that says what it is,
    holds nothing of the build host, and is the same when built again from
    the same packages.
    """

    timeout = 900

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        yield debianTemplate(self, self.config.templatedir)
        self.template = TemplateStore(self.config.templatedir).get(TEMPLATE)

    def members(self):
        with tarfile.open(self.template.cachePath) as archive:
            return {m.name.lstrip("./"): (m, archive.extractfile(m).read()
                                          if m.isfile() else None)
                    for m in archive}

    def test_saysWhatItIs(self):
        """
        The configuration names the distribution, its release and the date
        of the packages (their suite's Release file, which the tarball's
        newest file matches), and gives systemd what it needs to boot.
        """
        t = self.template
        self.assertEqual((t.distribution, t.release), ("debian", "12"))
        self.assertIn("Debian 12", t.description)
        self.assertRegex(t.date, r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
        members = self.members()
        newest = max(m.mtime for m, _ in members.values())
        self.assertEqual(debianbuild.isoDate(newest), t.date)
        release = members["etc/debian_version"][1].decode()
        self.assertTrue(release.startswith("12."), release)
        self.assertEqual(t.init, "/sbin/init")
        self.assertLessEqual({"SYS_ADMIN", "SETPCAP"}, t.bcaps)

    def test_noBuildHostIdentity(self):
        """
        No host name, machine id, SSH host key or resolver configuration
        of the build host is in the template.
        """
        members = self.members()
        self.assertEqual(members["etc/hostname"][1], b"")
        self.assertEqual(members["etc/machine-id"][1], b"")
        self.assertEqual(members["var/lib/dbus/machine-id"][0].linkname,
                         "/etc/machine-id")
        self.assertEqual([n for n in members
                          if n.startswith("etc/ssh/ssh_host_")], [])
        self.assertIn("etc/ssh/sshd_config", members)
        resolv = members["etc/resolv.conf"][1]
        with open("/etc/resolv.conf", "rb") as f:
            self.assertNotEqual(resolv, f.read())
        self.assertNotRegex(resolv.decode(), r"(?m)^\s*nameserver")
        hostname = socket.gethostname().encode()
        for path in ("etc/hosts", "etc/hostname", "etc/mailname"):
            if path in members:
                self.assertNotIn(hostname, members[path][1] or b"", path)
        for name in members:
            self.assertFalse(name.startswith("var/log/") and
                             members[name][0].isfile() and
                             members[name][1], "log %s is not empty" % name)

    @defer.inlineCallbacks
    def test_reproducible(self):
        """
        Built again from the same packages, the template is the same, byte
        for byte.
        """
        again = os.path.abspath(self.mktemp())
        status, out, err = yield runVtemplate(
            "--templatedir", again, "build", "debian", TEMPLATE,
            "--cache-dir", PACKAGE_CACHE)
        self.assertEqual(status, 0, err)
        self.assertEqual(sha256(os.path.join(again, TEMPLATE + ".tar.gz")),
                         sha256(self.template.cachePath))
        with open(os.path.join(again, TEMPLATE + ".conf")) as f:
            self.assertEqual(f.read(), self.template.toConfig())


class DebianBootTests(RunningHelpers, DaemonTestCase):
    """
    A VPS from the Debian template boots systemd to C{running}.
    """

    timeout = 900

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        yield debianTemplate(self, self.config.templatedir)

    @defer.inlineCallbacks
    def bootDebian(self, address=None):
        """
        Create a VPS from the Debian template (with C{address}), start it
        and wait until systemd says the boot is over.

        @return: a Deferred firing with (name, systemd's state, the failed
            units).
        """
        name = self.vpsName()
        yield self.admin.call("vx.create", name=name, template=TEMPLATE)
        if address is not None:
            yield self.admin.call("vxdb.nx.addr.set", name=name, addr=address,
                                  netmask="255.255.255.0")
        yield self.admin.call("vx.start", name=name)
        state = yield self.waitSystemd(name)
        failed = yield self.execIn(
            name, "systemctl --failed --plain --no-legend --no-pager")
        return name, state, failed

    @defer.inlineCallbacks
    def waitSystemd(self, name):
        """
        Poll C{systemctl is-system-running --wait} inside VPS C{name} until
        systemd answers (early on, its socket does not exist yet).

        @return: a Deferred firing with its answer (C{running},
            C{degraded}, ...).
        """
        deadline = time.monotonic() + BOOT_TIMEOUT
        command = "sh -c 'systemctl is-system-running --wait 2>&1; :'"
        while True:
            try:
                output = yield self.execIn(name, command)
            except Fault as f:
                output = f.message
            state = output.strip().splitlines()[-1:] or [""]
            # Not "offline": systemctl says so when it cannot reach systemd.
            if state[0] in ("running", "degraded", "maintenance"):
                return state[0]
            if time.monotonic() > deadline:
                log = self.consoleLog(name)
                self.fail("%s: systemd did not finish booting within %d s;"
                          " last answer %r; console:\n%s"
                          % (name, BOOT_TIMEOUT, output, log))
            yield pause(0.2)

    def consoleLog(self, name):
        path = os.path.join(self.config.lxcpath, name, "console.log")
        try:
            with open(path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError as e:
            return "(no console log: %s)" % (e,)

    @defer.inlineCallbacks
    def test_bootsRunningWithOwnIdentity(self):
        """
        systemd reaches C{running} (no failed unit); the host name is the
        VPS's name; the machine id is new (neither the template's, which is
        empty, nor the host's) and differs between two VPSes from the same
        template, as do their SSH host keys.
        """
        name, state, failed = yield self.bootDebian()
        self.assertEqual((state, failed), ("running", ""),
                         self.consoleLog(name))
        self.assertEqual((yield self.execIn(name, "hostname")), name + "\n")
        hostnamectl = yield self.execIn(name, "hostnamectl hostname")
        self.assertEqual(hostnamectl, name + "\n")
        machineId = (yield self.execIn(name, "cat /etc/machine-id")).strip()
        self.assertRegex(machineId, r"\A[0-9a-f]{32}\Z")
        with open("/etc/machine-id") as f:
            self.assertNotEqual(machineId, f.read().strip())
        key = yield self.execIn(name, "cat /etc/ssh/ssh_host_ed25519_key.pub")

        other, state, failed = yield self.bootDebian()
        self.assertEqual((state, failed), ("running", ""))
        self.assertNotEqual(
            (yield self.execIn(other, "cat /etc/machine-id")).strip(),
            machineId)
        self.assertNotEqual(
            (yield self.execIn(other, "cat /etc/ssh/ssh_host_ed25519_key.pub")),
            key)

    @defer.inlineCallbacks
    def test_rebootAndStop(self):
        """
        vx.reboot (the template's C{/sbin/reboot}) brings systemd up again
        in a new init, named by the NODENAME VXDB holds by then; vx.stop
        (C{/sbin/poweroff}) stops the VPS without the daemon having to
        stop it hard.
        """
        texts = self.captureLog()
        name, state, failed = yield self.bootDebian()
        status = yield self.status(name)
        nodename = "node-" + os.urandom(4).hex()
        yield self.admin.call("vxdb.vx.uname.set", name=name,
                              uname="NODENAME", value=nodename)
        yield self.admin.call("vx.reboot", name=name)
        yield self.waitRestarted(name, status["initpid"], timeout=60)
        self.assertEqual((yield self.waitSystemd(name)), "running")
        self.assertEqual((yield self.execIn(name, "hostname")),
                         nodename + "\n")
        yield self.admin.call("vx.stop", name=name)
        yield self.assertRunning(name, False)
        self.assertEqual([t for t in texts if "stopping it hard" in t], [])

    @defer.inlineCallbacks
    def test_unprivileged(self):
        """
        The Debian VPS runs in a user namespace of its own: root inside is
        not root on the host.
        """
        name, state, failed = yield self.bootDebian()
        uidMap = (yield self.execIn(name, "cat /proc/self/uid_map")).split()
        self.assertEqual(len(uidMap), 3, uidMap)
        self.assertEqual(uidMap[0], "0")
        self.assertNotEqual(uidMap[1], "0", "root inside is root outside")
        self.assertLessEqual(int(uidMap[2]), 65536)

    @defer.inlineCallbacks
    def test_tcpServiceAnswers(self):
        """
        A TCP service inside the VPS answers the host on the VPS's address:
        sshd (started by systemd) and a socket-activated echo service added
        as systemd units.
        """
        address = testAddress()
        name, state, failed = yield self.bootDebian(address)
        banner = yield threads.deferToThread(self.exchange, address, 22, b"")
        self.assertTrue(banner.startswith(b"SSH-2.0-OpenSSH"), banner)
        units = (
            ("/etc/systemd/system/vcdecho.socket",
             ["[Socket]", "ListenStream=7777", "Accept=yes"]),
            ("/etc/systemd/system/vcdecho@.service",
             ["[Service]", "ExecStart=/bin/cat", "StandardInput=socket"]),
        )
        for path, lines in units:
            script = "; ".join("echo %s >> %s" % (shlex.quote(line), path)
                               for line in lines)
            yield self.execIn(name, "sh -c " + shlex.quote(script))
        yield self.execIn(name, "systemctl daemon-reload")
        yield self.execIn(name, "systemctl start vcdecho.socket")
        token = os.urandom(8).hex().encode()
        echoed = yield threads.deferToThread(self.exchange, address, 7777,
                                             token + b"\n")
        self.assertEqual(echoed, token + b"\n")

    def exchange(self, address, port, data):
        """
        Connect to C{address}:C{port}, send C{data}, and return the first
        line received.
        """
        with socket.create_connection((address, port), timeout=10) as s:
            s.sendall(data)
            received = b""
            while b"\n" not in received:
                chunk = s.recv(4096)
                if not chunk:
                    break
                received += chunk
        return received

    @defer.inlineCallbacks
    def test_loginHasTerminal(self):
        """
        C{vcc login} opens a login shell in the VPS on a terminal of its
        own (a pseudo-terminal of the VPS's devpts).
        """
        name, state, failed = yield self.bootDebian()
        output = yield self.login(
            name, b"tty; hostname; echo done-$((6*7))\nexit\n")
        self.assertIn("done-42", output)
        self.assertRegex(output, r"(?m)^/dev/pts/\d+\r*$")
        self.assertRegex(output, r"(?m)^%s\r*$" % (re.escape(name),))

    def login(self, name, typed, timeout=60):
        """
        Run C{vcc login NAME} on a pseudo-terminal, type C{typed}, and fire
        with everything it wrote once it exits.
        """
        done = defer.Deferred()
        received = []

        class Terminal(protocol.ProcessProtocol):
            # Type only once the shell prompts: lxc-attach flushes what
            # was typed before it set up its terminal.
            typing = [typed]

            def childDataReceived(self, fd, data):
                received.append(data)
                if self.typing and b"".join(received).rstrip().endswith(
                        (b"#", b"$")):
                    self.transport.write(self.typing.pop())

            def processEnded(self, reason):
                done.callback(b"".join(received).decode("utf-8", "replace"))

        environment = dict(os.environ, VCC_PASSWORD=ADMIN_PASSWORD,
                           TERM="dumb")
        process = reactor.spawnProcess(
            Terminal(), sys.executable,
            [sys.executable, "-m", "vcd.scripts.vcc", "-H", "127.0.0.1",
             "-p", str(self.port.getHost().port), "login", name],
            env=environment, usePTY=True)
        timer = reactor.callLater(timeout, process.signalProcess, "KILL")
        done.addBoth(lambda r: (timer.active() and timer.cancel(), r)[1])
        return done
