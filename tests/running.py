"""
Helpers for the tests that run real VPSes (busybox containers) through a
real daemon: unique names, containers that never outlive a test, polling
the daemon's view of a VPS, and catching the daemon's log.
"""

import os
import secrets
import shutil
import subprocess
import time

from twisted.internet import defer, reactor, task, threads
from twisted.logger import formatEvent, globalLogPublisher

from vcd.kernel.hostfeatures import cgroupMounts
from vcd.scripts import vtemplate


def pause(seconds):
    """
    A Deferred firing after C{seconds} (the reactor keeps running).
    """
    return task.deferLater(reactor, seconds, lambda: None)


def testAddress():
    """
    A random address in 198.18.0.0/15 (the range set aside for
    benchmarking), for one VPS of one test.
    """
    return "198.%d.%d.%d" % (18 + secrets.randbelow(2),
                             1 + secrets.randbelow(254),
                             2 + secrets.randbelow(250))


def containerCgroups(name):
    """
    The cgroups LXC made for container C{name} (C{lxc.payload.NAME},
    C{lxc.monitor.NAME} and their numbered successors) at the top of every
    cgroup hierarchy.
    """
    prefixes = ("lxc.payload." + name, "lxc.monitor." + name)
    paths = []
    for mountpoint, _, _ in cgroupMounts():
        try:
            entries = os.listdir(mountpoint)
        except OSError:
            continue
        paths.extend(
            os.path.join(mountpoint, entry) for entry in entries
            if entry in prefixes or any(
                entry.startswith(p + "-") and entry[len(p) + 1:].isdigit()
                for p in prefixes))
    return paths


def monitorPids(lxcpath, name):
    """
    @return: the pids of the LXC monitor of container C{name} in
        C{lxcpath} (the process running its hooks), found by its title.
    """
    title = ("[lxc monitor] %s %s" % (lxcpath, name)).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % (entry,), "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cmdline.rstrip(b"\0") == title:
            pids.append(int(entry))
    return pids


