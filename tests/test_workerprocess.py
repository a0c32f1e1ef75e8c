"""
Tests for the kernel worker process (L{vcd.kernel.worker}) through its
client (L{vcd.kernel.worker.client}), without containers: errors arrive
typed over the real pipes (cut when too long), the domain name is set in
the target's UTS namespace only (through the cffi binding), the worker
holds no inheritable descriptor but its standard ones, it exits when its
input closes, and it stays small: no Twisted module in it, a resident size
under 20 MB (each fork liblxc does in it costs in proportion).

Needs root (setns) and util-linux (unshare, nsenter).
"""

import os
import shutil
import signal
import subprocess
import sys
import time

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from vcd.kernel.errors import KernelError, RootMissing
from vcd.kernel.worker.client import KernelWorker, WorkerFailed
from vcd.kernel.worker.ampcommands import Exec, SetDomainName, Start
from vcd.kernel.worker.boxes import MAX_ERROR_TEXT


def workerPids():
    """
    The pids of the kernel workers this process spawned.
    """
    pids = []
    for task_ in os.listdir("/proc/self/task"):
        with open("/proc/self/task/%s/children" % (task_,)) as f:
            for pid in f.read().split():
                try:
                    with open("/proc/%s/cmdline" % (pid,), "rb") as g:
                        if b"vcd.kernel.worker" in g.read():
                            pids.append(int(pid))
                except FileNotFoundError:
                    pass
    return pids


class WorkerProcessTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the kernel worker tests need root")
        self.worker = KernelWorker(reactor)
        self.addCleanup(self.worker.stop)

    @defer.inlineCallbacks
    def assertFails(self, exceptionType, d):
        try:
            yield d
        except Exception as e:
            self.assertIs(type(e), exceptionType)
            return e
        self.fail("no %s" % (exceptionType.__name__,))

    @defer.inlineCallbacks
    def test_typedErrors(self):
        """
        A start with a missing root fails with RootMissing naming it; an
        exec in a container that does not run with KernelError.
        """
        lxcpath = self.mktemp()
        os.makedirs(lxcpath)
        missing = os.path.abspath(self.mktemp())
        e = yield self.assertFails(RootMissing, self.worker.callRemote(
            Start, lxcpath=lxcpath, name="vcdtest-none", config="x\n",
            rootKind="copy", rootPaths=[missing], idBase=0, idCount=0,
            mountPoints=[], settle=0.001))
        self.assertEqual(str(e), missing)
        e = yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath=lxcpath, name="vcdtest-none", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        self.assertEqual(str(e), "vcdtest-none is not running")

    @defer.inlineCallbacks
    def test_setDomainName(self):
        """
        The domain name changes in the target's UTS namespace, not in the
        worker's (the host's).
        """
        for tool in ("unshare", "nsenter"):
            if shutil.which(tool) is None:
                self.fail("%s missing: install util-linux" % (tool,))
        with open("/proc/sys/kernel/domainname") as f:
            host = f.read()
        target = subprocess.Popen(["unshare", "--uts", "sleep", "60"])
        self.addCleanup(target.wait)
        self.addCleanup(target.kill)
        # unshare execs sleep once the namespace is its own.
        own = os.readlink("/proc/self/ns/uts")
        deadline = time.monotonic() + 10
        while os.readlink("/proc/%d/ns/uts" % (target.pid,)) == own:
            self.assertLess(time.monotonic(), deadline, "no UTS namespace")
            yield task.deferLater(reactor, 0.01, lambda: None)
        result = yield self.worker.callRemote(
            SetDomainName, initPid=target.pid, domainname="vcd-test.example")
        self.assertEqual(result, {})
        inside = subprocess.run(
            ["nsenter", "--uts", "--target", str(target.pid), "cat",
             "/proc/sys/kernel/domainname"],
            stdout=subprocess.PIPE, check=True, text=True).stdout
        self.assertEqual(inside, "vcd-test.example\n")
        with open("/proc/sys/kernel/domainname") as f:
            self.assertEqual(f.read(), host)

    @defer.inlineCallbacks
    def test_ownUtsNamespace(self):
        """
        The worker runs in a UTS namespace of its own, its domain name
        C{(none)} (each VPS's namespace starts as a copy of it); the
        daemon's (the host's) is untouched.
        """
        if shutil.which("nsenter") is None:
            self.fail("nsenter missing: install util-linux")
        with open("/proc/sys/kernel/domainname") as f:
            host = f.read()
        yield self.worker.callRemote(SetDomainName, initPid=2 ** 22 + 1,
                                     domainname="x").addErrback(lambda _: None)
        [pid] = workerPids()
        self.assertNotEqual(os.readlink("/proc/%d/ns/uts" % (pid,)),
                            os.readlink("/proc/self/ns/uts"))
        inside = subprocess.run(
            ["nsenter", "--uts", "--target", str(pid), "cat",
             "/proc/sys/kernel/domainname"],
            stdout=subprocess.PIPE, check=True, text=True).stdout
        self.assertEqual(inside, "(none)\n")
        with open("/proc/sys/kernel/domainname") as f:
            self.assertEqual(f.read(), host)

    @defer.inlineCallbacks
    def test_setDomainNameFails(self):
        """
        A failure in the forked child arrives as KernelError saying what.
        """
        e = yield self.assertFails(KernelError, self.worker.callRemote(
            SetDomainName, initPid=2 ** 22 + 1, domainname="x"))
        self.assertIn("FileNotFoundError", str(e))

    @defer.inlineCallbacks
    def test_descriptors(self):
        """
        Every descriptor of the worker's but 0, 1 and 2 is close-on-exec,
        so none reaches a command it attaches.
        """
        yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath="/nonexistent", name="x", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        [pid] = workerPids()
        fds = sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % (pid,)))
        self.assertEqual(fds[:3], [0, 1, 2])
        self.assertGreater(len(fds), 3, "no selector descriptor?")
        for fd in fds[3:]:
            with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
                flags = int(f.read().split("flags:")[1].split()[0], 8)
            self.assertTrue(flags & os.O_CLOEXEC, "fd %d inheritable" % fd)

    @defer.inlineCallbacks
    def test_exitsWhenInputCloses(self):
        """
        Stopping the client closes the worker's input; it exits by itself
        (not killed), and later commands fail with WorkerFailed.
        """
        yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath="/nonexistent", name="x", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        [pid] = workerPids()
        begun = time.monotonic()
        yield self.worker.stop(grace=30)
        # Killed, it would have taken the grace period.
        self.assertLess(time.monotonic() - begun, 30)
        self.assertEqual(workerPids(), [])
        yield self.assertFails(WorkerFailed, self.worker.callRemote(
            SetDomainName, initPid=1, domainname="x"))

    @defer.inlineCallbacks
    def test_respawned(self):
        """
        A worker that died fails what it was asked with WorkerFailed; the
        next command spawns a new one.
        """
        yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath="/nonexistent", name="x", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        [pid] = workerPids()
        os.kill(pid, signal.SIGSTOP)
        pending = self.worker.callRemote(SetDomainName, initPid=1,
                                         domainname="x")
        os.kill(pid, signal.SIGKILL)
        e = yield self.assertFails(WorkerFailed, pending)
        self.assertIn("the kernel worker died", str(e))
        deadline = time.monotonic() + 10
        while workerPids():
            self.assertLess(time.monotonic(), deadline, "worker left")
            yield task.deferLater(reactor, 0.01, lambda: None)
        e = yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath="/nonexistent", name="y", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        self.assertEqual(str(e), "y is not running")
        [newPid] = workerPids()
        self.assertNotEqual(newPid, pid)

    @defer.inlineCallbacks
    def test_hugeErrorCut(self):
        """
        An error message too long for an AMP value arrives cut at
        MAX_ERROR_TEXT characters, typed, and the worker goes on answering.
        """
        lxcpath = self.mktemp()
        os.makedirs(lxcpath)
        # 60,000 bytes: fits the argument, not the answer's limit.
        missing = "/" + "\u20ac" * 20000
        e = yield self.assertFails(RootMissing, self.worker.callRemote(
            Start, lxcpath=lxcpath, name="vcdtest-none", config="x\n",
            rootKind="copy", rootPaths=[missing], idBase=0, idCount=0,
            mountPoints=[], settle=0.001))
        self.assertEqual(str(e), missing[:MAX_ERROR_TEXT])
        e = yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath=lxcpath, name="vcdtest-none", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        self.assertEqual(str(e), "vcdtest-none is not running")

    @defer.inlineCallbacks
    def test_small(self):
        """
        The running worker runs this source tree, has loaded no Twisted
        extension module and its resident size is under 20 MB.
        """
        yield self.assertFails(KernelError, self.worker.callRemote(
            Exec, lxcpath="/nonexistent", name="x", argv=["true"],
            timeout=1.0, cap=10, env=[]))
        [pid] = workerPids()
        with open("/proc/%d/status" % (pid,)) as f:
            status = dict(line.split(":", 1) for line in f)
        rss = int(status["VmRSS"].split()[0])
        self.assertLess(rss, 20 * 1024, "worker RSS %d kB" % (rss,))
        # Its maps name every shared library it loaded: none of Twisted's
        # C extensions (zope.interface's either).
        with open("/proc/%d/maps" % (pid,)) as f:
            maps = f.read()
        # This source tree's binding: the client put this tree first on
        # the worker's path.
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.assertIn(os.path.join(root, "vcd", "kernel", "_lxc"), maps)
        self.assertNotIn("twisted", maps)
        self.assertNotIn("zope", maps)


class WorkerImportsTests(unittest.TestCase):
    """
    The worker's modules import no Twisted.
    """

    def test_noTwisted(self):
        """
        Everything the worker's entry point imports, the operations
        included, leaves no C{twisted} (nor C{zope}) module in
        C{sys.modules}.
        """
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        script = (
            "import sys\n"
            "import vcd.kernel.worker.__main__\n"
            "import vcd.kernel.worker.responder\n"
            "assert vcd.kernel.worker.responder.__file__.startswith(%r)\n"
            "print(' '.join(sorted(m for m in sys.modules\n"
            "      if m.split('.')[0] in ('twisted', 'zope'))))\n"
            % (root,))
        result = subprocess.run(
            [sys.executable, "-P", "-c", script], cwd="/",
            env=dict(os.environ, PYTHONPATH=root), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "\n")
