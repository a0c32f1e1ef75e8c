"""
The replies of configuration changes: each vxdb setter says whether the
change applied now or applies at the next start, and system.methodHelp
says which. On the fake-kernel daemon.
"""

from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from vcd.api.method import APPLIED_NOW, NEXT_START

SETTERS = {
    "vxdb.vx.bcaps.add": {"bcap": "CHOWN"},
    "vxdb.vx.bcaps.remove": {"bcap": "CHOWN"},
    "vxdb.vx.uname.set": {"uname": "NODENAME", "value": "n1"},
    "vxdb.mount.set": {"dst": "/tmp", "type": "tmpfs", "opts": "size=1m"},
    "vxdb.init.set": {"timeout": 9},
}


class LiveReplyTests(FakeDaemonMixin, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")

    def test_everySetterSays(self):
        """
        Every method that changes a VPS's configuration (each .set, .add
        and .remove under vxdb. but owners) answers a string starting
        with 'applied now' or 'applies at the next start', and its help
        says so.
        """
        methods = self.fake.dispatcher.methods
        changing = sorted(
            name for name in methods if name.startswith("vxdb.")
            and name.rsplit(".", 1)[1] in ("set", "add", "remove")
            and not name.startswith("vxdb.owner."))
        self.assertGreater(len(changing), 20)
        for name in changing:
            self.assertIsNotNone(methods[name].live, name)
            help = self.fake.dispatch("system.methodHelp", (name,))
            self.assertIn("Reply: ", help, name)
        for name, args in sorted(SETTERS.items()):
            reply = self.answer(self.fake.call(name, name="web1", **args))
            self.assertTrue(reply.startswith((APPLIED_NOW, NEXT_START)),
                            (name, reply))


class LiveUnameTests(FakeDaemonMixin, unittest.TestCase):
    """
    NODENAME and DOMAINNAME reach a running VPS at once.
    """

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")

    def test_runningVps(self):
        self.answer(self.fake.call("vx.start", name="web1"))
        vps = self.kernel.vps("web1")
        self.assertEqual(self.answer(self.fake.call(
            "vxdb.vx.uname.set", name="web1", uname="NODENAME",
            value="www")), APPLIED_NOW)
        self.answer(self.fake.call("vxdb.vx.uname.set", name="web1",
                                   uname="DOMAINNAME", value="example.org"))
        self.assertEqual((vps.hostname, vps.domainname),
                         ("www", "example.org"))
        self.answer(self.fake.call("vxdb.vx.uname.remove", name="web1",
                                   uname=""))
        self.assertEqual((vps.hostname, vps.domainname), ("web1", "(none)"))

    def test_stoppedVps(self):
        reply = self.answer(self.fake.call(
            "vxdb.vx.uname.set", name="web1", uname="NODENAME", value="www"))
        self.assertTrue(reply.startswith(NEXT_START), reply)


class LiveInitTests(FakeDaemonMixin, unittest.TestCase):
    """
    vxdb.init.set: the init command applies at the next start, the halt
    and reboot commands and the timeout at once; the reply starts with
    'applies at the next start' and says which applied now.
    """

    def setUp(self):
        super().setUp()
        self.fake.addVps("web1")

    def test_runningVps(self):
        """
        On a running VPS the reply names the init command as what applies
        at the next start and the halt and reboot commands and the timeout
        as applied now; the next vx.stop runs the new halt command.
        """
        self.answer(self.fake.call("vx.start", name="web1"))
        reply = self.answer(self.fake.call(
            "vxdb.init.set", name="web1", init="/sbin/init 2",
            halt="/bin/sh -c 'echo new halt; halt'"))
        self.assertEqual(
            reply, "applies at the next start (the init command; the halt"
            " and reboot commands and the timeout applied now: vx.stop and"
            " vx.reboot read them when they run)")
        self.assertFalse(reply.startswith(APPLIED_NOW), reply)
        self.assertIn("lxc.init.cmd = /sbin/init\n",
                      self.kernel.vps("web1").config)
        d = self.fake.call("vx.stop", name="web1")
        self.clock.advance(1)
        self.assertEqual(self.answer(d), "new halt\n")
        self.answer(self.fake.call("vx.start", name="web1"))
        self.assertIn("lxc.init.cmd = /sbin/init 2\n",
                      self.kernel.vps("web1").config)

    def test_stoppedVps(self):
        reply = self.answer(self.fake.call("vxdb.init.set", name="web1",
                                           timeout=9))
        self.assertEqual(reply, "applies at the next start (the virtual"
                         " server is not running)")

    def test_help(self):
        """
        system.methodHelp says what the reply starts with and which parts
        apply at once.
        """
        help = self.fake.dispatch("system.methodHelp", ("vxdb.init.set",))
        self.assertIn("The reply always starts 'applies at the next start':"
                      " the init command applies at the next start. The"
                      " halt and reboot commands and the timeout apply at"
                      " once", help)


class HostinfoLiveTests(FakeDaemonMixin, unittest.TestCase):

    def test_hostinfoListsLiveKnobs(self):
        """
        vcd.hostinfo says, for each configuration change, what of it
        applies at once: the same text system.methodHelp gives.
        """
        live = self.answer(self.fake.call("vcd.hostinfo"))["live"]
        self.assertIn("vxdb.vx.uname.set", live)
        self.assertIn("at once", live["vxdb.vx.uname.set"])
        self.assertIn(live["vxdb.vx.uname.set"], self.fake.dispatch(
            "system.methodHelp", ("vxdb.vx.uname.set",)))
        self.assertNotIn("vxdb.owner.add", live)
