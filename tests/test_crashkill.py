"""
What a killed daemon leaves: the extraction it started dies with it, the
recovery kills what still writes into staging directories, never keeps the
daemon from starting (what it cannot clean is marked broken), and a VPS's
LXC directory goes with it on removal and follows it on rename.
"""

import os
import signal
import subprocess
import sys
import tarfile
import time

from twisted.internet import defer
from twisted.trial import unittest

from tests.harness import DaemonTestCase
from tests import test_crash_consistency
from tests.test_crash_consistency import _insertVps
from tests.test_vx_methods import VpsHelpers
from vcd.faults import MEEXIST
from vcd.vps.leftovers import killWriters
from vcd.vps.rootfs import STAGING_PREFIX

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: A tar that records its pid in the directory it was to extract into and
#: then never ends (as a big extraction would not, for a while).
FAKE_TAR = """\
#!/bin/sh
while [ $# -gt 0 ]; do
    if [ "$1" = --directory ]; then dir=$2; fi
    shift
done
cd "$dir" || exit 99
echo $$ >tar.pid.new && mv tar.pid.new tar.pid
exec sleep 120
"""

#: Extracts from a thread-pool-like thread, says so, then waits to be
#: killed.
EXTRACTING_CHILD = """\
import os, sys, threading, time
from vcd.vps.archive import extractCache
cache, dest = sys.argv[1:3]
threading.Thread(target=extractCache, args=(cache, dest), daemon=True).start()
deadline = time.monotonic() + 30
while not os.path.exists(os.path.join(dest, "tar.pid")):
    if time.monotonic() > deadline:
        sys.exit("the fake tar never started")
    time.sleep(0.01)
print("extracting", flush=True)
time.sleep(120)
"""


def _alive(pid):
    """
    Whether C{pid} runs (not gone, not a zombie), from /proc.
    """
    try:
        with open("/proc/%d/stat" % (pid,)) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _waitGone(pid, seconds):
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class ExtractionDiesWithDaemonTests(unittest.TestCase):
    """
    The tar of an extraction started from a thread dies when the process
    that started it is killed.
    """

    timeout = 60

    def test_killedWithParent(self):
        base = os.path.abspath(self.mktemp())
        bindir = os.path.join(base, "bin")
        dest = os.path.join(base, "dest")
        os.makedirs(bindir)
        os.makedirs(dest)
        with open(os.path.join(bindir, "tar"), "w") as f:
            f.write(FAKE_TAR)
        os.chmod(os.path.join(bindir, "tar"), 0o755)
        cache = os.path.join(base, "cache.tar")
        member = os.path.join(base, "hello")
        with open(member, "w") as f:
            f.write("hello\n")
        with tarfile.open(cache, "w") as archive:
            archive.add(member, "hello")
        env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
                   PYTHONPATH=HERE)
        child = subprocess.Popen(
            [sys.executable, "-c", EXTRACTING_CHILD, cache, dest], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE)
        self.addCleanup(child.stderr.close)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.wait)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        line = child.stdout.readline()
        if line != b"extracting\n":
            child.kill()
            self.fail("the extraction did not start: %r" % (
                child.stderr.read(),))
        with open(os.path.join(dest, "tar.pid")) as f:
            tarPid = int(f.read())
        self.addCleanup(lambda: _alive(tarPid) and os.kill(tarPid,
                                                           signal.SIGKILL))
        self.assertTrue(_alive(tarPid))
        child.kill()
        child.wait()
        self.assertTrue(_waitGone(tarPid, 10),
                        "the extraction's tar (pid %d) outlived the process"
                        " that started it" % (tarPid,))


class KillWritersTests(unittest.TestCase):
    """
    L{killWriters} kills what has its working directory or an open file
    beneath the paths, with its process group, and nothing else.
    """

    timeout = 30

    def spawn(self, argv, cwd):
        process = subprocess.Popen(argv, cwd=cwd, start_new_session=True,
                                   stdin=subprocess.DEVNULL)
        self.addCleanup(process.wait)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def test_kills(self):
        base = os.path.abspath(self.mktemp())
        staging = os.path.join(base, STAGING_PREFIX + "x")
        other = os.path.join(base, "other")
        for path in (os.path.join(staging, "deep"), other):
            os.makedirs(path)
        inside = self.spawn(["sleep", "60"], os.path.join(staging, "deep"))
        # A process group: the shell leads it, its sleep (cwd elsewhere)
        # goes with it.
        holder = self.spawn(
            ["sh", "-c", "exec 3>%s/file; sleep 60 3>&- & echo $! >"
             " child.new; mv child.new child.pid; wait" % (staging,)], other)
        bystander = self.spawn(["sleep", "60"], other)
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(other, "child.pid")):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        with open(os.path.join(other, "child.pid")) as f:
            grandchild = int(f.read())
        self.addCleanup(lambda: _alive(grandchild) and os.kill(
            grandchild, signal.SIGKILL))
        killed = killWriters([staging])
        self.assertEqual(sorted(killed), sorted([inside.pid, holder.pid]))
        for process in (inside, holder):
            self.assertEqual(process.wait(timeout=10), -signal.SIGKILL)
        self.assertTrue(_waitGone(grandchild, 10))
        self.assertIsNone(bystander.poll())
        self.assertEqual(killWriters([staging]), [])


