"""
The running of VPSes (L{vcd.vps.lifecycle}: vx.start, vx.stop, vx.restart,
vx.reboot, vx.exec, vx.kill, vx.status, the reboot coming back through
helper.restart and helper.shutdown, and L{lockedAction}) on the in-memory
kernel of L{tests.fakedaemon}, with time on a Clock. No root, no LXC.

The fault codes are the manual's (9.3), written out here.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.faults import VCDFault
from vcd.vps.lifecycle import lockedAction, startVps, stopVps
from vcd.vxdb import registry, roots

MEINVAL = 200
MENOVPS = 202
MESTOPPED = 300
MERUNNING = 301
MEBUSY = 302
MESYS = 500
MEEXEC = 1000


class LifecycleTestCase(FakeDaemonMixin, unittest.TestCase):
    """
    A fake daemon with VPS C{alpha} (xid C{self.xid}) stopped.
    """

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.xid = self.fake.addVps("alpha")

    def vx(self, method, **args):
        """
        Call C{vx.<method>} as admin.
        """
        return self.fake.call("vx." + method, **args)

    def start(self, name="alpha"):
        self.answer(self.vx("start", name=name))
        self.assertRunning(name)

    def initPid(self, name="alpha"):
        return self.answer(self.vx("status", name=name))["initpid"]


class StartTests(LifecycleTestCase):
    """
    vx.start.
    """

    def test_start(self):
        """
        A start answers nil once init runs, with the configuration of the
        VPS's root.
        """
        self.assertIsNone(self.answer(self.vx("start", name="alpha")))
        self.assertRunning("alpha")
        config = self.kernel.vps("alpha").config
        self.assertIn("lxc.rootfs.path = dir:%s\n" % (self.fake.rootOf(
            "alpha"),), config)
        self.assertIn("shutdown %d" % (self.xid,), config)

    def test_alreadyRunning(self):
        self.start()
        pid = self.initPid()
        self.assertFault(MERUNNING, self.vx("start", name="alpha"),
                         "already running")
        self.assertEqual(self.initPid(), pid)

    def test_rootMissing(self):
        root = self.fake.rootOf("alpha")
        self.fake.existingPaths.discard(root)
        fault = self.assertFault(MESYS, self.vx("start", name="alpha"))
        self.assertIn("root filesystem is missing", fault.faultString)
        self.assertIn(root, fault.faultString)
        self.assertRunning("alpha", False)

    def test_initFails(self):
        """
        An init that exits at once is MESYS with the kernel's reason; the
        next start may succeed.
        """
        self.kernel.vps("alpha").startFailures.append(
            "init exited with status 127")
        fault = self.assertFault(MESYS, self.vx("start", name="alpha"))
        self.assertIn("init exited with status 127", fault.faultString)
        self.assertIn("/sbin/init", fault.faultString)
        self.assertRunning("alpha", False)
        self.start()

    def test_noSuchVps(self):
        self.assertFault(MENOVPS, self.vx("start", name="nosuch"))

    def test_incompleteRoot(self):
        """
        A VPS whose creation did not finish is not started.
        """
        defaults = roots.TemplateDefaults(set(), set(), set(), [], "", "",
                                          "", 15)
        self.fake.db.transactNow(roots.beginCreate, "half", 1, "copy",
                                 "/nonexistent/half", "busybox", defaults,
                                 [(1000000, 65536 * 1000)], 65536)
        self.assertFault(MEINVAL, self.vx("start", name="half"),
                         "no complete root")
        self.assertRunning("half", False)

    def test_domainname(self):
        """
        A DOMAINNAME uname setting is set in the started VPS.
        """
        self.answer(self.fake.call("vxdb.vx.uname.set", name="alpha",
                                   uname="DOMAINNAME", value="example.org"))
        self.start()
        self.assertEqual(self.kernel.vps("alpha").domainname, "example.org")


class StopTests(LifecycleTestCase):
    """
    vx.stop: the halt command, the init timeout, the hard stop.
    """

    def test_stopped(self):
        self.assertFault(MESTOPPED, self.vx("stop", name="alpha"),
                         "not running")

    def test_haltStopsIt(self):
        """
        The halt command stops the VPS; vx.stop answers when it has
        stopped, not before.
        """
        self.start()
        self.kernel.vps("alpha").haltDelay = 3
        d = self.vx("stop", name="alpha")
        self.clock.advance(2.9)
        self.assertNoResult(d)
        self.assertRunning("alpha")
        self.clock.advance(0.1)
        self.assertEqual(self.answer(d), "")
        self.assertRunning("alpha", False)
        self.assertEqual(self.fake.stops, [("alpha", "stop")])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_haltOutput(self):
        """
        vx.stop answers with the halt command's output.
        """
        self.answer(self.fake.call("vxdb.init.set", name="alpha",
                                   halt="/bin/sh -c 'echo going down; halt'"))
        self.start()
        d = self.vx("stop", name="alpha")
        self.clock.advance(1)
        self.assertEqual(self.answer(d), "going down\n")

    def test_hardStopAfterTimeout(self):
        """
        A VPS that ignores its halt command is stopped hard once the init
        timeout (vxdb.init.set timeout) has passed, not before.
        """
        self.answer(self.fake.call("vxdb.init.set", name="alpha",
                                   timeout=7))
        self.start()
        self.kernel.vps("alpha").ignoresHalt = True
        d = self.vx("stop", name="alpha")
        self.clock.advance(6.9)
        self.assertNoResult(d)
        self.assertRunning("alpha")
        self.clock.advance(0.1)
        self.assertEqual(self.answer(d), "")
        self.assertRunning("alpha", False)
        self.assertEqual(self.fake.stops, [("alpha", "stop")])

    def test_defaultTimeout(self):
        """
        Without a timeout of its own a VPS gets 15 seconds (the timeout
        addVps records is 15; the manual's vxdb.init.set default).
        """
        self.start()
        self.kernel.vps("alpha").ignoresHalt = True
        d = self.vx("stop", name="alpha")
        self.clock.advance(14.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.answer(d)
        self.assertRunning("alpha", False)

    def test_haltCommandMissing(self):
        """
        A halt command that is not found does not prevent the hard stop;
        its error is the answer.
        """
        self.answer(self.fake.call("vxdb.init.set", name="alpha",
                                   halt="/sbin/nohalt", timeout=5))
        self.start()
        d = self.vx("stop", name="alpha")
        self.clock.advance(5)
        output = self.answer(d)
        self.assertIn("not found", output)
        self.assertIn("/sbin/nohalt", output)
        self.assertRunning("alpha", False)

    def test_refusesHardStop(self):
        self.start()
        vps = self.kernel.vps("alpha")
        vps.ignoresHalt = vps.refusesHardStop = True
        d = self.vx("stop", name="alpha")
        self.clock.advance(15)
        self.assertFault(MEBUSY, d, "did not stop")
        self.assertRunning("alpha")

    def test_lockedWhileStopping(self):
        """
        While a stop waits, methods taking the lock are MEBUSY; vx.status
        takes none.
        """
        self.start()
        self.kernel.vps("alpha").ignoresHalt = True
        d = self.vx("stop", name="alpha")
        self.assertFault(MEBUSY, self.vx("exec", name="alpha",
                                         command="true"), "alpha")
        self.assertFault(MEBUSY, self.vx("start", name="alpha"))
        self.assertFault(MEBUSY, self.vx("stop", name="alpha"))
        self.assertTrue(self.answer(self.vx("status", name="alpha"))[
            "running"])
        self.clock.advance(15)
        self.answer(d)
        self.start()


class RestartTests(LifecycleTestCase):
    """
    vx.restart: vx.stop, then vx.start.
    """

    def test_restart(self):
        self.start()
        before = self.initPid()
        d = self.vx("restart", name="alpha")
        self.clock.advance(1)
        self.assertIsNone(self.answer(d))
        self.assertRunning("alpha")
        self.assertNotEqual(self.initPid(), before)
        self.assertEqual(self.fake.stops, [("alpha", "stop")])

    def test_restartAfterHardStop(self):
        self.start()
        self.kernel.vps("alpha").ignoresHalt = True
        before = self.initPid()
        d = self.vx("restart", name="alpha")
        self.clock.advance(14)
        self.assertNoResult(d)
        self.clock.advance(1)
        self.answer(d)
        self.assertNotEqual(self.initPid(), before)

    def test_stopped(self):
        self.assertFault(MESTOPPED, self.vx("restart", name="alpha"))
        self.assertRunning("alpha", False)


class RebootTests(LifecycleTestCase):
    """
    vx.reboot, and a reboot or halt from inside, with the post-stop hook
    calling the helper methods as vshelper does.
    """

    vshelperHook = True

    def test_rebootComesBack(self):
        """
        vx.reboot answers once the reboot command ran; the VPS stops, and
        helper.shutdown starts it again.
        """
        self.start()
        before = self.initPid()
        self.assertEqual(self.answer(self.vx("reboot", name="alpha")), "")
        self.assertRunning("alpha")
        self.clock.advance(1)
        self.assertEqual(self.fake.stops, [("alpha", "reboot")])
        self.assertEqual([self.successResultOf(d)
                          for d in self.fake.hookResults], [None, None])
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertNotEqual(self.initPid(), before)

    def test_rebootTakesTheNewConfiguration(self):
        self.start()
        self.answer(self.fake.call("vxdb.vx.uname.set", name="alpha",
                                   uname="NODENAME", value="rebooted"))
        self.assertNotIn("lxc.uts.name = rebooted\n",
                         self.kernel.vps("alpha").config)
        self.answer(self.vx("reboot", name="alpha"))
        self.clock.advance(1)
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertIn("lxc.uts.name = rebooted\n",
                      self.kernel.vps("alpha").config)

    def test_rebootFromInside(self):
        self.start()
        self.answer(self.vx("exec", name="alpha", command="reboot"))
        self.clock.advance(1)
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertEqual(self.fake.stops, [("alpha", "reboot")])

    def test_haltFromInsideStaysStopped(self):
        self.start()
        self.answer(self.vx("exec", name="alpha", command="halt"))
        self.clock.advance(1)
        self.assertRunning("alpha", False)
        self.clock.advance(60)
        self.assertRunning("alpha", False)
        self.assertEqual(self.fake.stops, [("alpha", "stop")])

    def test_stopIsNoReboot(self):
        self.start()
        d = self.vx("stop", name="alpha")
        self.clock.advance(1)
        self.answer(d)
        self.clock.advance(60)
        self.assertRunning("alpha", False)

    def test_stopDuringRebootStaysStopped(self):
        """
        vx.reboot, then vx.stop while the VPS is still going down: the stop
        answers once the VPS has stopped, and the post-stop hook's
        helper.restart and helper.shutdown, which (as with liblxc) come
        after the VPS is seen stopped and the stop has answered, do not
        start it again.
        """
        self.start()
        self.answer(self.vx("reboot", name="alpha"))
        d = self.vx("stop", name="alpha")
        self.assertNoResult(d)
        self.clock.advance(1)
        self.assertEqual(self.answer(d), "")
        # The hook ran after the stop had answered and let go of the lock.
        self.assertEqual(self.fake.stops, [("alpha", "reboot")])
        self.assertEqual([self.successResultOf(h)
                          for h in self.fake.hookResults], [None, None])
        self.clock.advance(0)
        self.clock.advance(60)
        self.assertRunning("alpha", False)
        self.assertEqual(self.fake.services.locks.held(), [])
        # A reboot from inside, after a new start, still comes back.
        self.start()
        before = self.initPid()
        self.answer(self.vx("exec", name="alpha", command="reboot"))
        self.clock.advance(1)
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertNotEqual(self.initPid(), before)

    def test_restartDuringRebootStartsOnce(self):
        """
        vx.restart while a vx.reboot is going down: the VPS runs again once
        the restart answers, and the late hook of the reboot neither starts
        it a second time nor leaves a start waiting for it to stop.
        """
        self.start()
        self.answer(self.vx("reboot", name="alpha"))
        d = self.vx("restart", name="alpha")
        self.clock.advance(1)
        self.assertIsNone(self.answer(d))
        pid = self.initPid()
        self.clock.advance(0)
        # Nothing waits to start it again.
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(60)
        self.assertRunning("alpha")
        self.assertEqual(self.initPid(), pid)

    def test_rebootStopped(self):
        self.assertFault(MESTOPPED, self.vx("reboot", name="alpha"))

    def test_rebootCommandOutput(self):
        self.answer(self.fake.call("vxdb.init.set", name="alpha",
                                   reboot="/bin/sh -c 'echo see you; reboot'"))
        self.start()
        self.assertEqual(self.answer(self.vx("reboot", name="alpha")),
                         "see you\n")

    def test_comingBackWaitsForTheLock(self):
        """
        The start after a reboot waits its turn for the VPS's lock.
        """
        self.start()
        self.answer(self.vx("reboot", name="alpha"))
        self.assertTrue(self.fake.services.locks.acquire("alpha"))
        self.clock.advance(1)
        self.clock.advance(0)
        self.clock.advance(20)
        self.assertRunning("alpha", False)
        self.fake.services.locks.release("alpha")
        self.assertRunning("alpha")
        self.assertEqual(self.fake.services.locks.held(), [])

    def test_comingBackGivesUp(self):
        """
        If the lock stays held for 30 seconds, the VPS stays stopped and
        the failure is logged.
        """
        self.start()
        self.answer(self.vx("reboot", name="alpha"))
        self.fake.services.locks.acquire("alpha")
        self.clock.advance(1)
        self.clock.advance(0)
        self.clock.advance(30)
        self.fake.services.locks.release("alpha")
        self.assertRunning("alpha", False)
        [logged] = self.flushLoggedErrors(VCDFault)
        self.assertEqual(logged.value.faultCode, MEBUSY)


class HelperTests(LifecycleTestCase):
    """
    helper.restart and helper.shutdown called by hand (no hook), as
    vshelper calls them.
    """

    def test_shutdownAfterRestartStartsIt(self):
        self.start()
        before = self.initPid()
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        self.answer(self.vx("kill", name="alpha", pid=1, sig=9))
        self.assertRunning("alpha", False)
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertNotEqual(self.initPid(), before)

    def test_shutdownAloneLeavesItStopped(self):
        self.start()
        self.answer(self.vx("kill", name="alpha", pid=1, sig=9))
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(60)
        self.assertRunning("alpha", False)

    def test_stopClearsPendingReboot(self):
        """
        vx.stop forgets a reboot requested before it: the helper.shutdown
        after the stop does not start the VPS again.
        """
        self.start()
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        d = self.vx("stop", name="alpha")
        self.clock.advance(1)
        self.answer(d)
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(60)
        self.assertRunning("alpha", False)

    def test_restartDuringStopIgnored(self):
        """
        A helper.restart that comes while a vx.stop runs (the VPS was
        rebooting when the stop came) is ignored: the helper.shutdown after
        the stop leaves the VPS stopped.
        """
        self.start()
        self.kernel.vps("alpha").ignoresHalt = True
        d = self.vx("stop", name="alpha")
        self.assertIsNone(self.answer(self.fake.helper("helper.restart",
                                                       xid=self.xid)))
        self.clock.advance(15)
        self.answer(d)
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(60)
        self.assertRunning("alpha", False)

    def test_hookDuringStop(self):
        """
        A post-stop hook that reports (helper.restart, helper.shutdown)
        while the stop still runs is that stop's: the VPS stays stopped,
        and the next reboot from inside comes back.
        """
        self.start()
        self.kernel.vps("alpha").ignoresHalt = True
        d = self.vx("stop", name="alpha")
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(15)
        self.answer(d)
        self.clock.advance(0)
        self.assertRunning("alpha", False)
        self.kernel.vps("alpha").ignoresHalt = False
        self.start()
        before = self.initPid()
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        self.answer(self.vx("kill", name="alpha", pid=1, sig=9))
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertNotEqual(self.initPid(), before)

    def test_stopsHookWindow(self):
        """
        A stop whose post-stop hook never reported is forgotten after
        HOOK_WINDOW (60) seconds: a later reboot from inside comes back.
        """
        self.start()
        d = self.vx("stop", name="alpha")
        self.clock.advance(1)
        self.answer(d)
        self.clock.advance(60.5)
        self.start()
        before = self.initPid()
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        self.answer(self.vx("kill", name="alpha", pid=1, sig=9))
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(0)
        self.assertRunning("alpha")
        self.assertNotEqual(self.initPid(), before)

    def test_stopWithinHookWindow(self):
        """
        Within HOOK_WINDOW of a stop, the late hook's pair is still that
        stop's, even after a new start.
        """
        self.start()
        d = self.vx("stop", name="alpha")
        self.clock.advance(1)
        self.answer(d)
        self.clock.advance(58)
        self.start()
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_startClearsPendingReboot(self):
        """
        A start forgets a pending reboot: a later stop's helper.shutdown
        does not start the VPS again.
        """
        self.answer(self.fake.helper("helper.restart", xid=self.xid))
        self.start()
        self.answer(self.vx("kill", name="alpha", pid=1, sig=9))
        self.answer(self.fake.helper("helper.shutdown", xid=self.xid))
        self.clock.advance(60)
        self.assertRunning("alpha", False)

    def test_onlyTheHelper(self):
        """
        The helper methods need the HELPER capability, which admin lacks.
        """
        fault = self.assertFault(101, self.fake.call("helper.restart",
                                                     xid=self.xid))
        self.assertIn("HELPER", fault.faultString)

    def test_unknownXid(self):
        self.assertFault(MENOVPS, self.fake.helper("helper.shutdown",
                                                   xid=999))


class ExecTests(LifecycleTestCase):
    """
    vx.exec.
    """

    def setUp(self):
        LifecycleTestCase.setUp(self)
        self.start()

    def execIn(self, command, name="alpha"):
        return self.vx("exec", name=name, command=command)

    def test_output(self):
        self.assertEqual(self.answer(self.execIn("echo hello  'big world'")),
                         "hello big world\n")

    def test_environment(self):
        output = self.answer(self.execIn("env"))
        self.assertEqual(output.splitlines()[0], "PATH=/usr/local/sbin:"
                         "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

    def test_exitStatus(self):
        fault = self.assertFault(MEEXEC + 3, self.execIn(
            "sh -c 'echo oops; exit 3'"))
        self.assertIn("oops", fault.faultString)

    def test_killedBySignal(self):
        fault = self.assertFault(MEEXEC + 128 + 9, self.execIn(
            "sh -c 'echo dying; kill -9 $$'"))
        self.assertIn("dying", fault.faultString)

    def test_notFound(self):
        fault = self.assertFault(MEEXEC + 127, self.execIn("nosuchcommand"))
        self.assertIn("not found", fault.faultString)
        self.assertIn("nosuchcommand", fault.faultString)

    def test_badCommandLines(self):
        for command in ("", "   ", "echo 'a"):
            self.assertFault(MEINVAL, self.execIn(command), "command")

    def test_stopped(self):
        self.fake.addVps("beta")
        self.assertFault(MESTOPPED, self.execIn("true", "beta"),
                         "not running")

    def test_outputCap(self):
        self.fake.config.execOutputCap = 10
        output = self.answer(self.execIn("echo 0123456789abcdef"))
        self.assertTrue(output.startswith("0123456789\n"), output)
        self.assertNotIn("abcdef", output)
        self.assertIn("truncated at 10 bytes", output)

    def test_timeout(self):
        """
        A command still running after the exec timeout is killed: MEEXEC
        1000+128+9, saying so.
        """
        self.fake.config.execTimeout = 5
        d = self.execIn("sleep 30")
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertFault(MEEXEC + 128 + 9, d, "exec timeout")
        # Only init is left.
        self.assertEqual(self.answer(self.vx("status", name="alpha"))[
            "nproc"], 1)
        self.assertEqual(self.answer(self.execIn("echo again")), "again\n")

    def test_lockFreeWhileExecRuns(self):
        """
        A running vx.exec holds the VPS's lock only until its command
        runs: another exec runs meanwhile, and a stop stops the VPS at
        once, ending the command (MEEXEC 1000+128+9, saying why) and
        leaving no lock held.
        """
        d = self.execIn("sh -c 'sleep 10; echo slept'")
        self.assertEqual(self.fake.services.locks.held(), [])
        self.assertEqual(self.answer(self.execIn("echo a")), "a\n")
        stopped = self.vx("stop", name="alpha")
        self.clock.advance(1)  # the halt takes a second
        self.answer(stopped)
        fault = self.assertFault(MEEXEC + 128 + 9, d, "killed by signal 9")
        self.assertIn("virtual server 'alpha' stopped meanwhile",
                      fault.faultString)
        self.assertRunning("alpha", False)
        self.assertEqual(self.fake.services.locks.held(), [])

    def test_busyWhileLocked(self):
        """
        vx.exec is MEBUSY while another operation holds the VPS's lock;
        other VPSes are not affected.
        """
        self.fake.addVps("beta")
        self.start("beta")
        self.assertTrue(self.fake.services.locks.acquire("alpha"))
        self.assertFault(MEBUSY, self.execIn("true"), "busy")
        self.assertEqual(self.answer(self.execIn("echo b", "beta")), "b\n")
        self.fake.services.locks.release("alpha")
        self.assertEqual(self.answer(self.execIn("echo a")), "a\n")

    def test_frozen(self):
        """
        vx.exec on a frozen VPS (SCHED_PAUSE) is MESTOPPED at once, saying
        how to thaw it; once thawed, commands run.
        """
        self.answer(self.kernel.freeze("alpha"))
        fault = self.assertFault(MESTOPPED, self.execIn("echo a"),
                                 "frozen (SCHED_PAUSE)")
        self.assertIn("vxdb.vx.flags.remove", fault.faultString)
        self.assertEqual(self.fake.services.locks.held(), [])
        self.answer(self.kernel.unfreeze("alpha"))
        self.assertEqual(self.answer(self.execIn("echo a")), "a\n")

    def test_vpsStopsWhileExecRuns(self):
        d = self.execIn("sleep 100")
        self.kernel.hardStop("alpha")
        self.assertFault(MEEXEC + 128 + 9, d)
        self.assertEqual(self.fake.services.locks.held(), [])


class KillStatusTests(LifecycleTestCase):
    """
    vx.kill and vx.status.
    """

    def test_killInit(self):
        self.start()
        self.assertIsNone(self.answer(self.vx("kill", name="alpha", pid=1,
                                              sig=9)))
        self.assertRunning("alpha", False)
        self.assertEqual(self.fake.stops, [("alpha", "stop")])

    def test_killProcess(self):
        self.start()
        process = self.kernel.spawn("alpha")
        self.answer(self.vx("kill", name="alpha", pid=process.vpid, sig=15))
        self.assertEqual(process.endedBy, 15)
        self.assertEqual(self.answer(self.vx("status", name="alpha"))[
            "nproc"], 1)
        self.assertRunning("alpha")

    def test_killAll(self):
        self.start()
        self.kernel.spawn("alpha")
        self.answer(self.vx("kill", name="alpha", pid=0, sig=9))
        self.assertRunning("alpha", False)

    def test_killStopped(self):
        self.assertFault(MESTOPPED, self.vx("kill", name="alpha", pid=1,
                                            sig=9))

    def test_killNoSuchProcess(self):
        self.start()
        self.assertFault(MEINVAL, self.vx("kill", name="alpha", pid=4242,
                                          sig=15), "pid")

    def test_killBadSignal(self):
        self.start()
        for sig in (65, -1):
            self.assertFault(MEINVAL, self.vx("kill", name="alpha", pid=1,
                                              sig=sig), "sig")
        self.assertRunning("alpha")

    def test_killSignalZero(self):
        """
        Signal 0 (the original accepted it, as kill(2) does) signals
        nothing: the processes stay; a pid that does not exist is still
        refused, and a stopped VPS is still MESTOPPED.
        """
        self.start()
        process = self.kernel.spawn("alpha")
        for pid in (0, 1, process.vpid):
            self.assertIsNone(self.answer(self.vx("kill", name="alpha",
                                                  pid=pid, sig=0)))
        self.assertIsNone(process.endedBy)
        self.assertEqual(self.answer(self.vx("status", name="alpha"))[
            "nproc"], 2)
        self.assertRunning("alpha")
        self.assertFault(MEINVAL, self.vx("kill", name="alpha", pid=4242,
                                          sig=0), "pid")
        self.answer(self.vx("kill", name="alpha", pid=1, sig=9))
        self.assertFault(MESTOPPED, self.vx("kill", name="alpha", pid=1,
                                            sig=0))

    def test_statusStopped(self):
        status = self.answer(self.vx("status", name="alpha"))
        self.assertEqual((status["running"], status["nproc"],
                          status["uptime"]), (False, 0, 0))

    def test_statusRunning(self):
        self.start()
        self.kernel.spawn("alpha", state="R")
        self.clock.advance(42)
        status = self.answer(self.vx("status", name="alpha"))
        self.assertEqual((status["running"], status["nproc"],
                          status["uptime"], status["thr_running"]),
                         (True, 2, 42, 1))
        self.assertEqual((status["load1m"], status["load5m"],
                          status["load15m"]), ("0.00", "0.00", "0.00"))


class LockedActionTests(LifecycleTestCase):
    """
    L{lockedAction}: the daemon's own actions wait their turn for a VPS's
    lock, and check the VPS is still the one they meant.
    """

    def setUp(self):
        LifecycleTestCase.setUp(self)
        self.locks = self.fake.services.locks

    def locked(self, action=startVps, name="alpha", retryFor=30):
        return lockedAction(self.fake.services, action, self.xid, name,
                            retryFor)

    def test_free(self):
        self.assertIsNone(self.successResultOf(self.locked()))
        self.assertRunning("alpha")
        self.assertEqual(self.locks.held(), [])

    def test_waitsForTheHolder(self):
        """
        A busy lock is waited for; the action runs when the holder
        releases it.
        """
        self.start()
        self.assertTrue(self.locks.acquire("alpha"))
        self.clock.callLater(10, self.locks.release, "alpha")
        d = self.locked(stopVps)
        self.clock.advance(9.9)
        self.assertNoResult(d)
        self.assertRunning("alpha")
        self.clock.advance(0.1)
        self.assertNoResult(d)  # the halt takes a second
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d), "")
        self.assertRunning("alpha", False)
        self.assertEqual(self.locks.held(), [])

    def test_timesOut(self):
        self.assertTrue(self.locks.acquire("alpha"))
        d = self.locked(retryFor=30)
        self.clock.advance(29.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertEqual(self.failureResultOf(d, VCDFault).value.faultCode,
                         MEBUSY)
        self.assertRunning("alpha", False)
        self.assertEqual(self.locks.held(), ["alpha"])

    def test_noWaiting(self):
        self.locks.acquire("alpha")
        d = self.locked(retryFor=0)
        self.clock.advance(0)
        self.assertEqual(self.failureResultOf(d, VCDFault).value.faultCode,
                         MEBUSY)

    def test_renamedWhileWaiting(self):
        """
        A VPS renamed while the action waited is not acted on: MENOVPS,
        and the lock is released.
        """
        self.locks.acquire("alpha")
        d = self.locked()
        self.fake.db.transactNow(registry.renameVps, self.xid, "gamma")
        self.locks.release("alpha")
        fault = self.failureResultOf(d, VCDFault).value
        self.assertEqual(fault.faultCode, MENOVPS)
        self.assertIn("alpha", fault.faultString)
        self.assertRunning("alpha", False)
        self.assertRunning("gamma", False)
        self.assertEqual(self.locks.held(), [])

    def test_anotherVpsTookTheName(self):
        """
        The name now belongs to another VPS: MENOVPS, not an action on the
        wrong one.
        """
        self.fake.db.transactNow(registry.renameVps, self.xid, "gamma")
        self.fake.addVps("alpha", vdir="/vservers/other")
        self.assertEqual(self.failureResultOf(self.locked(), VCDFault)
                         .value.faultCode, MENOVPS)
        self.assertRunning("alpha", False)

    def test_releasedOnFailure(self):
        def broken(services, xid, name):
            return defer.fail(ValueError("boom"))
        self.failureResultOf(self.locked(broken), ValueError)
        self.assertEqual(self.locks.held(), [])
