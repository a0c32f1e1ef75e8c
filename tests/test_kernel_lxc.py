"""
Tests for L{vcd.kernel.lxc} against a real busybox container.

Needs root, liblxc with the compiled binding (Debian lxc, lxc-dev), the LXC
tools (lxc) and busybox-static. A missing component fails the test, saying
what to install.
"""

import contextlib
import io
import os
import secrets
import shutil
import subprocess
import sys
import time

from twisted.internet import reactor, task
from twisted.internet.defer import inlineCallbacks
from twisted.python import log
from twisted.python.threadpool import ThreadPool
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from tests.harness import searchableTemp
from vcd.kernel.idmap import RootSpec, lxcRootfs
from vcd.kernel.errors import AlreadyRunning, KernelError, RootMissing
from vcd.kernel.interfaces import IVPSKernel
from vcd.kernel.worker.client import KernelWorker
from vcd.vps.rootfs import createRoot
from vcd.scripts import vtemplate
from vcd.vps.templates import TemplateStore


def lxcConfig(name, rootfs):
    """
    The smallest LXC configuration that starts a busybox VPS on the build
    host (privileged): no distribution common.conf (its lxcfs hooks slow
    every stop), no network, never auto-started.
    """
    return "".join("%s = %s\n" % item for item in (
        ("lxc.uts.name", name),
        ("lxc.rootfs.path", rootfs),
        ("lxc.init.cmd", "/sbin/init"),
        ("lxc.net.0.type", "empty"),
        ("lxc.start.auto", "0"),
    ))


class LXCKernelTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the LXC kernel tests need root")
        missing = [tool for tool in ("lxc-start", "lxc-stop", "lxc-attach")
                   if shutil.which(tool) is None]
        if missing:
            self.fail("%s missing: install the Debian package lxc"
                      % " ".join(missing))
        try:
            from vcd.kernel import lxc
        except ImportError as e:
            self.fail(str(e))
        self.lxc = lxc
        self.pool = ThreadPool(minthreads=1, maxthreads=2, name="vcd-test")
        self.pool.start()
        self.addCleanup(self.pool.stop)
        self.work = searchableTemp(self)
        self.lxcpath = os.path.join(self.work, "lxc")
        os.makedirs(self.lxcpath)
        # Spawned at its first command only.
        self.worker = KernelWorker(reactor)
        self.addCleanup(self.worker.stop)
        self.kernel = lxc.LXCKernel(self.lxcpath, self.pool, reactor,
                                    worker=self.worker)

    def tool(self, *argv):
        """
        Run an LXC tool on the test's lxcpath, logging how long it took.
        """
        command = [argv[0], "-P", self.lxcpath] + list(argv[1:])
        started = time.monotonic()
        result = subprocess.run(command, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        log.msg("%s took %.3f s" % (" ".join(command),
                                    time.monotonic() - started))
        if result.returncode != 0:
            self.fail("%s failed (exit %d): %s" % (
                " ".join(command), result.returncode, result.stderr))
        return result.stdout

    @inlineCallbacks
    def waitRunning(self, name, expected):
        deadline = time.monotonic() + 10
        while True:
            running = yield self.kernel.isRunning(name)
            if running == expected or time.monotonic() > deadline:
                break
            yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(running, expected)

    def makeContainer(self):
        templatedir = os.path.join(self.work, "templates")
        with contextlib.redirect_stdout(io.StringIO()):
            status = vtemplate.main(["--templatedir", templatedir, "build",
                                     "busybox", "bb"])
        if status != 0:
            self.fail("vtemplate could not build the busybox template: "
                      "install the Debian package busybox-static")
        template = TemplateStore(templatedir).get("bb")
        name = "vcdtest-" + secrets.token_hex(4)
        layout = createRoot(template, os.path.join(self.work, "vservers",
                                                   name),
                            False, os.path.join(self.work, "data"))
        os.mkdir(os.path.join(self.lxcpath, name))
        with open(os.path.join(self.lxcpath, name, "config"), "w") as f:
            f.write(lxcConfig(name, layout.lxcRootfsPath()))
        return name, layout

    def test_interface(self):
        self.assertTrue(verifyObject(IVPSKernel, self.kernel))
        self.assertTrue(self.lxc.liblxcVersion().split(".")[0].isdigit())

    def test_missingBinding(self):
        """
        Without the compiled binding, importing the kernel layer says what
        to install.
        """
        result = subprocess.run(
            [sys.executable, "-c",
             "import sys; sys.modules['vcd.kernel._lxc'] = None\n"
             "import vcd.kernel.lxc"],
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ImportError", result.stderr)
        self.assertIn("lxc-dev", result.stderr)
        self.assertIn("reinstall", result.stderr)

    @inlineCallbacks
    def test_unknown(self):
        running = yield self.kernel.isRunning("no-such-vps")
        self.assertIs(running, False)
        self.assertEqual(self.lxc.containerState(self.lxcpath, "no-such-vps"),
                         "STOPPED")

    @inlineCallbacks
    def test_startAndStop(self):
        name, layout = self.makeContainer()
        running = yield self.kernel.isRunning(name)
        self.assertIs(running, False)
        self.tool("lxc-start", "-n", name, "-d")
        self.addCleanup(subprocess.run,
                        ["lxc-stop", "-P", self.lxcpath, "-n", name, "-k"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield self.waitRunning(name, True)
        self.assertEqual(self.lxc.containerState(self.lxcpath, name),
                         "RUNNING")
        # The VPS runs busybox init as pid 1 with its own host name, and its
        # writes land in its upper layer only.
        out = self.tool("lxc-attach", "-n", name, "--",
                        "/bin/sh", "-c",
                        "hostname; cat /proc/1/comm; echo hi > /root/f")
        self.assertEqual(out.split(), [name, "init"])
        self.assertTrue(os.path.exists(os.path.join(layout.upper, "root/f")))
        self.assertFalse(os.path.exists(os.path.join(layout.lower, "root/f")))
        self.tool("lxc-stop", "-n", name, "-k")
        yield self.waitRunning(name, False)
        self.assertEqual(self.lxc.containerState(self.lxcpath, name),
                         "STOPPED")

    @inlineCallbacks
    def assertFails(self, exceptionType, d):
        try:
            yield d
        except Exception as e:
            self.assertIs(type(e), exceptionType)
            return e
        self.fail("no %s" % (exceptionType.__name__,))

    @inlineCallbacks
    def test_workerStartAndExec(self):
        """
        Start and exec through the kernel worker: the init's pid, typed
        errors, and output larger than one AMP value, whole or cut at the
        cap.
        """
        name, layout = self.makeContainer()
        root = RootSpec("overlay", [layout.lower, layout.upper, layout.work])
        config = lxcConfig(name, lxcRootfs(root, self.lxcpath, name))
        missing = os.path.join(self.work, "gone")
        e = yield self.assertFails(RootMissing, self.kernel.start(
            name, config, RootSpec("overlay", [missing] + root.paths[1:])))
        self.assertEqual(str(e), missing)
        pid = yield self.kernel.start(name, config, root)
        self.addCleanup(subprocess.run,
                        ["lxc-stop", "-P", self.lxcpath, "-n", name, "-k"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertGreater(pid, 1)
        self.assertEqual(self.lxc.initPid(self.lxcpath, name), pid)
        yield self.assertFails(AlreadyRunning, self.kernel.start(
            name, config, root))

        line = "0123456789abcde\n"
        expected = (line * (300000 // len(line) + 1))[:300000]
        command = ["sh", "-c", "yes 0123456789abcde | head -c 300000"]
        env = ["PATH=/bin:/sbin:/usr/bin"]
        result = yield self.kernel.execute(name, command, 10, 1 << 20, env)
        self.assertEqual(result, {"status": 0, "output": expected,
                                  "truncated": False, "timedOut": False,
                                  "notFound": False})
        result = yield self.kernel.execute(name, command, 10, 70000, env)
        self.assertEqual(result["output"], expected[:70000])
        self.assertIs(result["truncated"], True)
        result = yield self.kernel.execute(
            name, ["sh", "-c", "printf 'a\\377b'; exit 3"], 10, 100, env)
        self.assertEqual((result["status"], result["output"]),
                         (3, "a\ufffdb"))
        result = yield self.kernel.execute(name, ["nosuch"], 10, 100, env)
        self.assertEqual((result["status"], result["notFound"]), (127, True))

        stopped = yield self.kernel.hardStop(name)
        self.assertIs(stopped, True)
        e = yield self.assertFails(KernelError, self.kernel.execute(
            name, ["true"], 10, 100, env))
        self.assertEqual(str(e), "%s is not running" % (name,))