class RunningHelpers:
    """
    For L{tests.harness.DaemonTestCase}s that start VPSes.
    """

    def setUp(self):
        if shutil.which("lxc-stop") is None:
            self.fail("lxc-stop missing: install the Debian package lxc")
        return super().setUp()

    def vpsName(self):
        """
        A VPS name no other test uses (LXC's cgroups are named after it at
        the root of the hierarchies); its container is stopped hard and its
        cgroups removed in cleanup, whatever happens.
        """
        name = "t" + secrets.token_hex(4)
        self.addCleanup(self.discardContainer, name)
        return name

    def discardContainer(self, name):
        """
        Stop container C{name} hard, wait until its monitor is gone (the
        monitor runs the post-stop hook, which calls the daemon: the test
        must not end while that call is open), and remove the empty
        cgroups LXC left for it. In a thread, so the daemon keeps serving
        the hook.
        """
        def discard():
            subprocess.run(["lxc-stop", "-P", self.config.lxcpath, "-n", name,
                            "-k"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
            # lxc-stop returns, and LXC says STOPPED, once the init is gone:
            # the monitor may still be running the post-stop hook.
            deadline = time.monotonic() + 60
            while True:
                monitors = monitorPids(self.config.lxcpath, name)
                if not monitors:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        "the LXC monitor of %s (pids %s) still runs (its"
                        " post-stop hook?) 60s after lxc-stop"
                        % (name, monitors))
                time.sleep(0.05)
            for path in containerCgroups(name):
                try:
                    os.rmdir(path)
                except OSError:
                    pass
        return threads.deferToThread(discard)

    @defer.inlineCallbacks
    def newVps(self, owner=None, start=False, client=None, name=None,
               **init):
        """
        Create a busybox VPS with a unique name (and C{owner}), set its
        init commands if any are given (C{init}, C{halt}, C{reboot},
        C{timeout}) and start it if asked to (with the template's init,
        returning once its boot is over: see L{waitBooted}).

        @return: a Deferred firing with its name.
        """
        name = name or self.vpsName()
        yield self.makeVps(name, owner=owner)
        if init:
            yield self.admin.call("vxdb.init.set", name=name, **init)
        if start:
            yield (client or self.admin).call("vx.start", name=name)
            if not init.get("init"):
                yield self.waitBooted(name)
        return name

    @defer.inlineCallbacks
    def waitBooted(self, name, timeout=15):
        """
        Wait until the busybox init of VPS C{name} is done booting: its
        boot script (the template's C{/etc/init.d/rcS}) wrote its marker
        as its last step, and the init is the only process left (the
        script exited and was reaped), so that nothing of the boot can be
        counted, matched by name or signalled by a test.

        The marker must not exist when the VPS starts: use this for the
        first boot of a new VPS (a restart may see the last boot's marker
        before its script removes it).

        @return: a Deferred firing with the status of the booted VPS.
        """
        marker = vtemplate.BOOTED.lstrip("/")
        deadline = time.monotonic() + timeout
        while True:
            status = yield self.status(name)
            written = status["running"] and os.path.exists(os.path.join(
                "/proc/%d/root" % (status["initpid"],), marker))
            if written and status["nproc"] == 1:
                return status
            if time.monotonic() > deadline:
                self.fail("%s: boot not over within %ds (%s %s); last status"
                          " %r" % (name, timeout, vtemplate.BOOTED,
                                   "written" if written else "missing",
                                   status))
            yield pause(0.05)

    def execIn(self, name, command, client=None):
        """
        vx.exec C{command} in VPS C{name}.
        """
        return (client or self.admin).call("vx.exec", name=name,
                                           command=command)

    def status(self, name):
        return self.admin.call("vx.status", name=name)

    @defer.inlineCallbacks
    def waitStatus(self, name, predicate, why, timeout=15):
        """
        Poll vx.status of C{name} until C{predicate(status)} holds.

        @return: a Deferred firing with that status.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = yield self.status(name)
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                self.fail("%s: %s not seen within %ds; last status %r"
                          % (name, why, timeout, status))
            yield pause(0.1)

    @defer.inlineCallbacks
    def assertRunning(self, name, expected=True):
        """
        Assert that vx.status says VPS C{name} is running (or, with
        C{expected} False, stopped, with no processes and no uptime).
        """
        status = yield self.status(name)
        if expected:
            self.assertIs(status["running"], True, (name, status))
        else:
            self.assertEqual(
                {k: status[k] for k in ("running", "nproc", "uptime")},
                {"running": False, "nproc": 0, "uptime": 0}, name)

    def waitStopped(self, name, timeout=15):
        return self.waitStatus(name, lambda s: not s["running"], "stopped",
                               timeout)

    def waitRestarted(self, name, oldInitPid, timeout=15):
        """
        Wait until VPS C{name} runs again with an init other than
        C{oldInitPid}, and the daemon is done starting it (its lock is
        free).
        """
        return self.waitStatus(
            name, lambda s: s["running"] and s["initpid"] not in (
                0, oldInitPid) and name not in self.daemon.parts.locks.held(),
            "running with a new init", timeout)

    def captureLog(self):
        """
        Collect the text of every event the daemon logs from now on.

        @return: the list the texts are appended to.
        """
        texts = []

        def observer(event):
            texts.append(formatEvent(event))
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        return texts

    @defer.inlineCallbacks
    def assertFaults(self, code, calls, contains=None):
        """
        Assert that every C{(method, args)} in C{calls} fails with C{code}.
        """
        for method, args in calls:
            yield self.assertFault(code, self.admin.call(method, **args),
                                   contains)

    def removeRoot(self, name):
        """
        Delete the files of VPS C{name} by hand (its whole vdir).
        """
        shutil.rmtree(os.path.join(self.config.vbasedir, name))
