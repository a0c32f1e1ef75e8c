"""
The replies of configuration changes: every method with a live change
(L{vcd.api.method.Method.live}), found among the registered methods so
that a new setter is covered too, says whether the change applied now or
applies at the next start, for a stopped and for a running VPS, and
system.methodHelp says what applies live. On the fake-kernel daemon.
"""

from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin, fakeFeatures
from vcd import names
from vcd.api import arguments as A
from vcd.api.method import APPLIED_NOW, NEXT_START

#: The manual's (Part V, chapter 13) methods changing a VPS's
#: configuration, written out by hand: every one must be among the
#: methods with a live change. vxdb.owner.add and .remove are not here:
#: they change who may call methods on a VPS, not the VPS.
MANUAL_SETTERS = {
    "vxdb.dx.limit.remove", "vxdb.dx.limit.set", "vxdb.init.set",
    "vxdb.mount.remove", "vxdb.mount.set", "vxdb.nx.addr.remove",
    "vxdb.nx.addr.set", "vxdb.nx.broadcast.remove", "vxdb.nx.broadcast.set",
    "vxdb.vx.bcaps.add", "vxdb.vx.bcaps.remove", "vxdb.vx.ccaps.add",
    "vxdb.vx.ccaps.remove", "vxdb.vx.flags.add", "vxdb.vx.flags.remove",
    "vxdb.vx.limit.remove", "vxdb.vx.limit.set", "vxdb.vx.sched.remove",
    "vxdb.vx.sched.set", "vxdb.vx.uname.remove", "vxdb.vx.uname.set",
}

#: Arguments that cannot be made from a parameter's type alone (the
#: method's own checks relate them), by method; the others come from
#: L{sampleValue}.
ARGUMENTS = {
    "vxdb.dx.limit.set": {"space": "1048576", "inodes": "65536"},
    "vxdb.vx.cpuset.set": {"cpus": "0"},
    "vxdb.vx.sched.set": {"interval": 100, "fillrate": 50,
                          "tokensmax": 200},
    "vxdb.mount.set": {"type": "tmpfs", "opts": "size=1m"},
}


def liveFeatures():
    """
    The fake daemon's host, with disk limits too, so that every setter
    can be called.
    """
    features = fakeFeatures()
    features.loopDevices = True
    return features


def sampleValue(features, param):
    """
    A valid value of a required parameter, made from its declared type.

    @return: the value, or None if the type says too little.
    """
    kind = param.type
    if isinstance(kind, A.KnobName):
        supported = [name for name in sorted(names.KNOWN[kind.kind])
                     if features.support(kind.kind, name)[0]]
        return supported[0] if supported else None
    if isinstance(kind, A.IPAddress):
        return "198.18.0.10"
    if isinstance(kind, (A.AbsolutePath, A.Command)):
        return "/srv"
    if isinstance(kind, A.Pattern):
        return None
    if isinstance(kind, A.String):
        return "v1"
    if isinstance(kind, A.Bool):
        return True
    if isinstance(kind, A.Int):
        return max(kind.minimum, min(1, kind.maximum))
    if isinstance(kind, A.UInt64):
        return "4096"
    return None


class LiveReplyTests(FakeDaemonMixin, unittest.TestCase):
    """
    Every method with a live change, found among the registered methods,
    answers whether the change applied now or at the next start, for a
    stopped and for a running VPS, and its help says what applies live.
    """

    def setUp(self):
        super().setUp()
        self.fake.services.features = liveFeatures()
        self.fake.addVps("web1")
        self.methods = self.fake.dispatcher.methods
        self.changing = sorted(
            (name for name, method in self.methods.items()
             if method.live is not None),
            # Sets and adds before the removes that undo them.
            key=lambda name: (name.endswith(".remove"), name))

    def argumentsOf(self, name):
        """
        The arguments of a call of method C{name} on web1: its required
        parameters, made from their types unless L{ARGUMENTS} says.
        """
        method = self.methods[name]
        given = ARGUMENTS.get(name, {})
        args = {"name": "web1"}
        for param in method.params:
            if param.name in given:
                args[param.name] = given[param.name]
            elif param.required and param.name != "name":
                value = sampleValue(self.fake.services.features, param)
                self.assertIsNotNone(value, "%s: add its %s to ARGUMENTS"
                                     % (name, param.name))
                args[param.name] = value
        return args

    def test_derivedList(self):
        """
        The methods with a live change are the manual's setters and more,
        each taking a VPS name; no other vxdb setter lacks one.
        """
        self.assertEqual(MANUAL_SETTERS - set(self.changing), set())
        self.assertGreater(len(self.changing), len(MANUAL_SETTERS))
        for name in self.changing:
            self.assertIn("name", [p.name for p in self.methods[name].params],
                          name)
        setters = sorted(
            name for name in self.methods if name.startswith("vxdb.")
            and name.rsplit(".", 1)[1] in ("set", "add", "remove")
            and not name.startswith("vxdb.owner."))
        self.assertEqual(sorted(set(setters) - set(self.changing)), [])

    def test_help(self):
        """
        system.methodHelp of each says its reply and what applies live.
        """
        for name in self.changing:
            doc = self.methods[name].live.doc
            self.assertGreater(len(doc), 20, name)
            help = self.fake.dispatch("system.methodHelp", (name,))
            self.assertIn("Reply: %r" % (APPLIED_NOW,), help, name)
            self.assertIn(doc, help, name)

    def assertReplies(self):
        """
        Call every method with a live change on web1; each must answer a
        string starting with APPLIED_NOW or NEXT_START.
        """
        wrong = []
        for name in self.changing:
            reply = self.successResultOf(
                self.fake.call(name, **self.argumentsOf(name)))
            if not (isinstance(reply, str)
                    and reply.startswith((APPLIED_NOW, NEXT_START))):
                wrong.append((name, reply))
        self.assertEqual(wrong, [])

    def test_stoppedVps(self):
        self.assertRunning("web1", False)
        self.assertReplies()
        self.assertRunning("web1", False)

    def test_runningVps(self):
        self.answer(self.fake.call("vx.start", name="web1"))
        self.assertReplies()
        self.assertRunning("web1")


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
