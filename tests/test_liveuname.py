"""
A live change of a VPS's host and domain name, seen from inside a real
VPS (busybox's hostname and /proc/sys/kernel/domainname).
"""

from twisted.internet import defer

from tests.harness import DaemonTestCase
from tests.running import RunningHelpers


class LiveUnameTests(RunningHelpers, DaemonTestCase):

    @defer.inlineCallbacks
    def test_namesChangeWithoutRestart(self):
        name = yield self.newVps(start=True)
        before = (yield self.status(name))["initpid"]
        reply = yield self.admin.call("vxdb.vx.uname.set", name=name,
                                      uname="NODENAME", value="live-www")
        self.assertEqual(reply, "applied now")
        yield self.admin.call("vxdb.vx.uname.set", name=name,
                              uname="DOMAINNAME", value="example.org")
        inside = yield self.execIn(
            name, "sh -c 'hostname; cat /proc/sys/kernel/domainname'")
        self.assertEqual(inside.split(), ["live-www", "example.org"])
        yield self.admin.call("vxdb.vx.uname.remove", name=name, uname="")
        inside = yield self.execIn(
            name, "sh -c 'hostname; cat /proc/sys/kernel/domainname'")
        self.assertEqual(inside.split(), [name, "(none)"])
        self.assertEqual((yield self.status(name))["initpid"], before)
