"""
The caps on C{vx.exec} commands running at once (L{vcd.api.execslots}):
C{execpervps} per VPS and C{execperuser} per API user, on the in-memory
kernel of L{tests.fakedaemon} with time on a Clock; that every way a call
ends gives its slot back; that C{vx.stop} and C{vx.reboot} are never
refused by them; the settings (L{vcd.config}) and where the daemon says
them (C{vcd.hostinfo}, C{vcd.status}).

The fault codes are the manual's (9.3), written out here.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.config import ConfigurationError, buildConfiguration
from vcd.faults import VCDFault
from vcd.kernel.worker.client import WorkerFailed

MEBUSY = 302
MESTOPPED = 300
MESYS = 500
MEEXEC = 1000

OWNER, OWNER_PASSWORD = "bob", "bob-secret-1"


class ExecSlotsTestCase(FakeDaemonMixin, unittest.TestCase):
    """
    A fake daemon with user C{bob} (EXEC, INIT, INFO) owning running VPSes
    C{alpha} and C{beta}; at most 3 commands at once per VPS and 5 per
    user.
    """

    perVps = 3
    perUser = 5

    def setUp(self):
        FakeDaemonMixin.setUp(self)
        self.fake.config.execPerVps = self.perVps
        self.fake.config.execPerUser = self.perUser
        self.fake.addUser(OWNER, OWNER_PASSWORD,
                          caps=["EXEC", "INIT", "INFO"])
        for name in ("alpha", "beta"):
            self.fake.addVps(name, owner=OWNER)
            self.answer(self.fake.call("vx.start", name=name))
            self.assertRunning(name)

    def execAs(self, command, name="alpha", username=OWNER,
               password=OWNER_PASSWORD):
        return self.fake.call("vx.exec", username, password, name=name,
                              command=command)

    def sleeps(self, count, name="alpha", seconds=30):
        """
        Start C{count} commands sleeping C{seconds} in VPS C{name} as its
        owner; assert that each is accepted and still runs.
        """
        calls = [self.execAs("sleep %d" % (seconds,), name)
                 for _ in range(count)]
        for d in calls:
            self.assertNoResult(d)
        return calls

    def assertVpsCapFull(self, name="alpha"):
        """
        One more command in VPS C{name} is MEBUSY at once, naming the cap
        of a VPS and its setting, and the VPS's lock is left free.
        """
        fault = self.assertFault(MEBUSY, self.execAs("echo more", name),
                                 "setting execpervps")
        self.assertIn("already runs %d vx.exec commands" % (self.perVps,),
                      fault.faultString)
        self.assertIn(repr(name), fault.faultString)
        self.assertNotIn(self.fake.config.datadir, fault.faultString)
        self.assertEqual(self.fake.services.locks.held(), [])


class PerVpsTests(ExecSlotsTestCase):
    """
    execpervps.
    """

    def test_capThenMebusy(self):
        """
        With execpervps commands running in a VPS, one more is MEBUSY at
        once; another VPS of the same owner is not affected.
        """
        self.sleeps(self.perVps)
        self.assertVpsCapFull()
        self.assertEqual(self.answer(self.execAs("echo b", "beta")), "b\n")

    def test_oneEndsOneMore(self):
        """
        Once one running command ends, one more is accepted, and only one.
        """
        self.sleeps(self.perVps - 1, seconds=30)
        short = self.execAs("sleep 5")
        self.assertVpsCapFull()
        self.clock.advance(5)
        self.assertEqual(self.answer(short), "")
        self.sleeps(1)
        self.assertVpsCapFull()

    def test_adminsToo(self):
        """
        Administrators are held to the cap of a VPS like its owner: the
        owner's commands fill it for them too.
        """
        self.sleeps(self.perVps)
        self.assertFault(MEBUSY, self.fake.call("vx.exec", name="alpha",
                                                command="true"),
                         "setting execpervps")

    def test_settingReadAtEachCall(self):
        """
        The cap is the configuration's at each call (a SIGHUP's reread
        applies to the next command).
        """
        self.sleeps(self.perVps)
        self.assertVpsCapFull()
        self.fake.config.execPerVps = self.perVps + 1
        self.sleeps(1)
        fault = self.assertFault(MEBUSY, self.execAs("true"), "execpervps")
        self.assertIn("already runs %d" % (self.perVps + 1,),
                      fault.faultString)


class PerUserTests(ExecSlotsTestCase):
    """
    execperuser.
    """

    def test_acrossVpses(self):
        """
        A user's commands count across their VPSes: beyond execperuser,
        MEBUSY in any of them, naming the user and the setting; another
        user is not affected; one ending frees one.
        """
        self.sleeps(3, "alpha")
        short = self.execAs("sleep 5", "beta")
        self.sleeps(1, "beta")
        fault = self.assertFault(MEBUSY, self.execAs("true", "beta"),
                                 "setting execperuser")
        self.assertIn("user %r already runs %d" % (OWNER, self.perUser),
                      fault.faultString)
        # beta runs 2 of its 3: the user's cap refused it, not the VPS's.
        self.assertNotIn("execpervps", fault.faultString)
        self.assertEqual(self.answer(self.fake.call(
            "vx.exec", name="beta", command="echo admin")), "admin\n")
        self.clock.advance(5)
        self.assertEqual(self.answer(short), "")
        self.sleeps(1, "beta")
        self.assertFault(MEBUSY, self.execAs("true", "beta"),
                         "setting execperuser")


class ReleaseTests(ExecSlotsTestCase):
    """
    Every way a vx.exec call ends gives its slot back.
    """

    def test_failures(self):
        """
        Commands that exit non-zero, are killed, are not found, or have a
        bad command line or a frozen VPS give their slots back.
        """
        for command, code in (("sh -c 'exit 3'", MEEXEC + 3),
                              ("sh -c 'kill -9 $$'", MEEXEC + 128 + 9),
                              ("nosuchcommand", MEEXEC + 127),
                              ("echo 'a", 200)):
            for _ in range(self.perVps + 1):
                self.assertFault(code, self.execAs(command))
        self.answer(self.kernel.freeze("alpha"))
        for _ in range(self.perVps + 1):
            self.assertFault(MESTOPPED, self.execAs("true"), "frozen")
        self.answer(self.kernel.unfreeze("alpha"))
        self.assertEqual(self.fake.services.execSlots.running(), 0)
        self.sleeps(self.perVps)
        self.assertVpsCapFull()

    def test_busyLock(self):
        """
        A command refused because the VPS's lock is held takes no slot.
        """
        self.assertTrue(self.fake.services.locks.acquire("alpha"))
        for _ in range(self.perVps + 1):
            self.assertFault(MEBUSY, self.execAs("true"), "busy with another")
        self.fake.services.locks.release("alpha")
        self.sleeps(self.perVps)
        self.assertVpsCapFull()

    def test_timeout(self):
        """
        Commands killed after the exec timeout give their slots back.
        """
        self.fake.config.execTimeout = 5
        calls = self.sleeps(self.perVps)
        self.assertVpsCapFull()
        self.clock.advance(5)
        for d in calls:
            self.assertFault(MEEXEC + 128 + 9, d, "exec timeout")
        self.sleeps(self.perVps)
        self.assertVpsCapFull()

    def test_workerDeath(self):
        """
        Commands whose kernel worker dies give their slots back (MESYS:
        the VPS still runs).
        """
        pending = []

        def execute(name, argv, timeout, cap, env, attached=None):
            attached()
            pending.append(defer.Deferred())
            return pending[-1]
        self.patch(self.kernel, "execute", execute)
        calls = self.sleeps(self.perVps)
        self.assertVpsCapFull()
        for d in pending:
            d.errback(WorkerFailed("the kernel worker died"))
        for d in calls:
            self.assertFault(MESYS, d, "the kernel worker died")
        self.assertEqual(self.fake.services.execSlots.running(), 0)
        self.assertEqual(self.fake.services.locks.held(), [])
        self.sleeps(self.perVps)
        self.assertVpsCapFull()

    def test_unexpectedError(self):
        """
        A failure that is no kernel error gives the slot back too.
        """
        def execute(name, argv, timeout, cap, env, attached=None):
            attached()
            return defer.fail(RuntimeError("surprise"))
        patched = self.patch(self.kernel, "execute", execute)
        for _ in range(self.perVps + 1):
            fault = self.successResultOf(self.execAs("true"))
            self.assertIsInstance(fault, VCDFault)
            self.assertNotEqual(fault.faultCode, MEBUSY)
        self.flushLoggedErrors(RuntimeError)
        self.assertEqual(self.fake.services.execSlots.running(), 0)
        patched.restore()
        self.sleeps(self.perVps)
        self.assertVpsCapFull()

    def test_stopKillsThem(self):
        """
        vx.stop, by the owner, is not refused while the VPS's cap and the
        owner's are full; the commands it kills give their slots back.
        """
        self.fake.config.execPerUser = self.perVps
        calls = self.sleeps(self.perVps)
        self.assertVpsCapFull()
        stopped = self.fake.call("vx.stop", OWNER, OWNER_PASSWORD,
                                 name="alpha")
        self.clock.advance(1)  # the halt takes a second
        self.answer(stopped)
        self.assertRunning("alpha", False)
        for d in calls:
            self.assertFault(MEEXEC + 128 + 9, d, "stopped meanwhile")
        self.assertEqual(self.fake.services.execSlots.running(), 0)
        self.answer(self.fake.call("vx.start", name="alpha"))
        self.sleeps(self.perVps)
        self.assertVpsCapFull()

    def test_hardStop(self):
        """
        Commands of a VPS that stops under them give their slots back.
        """
        calls = self.sleeps(self.perVps)
        self.kernel.hardStop("alpha")
        for d in calls:
            self.assertFault(MEEXEC + 128 + 9, d)
        self.assertEqual(self.fake.services.execSlots.running(), 0)
        self.answer(self.fake.call("vx.start", name="alpha"))
        self.sleeps(self.perVps)
        self.assertVpsCapFull()


class RebootTests(ExecSlotsTestCase):
    """
    vx.reboot while the caps are full.
    """

    vshelperHook = True

    def test_rebootNotRefused(self):
        """
        vx.reboot runs its reboot command while the VPS's cap and the
        owner's are full; the VPS comes back and the slots are free.
        """
        self.fake.config.execPerUser = self.perVps
        calls = self.sleeps(self.perVps)
        self.assertVpsCapFull()
        self.answer(self.fake.call("vxdb.init.set", name="alpha",
                                   reboot="/bin/sh -c 'echo see you;"
                                   " reboot'"))
        self.assertEqual(self.answer(self.fake.call(
            "vx.reboot", OWNER, OWNER_PASSWORD, name="alpha")), "see you\n")
        self.clock.advance(1)
        self.clock.advance(0)
        self.assertRunning("alpha")
        for d in calls:
            self.assertFault(MEEXEC + 128 + 9, d)
        self.sleeps(self.perVps)
        self.assertVpsCapFull()


class ShownTests(ExecSlotsTestCase):
    """
    vcd.hostinfo says the caps, vcd.status the commands running.
    """

    def test_hostinfo(self):
        info = self.answer(self.fake.call("vcd.hostinfo", OWNER,
                                          OWNER_PASSWORD))
        self.assertEqual((info["execpervps"], info["execperuser"]),
                         (self.perVps, self.perUser))

    def test_status(self):
        self.sleeps(2)
        self.assertEqual(self.answer(self.fake.call("vcd.status"))["execs"],
                         2)


class SettingsTests(unittest.TestCase):
    """
    The settings execpervps and execperuser in the configuration file.
    """

    def configFrom(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[vcd]\n" + text)
        return buildConfiguration({"config": path})

    def test_defaults(self):
        config = self.configFrom("")
        self.assertEqual((config.execPerVps, config.execPerUser), (4, 16))

    def test_given(self):
        config = self.configFrom("execpervps = 2\nexecperuser = 7\n")
        self.assertEqual((config.execPerVps, config.execPerUser), (2, 7))

    def test_refused(self):
        for text in ("execpervps = 0\n", "execperuser = 0\n",
                     "execpervps = many\n", "execperuser = -1\n"):
            error = self.assertRaises(ConfigurationError, self.configFrom,
                                      text)
            self.assertIn(text.split()[0] + " must be a number from 1",
                          str(error))