class RecoveryNeverStopsStartTests(VpsHelpers, DaemonTestCase):
    """
    A simulated crash (the state made by hand with the daemon stopped):
    what still writes is killed; what cannot be cleaned is logged and
    marked broken, and the daemon starts.
    """

    writeRows = test_crash_consistency.RecoveryTests.writeRows

    def mountTmpfs(self, path):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "vcdtest",
                        path], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", path])
        with open(os.path.join(path, "file"), "w") as f:
            f.write("busy\n")

    @defer.inlineCallbacks
    def test_writerKilled(self):
        """
        A tar left writing into the staging directory of a VPS left
        C{creating} is killed, then the VPS discarded.
        """
        yield self.stopDaemon()
        vdir = self.defaultVdir("racer")
        staging = os.path.join(self.config.vbasedir, STAGING_PREFIX + "racer")
        os.makedirs(os.path.join(staging, "rootfs"))
        writer = subprocess.Popen(
            ["sh", "-c", "while :; do echo x >>data; sleep 0.01; done"],
            cwd=os.path.join(staging, "rootfs"), start_new_session=True)
        self.addCleanup(writer.wait)
        self.addCleanup(lambda: writer.poll() is None and writer.kill())
        self.writeRows(_insertVps, 800, "racer", "creating", vdir)
        yield self.startDaemon()
        self.assertEqual(writer.wait(timeout=10), -signal.SIGKILL)
        yield self.assertGone("racer", 800, vdir)
        self.assertEqual(os.listdir(self.config.vbasedir), [])

    @defer.inlineCallbacks
    def test_uncleanableMarkedBroken(self):
        """
        A VPS left C{creating} whose directory holds a mount cannot be
        discarded: the daemon starts anyway, the VPS is C{broken} (so
        vx.status says), and vx.remove removes it once it is unmounted.
        """
        yield self.stopDaemon()
        vdir = self.defaultVdir("stuck")
        self.mountTmpfs(os.path.join(vdir, "upper"))
        self.writeRows(_insertVps, 900, "stuck", "creating", vdir)
        yield self.startDaemon()
        status = yield self.admin.call("vx.status", name="stuck")
        self.assertEqual(status["rootstate"], "broken")
        self.assertFalse(status["running"])
        yield self.assertFault(MEEXIST, self.admin.call("vx.remove",
                                                        name="stuck"))
        subprocess.run(["umount", os.path.join(vdir, "upper")], check=True)
        yield self.admin.call("vx.remove", name="stuck")
        yield self.assertGone("stuck", 900, vdir)

    @defer.inlineCallbacks
    def test_uncleanableLeftoverLogged(self):
        """
        A staging leftover that cannot be removed (a mount inside) does
        not keep the daemon from starting; the others are swept.
        """
        yield self.makeVps("bystander")
        yield self.stopDaemon()
        stuck = os.path.join(self.config.vbasedir, STAGING_PREFIX + "ghost")
        self.mountTmpfs(os.path.join(stuck, "mnt"))
        swept = os.path.join(self.config.vbasedir, STAGING_PREFIX + "zz")
        os.makedirs(os.path.join(swept, "etc"))
        yield self.startDaemon()
        self.assertEqual((yield self.admin.call("vxdb.list")), ["bystander"])
        self.assertFalse(os.path.lexists(swept))
        self.assertTrue(os.path.isdir(stuck))


class LxcDirectoryTests(VpsHelpers, DaemonTestCase):
    """
    A VPS's LXC directory (C{<datadir>/lxc/<name>}) goes with it.
    """

    def lxcDir(self, name):
        return os.path.join(self.config.lxcpath, name)

    def fakeLxcDir(self, name):
        os.makedirs(os.path.join(self.lxcDir(name), "rootfs.mnt"))
        with open(os.path.join(self.lxcDir(name), "config"), "w") as f:
            f.write("lxc.uts.name = %s\n" % (name,))

    @defer.inlineCallbacks
    def test_removeTakesIt(self):
        yield self.makeVps("gone")
        self.fakeLxcDir("gone")
        yield self.admin.call("vx.remove", name="gone")
        self.assertFalse(os.path.lexists(self.lxcDir("gone")))

    @defer.inlineCallbacks
    def test_renameMovesIt(self):
        yield self.makeVps("before")
        self.fakeLxcDir("before")
        yield self.admin.call("vx.rename", name="before", newname="after")
        self.assertFalse(os.path.lexists(self.lxcDir("before")))
        with open(os.path.join(self.lxcDir("after"), "config")) as f:
            self.assertEqual(f.read(), "lxc.uts.name = before\n")

    @defer.inlineCallbacks
    def test_orphanSweptAtStart(self):
        """
        An LXC directory of a name VXDB does not know (a crash between a
        rename's row and its move) goes at start-up; a VPS's stays.
        """
        yield self.makeVps("known")
        yield self.stopDaemon()
        self.fakeLxcDir("known")
        self.fakeLxcDir("orphan")
        yield self.startDaemon()
        lxcpath = self.config.lxcpath
        self.assertEqual([name for name in os.listdir(lxcpath)
                          if os.path.isdir(os.path.join(lxcpath, name))],
                         ["known"])
        self.assertTrue(os.path.isfile(os.path.join(lxcpath, "vcd.seccomp")))

