"""
Context flags and context capabilities on real VPSes (busybox containers
through a real daemon), measured from inside the VPS and against oracles
of the host's own: the cgroup freezer's file, the host's /proc, the limit
the test set.

  - SCHED_PAUSE: a frozen VPS runs nothing (a counter it writes stays
    still), live and from its start; a stop thaws it;
  - VIRT_MEM, VIRT_LOAD, VIRT_CPU: lxcfs's views of /proc; VIRT_UPTIME: a
    time namespace;
  - SET_UTSNAME: without it the VPS's root cannot change its host name,
    even with the bcap SYS_ADMIN;
  - RAW_ICMP: ping without the bcap NET_RAW, raw ICMP only.

These tests need lxcfs (the daemon starts it at /var/lib/lxcfs if none
serves there, and stops it at its stop if it started it).
"""

import os
import time

from twisted.internet import defer
from twisted.trial import unittest

from tests.harness import DaemonTestCase, Fault
from tests.running import RunningHelpers, pause, testAddress
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.faults import MEINVAL
from vcd.kernel import contextconfig, pinggroups
from vcd.kernel.lxcconfig import StartConfig


def _hostFile(path):
    with open(path) as f:
        return f.read()


def _freezerState(name):
    """
    The freezer state of VPS C{name}'s cgroup, read from the host's cgroup
    file system (v1 freezer, or v2 cgroup.freeze).
    """
    for path, frozen in (
            ("/sys/fs/cgroup/freezer/lxc.payload.%s/freezer.state", None),
            ("/sys/fs/cgroup/lxc.payload.%s/cgroup.freeze", "1")):
        try:
            text = _hostFile(path % (name,)).strip()
        except OSError:
            continue
        if frozen is None:
            return text
        return "FROZEN" if text == frozen else "THAWED"
    raise AssertionError("no freezer file for %s" % (name,))


class ContextFlagsTestCase(RunningHelpers, DaemonTestCase):
    """
    Waits for the daemon's lxcfs before each test.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        why = yield self.daemon.lxcfs.firstCheck
        if why is not None:
            self.fail("lxcfs does not serve (%s): apt-get install lxcfs"
                      % (why,))

    @defer.inlineCallbacks
    def vpsWith(self, flags=(), ccaps=(), bcaps=(), start=True,
                without=()):
        """
        A new VPS with these flags, ccaps and bcaps added (and C{without}'s
        ccaps and flags removed), started if asked, its boot over.
        """
        name = yield self.newVps()
        for flag in flags:
            yield self.admin.call("vxdb.vx.flags.add", name=name, flag=flag)
        for ccap in ccaps:
            yield self.admin.call("vxdb.vx.ccaps.add", name=name, ccap=ccap)
        for bcap in bcaps:
            yield self.admin.call("vxdb.vx.bcaps.add", name=name, bcap=bcap)
        for kind, value in without:
            yield self.admin.call("vxdb.vx.%ss.remove" % (kind,), name=name,
                                  **{kind: value})
        if start:
            yield self.admin.call("vx.start", name=name)
            yield self.waitBooted(name)
        return name


class PauseTests(ContextFlagsTestCase):
    """
    SCHED_PAUSE freezes the VPS.
    """

    @defer.inlineCallbacks
    def startCounter(self, name):
        """
        Start a loop in VPS C{name} that writes a growing count to
        /tmp/count; return a function reading it from the host.
        """
        yield self.execIn(name, "sh -c 'i=0; while :; do i=$((i+1));"
                          " echo $i > /tmp/count.new;"
                          " mv /tmp/count.new /tmp/count; done"
                          " </dev/null >/dev/null 2>&1 &'")
        status = yield self.status(name)
        path = "/proc/%d/root/tmp/count" % (status["initpid"],)

        def read():
            try:
                return int(_hostFile(path))
            except (OSError, ValueError):
                return None
        return read

    @defer.inlineCallbacks
    def waitAdvance(self, read, timeout=10):
        deadline = time.monotonic() + timeout
        first = read()
        while True:
            now = read()
            if first is not None and now is not None and now > first:
                return now - first
            if first is None:
                first = now
            if time.monotonic() > deadline:
                self.fail("the counter did not advance within %ds (%r)"
                          % (timeout, now))
            yield pause(0.02)

    @defer.inlineCallbacks
    def test_live(self):
        """
        Added to a running VPS, SCHED_PAUSE freezes it at once (its counter
        stays still over a second; the host's freezer says FROZEN;
        vx.status says frozen); removed, it runs again.
        """
        name = yield self.vpsWith()
        read = yield self.startCounter(name)
        yield self.waitAdvance(read)
        reply = yield self.admin.call("vxdb.vx.flags.add", name=name,
                                      flag="SCHED_PAUSE")
        self.assertEqual(reply, APPLIED_NOW)
        self.assertEqual(_freezerState(name), "FROZEN")
        status = yield self.status(name)
        self.assertEqual((status["running"], status["frozen"]), (True, True))
        before = read()
        self.assertIsNotNone(before, "the counter file cannot be read")
        yield pause(1.0)  # the interval observed, not a synchronisation
        after = read()
        self.assertEqual(before, after)
        reply = yield self.admin.call("vxdb.vx.flags.remove", name=name,
                                      flag="SCHED_PAUSE")
        self.assertEqual(reply, APPLIED_NOW)
        self.assertEqual(_freezerState(name), "THAWED")
        yield self.waitAdvance(read)
        status = yield self.status(name)
        self.assertIs(status["frozen"], False)
        self.measured = (before, after)

    @defer.inlineCallbacks
    def test_fromStart(self):
        """
        A VPS started with SCHED_PAUSE is frozen as soon as its init runs;
        removing the flag lets it boot; a stopped VPS's change applies at
        its next start.
        """
        name = yield self.newVps()
        reply = yield self.admin.call("vxdb.vx.flags.add", name=name,
                                      flag="SCHED_PAUSE")
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("not running", reply)
        yield self.admin.call("vx.start", name=name)
        self.assertEqual(_freezerState(name), "FROZEN")
        status = yield self.status(name)
        self.assertIs(status["frozen"], True)
        yield self.admin.call("vxdb.vx.flags.remove", name=name,
                              flag="SCHED_PAUSE")
        yield self.waitBooted(name)

    @defer.inlineCallbacks
    def test_stopFrozen(self):
        """
        vx.stop of a frozen VPS thaws it so its halt runs: it stops.
        """
        name = yield self.vpsWith()
        yield self.admin.call("vxdb.vx.flags.add", name=name,
                              flag="SCHED_PAUSE")
        started = time.monotonic()
        yield self.admin.call("vx.stop", name=name)
        yield self.assertRunning(name, False)
        # Its halt ran: well under the stop timeout (15 s) and a hard stop.
        self.assertLess(time.monotonic() - started, 10)


class ProcViewTests(ContextFlagsTestCase):
    """
    VIRT_MEM, VIRT_LOAD, VIRT_CPU and VIRT_UPTIME give the VPS its own
    /proc files.
    """

    @defer.inlineCallbacks
    def inside(self, name, path):
        text = yield self.execIn(name, "cat " + path)
        return text

    @staticmethod
    def memTotal(text):
        for line in text.splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
        raise AssertionError("no MemTotal in %r" % (text,))

    @defer.inlineCallbacks
    def test_meminfo(self):
        """
        With VIRT_MEM and an RSS limit of 64 MiB, the VPS's MemTotal is
        64 MiB; without the flag it is the host's.
        """
        host = self.memTotal(_hostFile("/proc/meminfo"))
        name = yield self.vpsWith(flags=["VIRT_MEM"], start=False)
        yield self.admin.call("vxdb.vx.limit.set", name=name, limit="RSS",
                              soft=65536, max=65536)
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        self.assertEqual(self.memTotal((yield self.inside(
            name, "/proc/meminfo"))), 65536)
        plain = yield self.vpsWith(without=[("flag", "VIRT_MEM")],
                                   start=False)
        yield self.admin.call("vxdb.vx.limit.set", name=plain, limit="RSS",
                              soft=65536, max=65536)
        yield self.admin.call("vx.start", name=plain)
        yield self.waitBooted(plain)
        self.assertEqual(self.memTotal((yield self.inside(
            plain, "/proc/meminfo"))), host)
        self.assertNotEqual(host, 65536)

    @defer.inlineCallbacks
    def test_loadavg(self):
        """
        With VIRT_LOAD, /proc/loadavg counts the VPS's own tasks (its
        fourth field, running/total), not the host's.
        """
        name = yield self.vpsWith(flags=["VIRT_LOAD"])
        text = yield self.inside(name, "/proc/loadavg")
        total = int(text.split()[3].split("/")[1])
        hostTotal = int(_hostFile("/proc/loadavg").split()[3].split("/")[1])
        # init, and cat (and the exec's own process) at most
        self.assertLessEqual(total, 4, text)
        self.assertGreater(hostTotal, 10)

    @defer.inlineCallbacks
    def test_cpuinfo(self):
        """
        With VIRT_CPU, /proc/cpuinfo and /proc/stat show the CPUs of the
        VPS's cpuset (one CPU, written by the test to its cgroup) while the
        host has more.
        """
        hostCpus = _hostFile("/proc/cpuinfo").count("processor\t:")
        if hostCpus < 2:
            self.fail("this test needs a host with 2 CPUs or more")
        name = yield self.vpsWith(flags=["VIRT_CPU"])
        yield self.daemon.parts.kernel.setCgroupItem(name, "cpuset.cpus",
                                                     "1")
        cpuinfo = yield self.inside(name, "/proc/cpuinfo")
        self.assertEqual(cpuinfo.count("processor\t:"), 1, cpuinfo)
        stat = yield self.inside(name, "/proc/stat")
        cpus = [line.split()[0] for line in stat.splitlines()
                if line.startswith("cpu") and line[3:4].isdigit()]
        self.assertEqual(len(cpus), 1, stat)

    @defer.inlineCallbacks
    def test_uptime(self):
        """
        With VIRT_UPTIME, /proc/uptime starts near 0 at the VPS's start,
        while the host's is large; a VPS started after it without the flag
        has the host's (the time namespace is not inherited).
        """
        name = yield self.vpsWith(flags=["VIRT_UPTIME"])
        inside = float((yield self.inside(name, "/proc/uptime")).split()[0])
        host = float(_hostFile("/proc/uptime").split()[0])
        self.assertLess(inside, 30)
        self.assertGreater(host, inside + 60)
        plain = yield self.vpsWith(without=[("flag", "VIRT_UPTIME")])
        other = float((yield self.inside(plain, "/proc/uptime")).split()[0])
        self.assertGreater(other, host - 1)
        self.measured = (inside, host)

    @defer.inlineCallbacks
    def test_nextStart(self):
        """
        Adding VIRT_MEM to a running VPS answers that it applies at the
        next start; HIDE_NETIF is always in force (removing it says it
        stays).
        """
        name = yield self.vpsWith(without=[("flag", "VIRT_MEM")])
        reply = yield self.admin.call("vxdb.vx.flags.add", name=name,
                                      flag="VIRT_MEM")
        self.assertTrue(reply.startswith(NEXT_START), reply)
        reply = yield self.admin.call("vxdb.vx.flags.remove", name=name,
                                      flag="HIDE_NETIF")
        self.assertIn("HIDE_NETIF stays in force", reply)
        info = yield self.admin.call("vcd.hostinfo")
        self.assertIn("always in force",
                      info["knobs"]["flag"]["accepted"]["HIDE_NETIF"])
        self.assertIs(info["lxcfs"]["serving"], True)


class UtsnameTests(ContextFlagsTestCase):
    """
    SET_UTSNAME decides whether the VPS may change its host name.
    """

    @defer.inlineCallbacks
    def test_refusedWithout(self):
        """
        Without SET_UTSNAME (even with the bcap SYS_ADMIN) hostname fails
        with EPERM and the name stays; /proc/sys/kernel/hostname cannot be
        written either.
        """
        name = yield self.vpsWith(bcaps=["SYS_ADMIN"],
                                  without=[("ccap", "SET_UTSNAME")])
        before = (yield self.execIn(name, "hostname")).strip()
        try:
            output = yield self.execIn(name, "hostname renamed")
        except Fault as f:
            self.assertIn("not permitted", f.message)
        else:
            self.fail("hostname succeeded: %r" % (output,))
        try:
            yield self.execIn(name, "sh -c 'echo renamed >"
                              " /proc/sys/kernel/hostname'")
        except Fault:
            pass
        else:
            self.fail("/proc/sys/kernel/hostname was written")
        self.assertEqual((yield self.execIn(name, "hostname")).strip(),
                         before)

    @defer.inlineCallbacks
    def test_allowedWith(self):
        """
        With SET_UTSNAME and SYS_ADMIN, hostname changes the name.
        """
        name = yield self.vpsWith(ccaps=["SET_UTSNAME"], bcaps=["SYS_ADMIN"])
        yield self.execIn(name, "hostname renamed")
        self.assertEqual((yield self.execIn(name, "hostname")).strip(),
                         "renamed")

    @defer.inlineCallbacks
    def test_liveReply(self):
        """
        A change of SET_UTSNAME on a running VPS says it applies at the
        next start.
        """
        name = yield self.vpsWith()
        reply = yield self.admin.call("vxdb.vx.ccaps.remove", name=name,
                                      ccap="SET_UTSNAME")
        self.assertTrue(reply.startswith(NEXT_START), reply)


class RawIcmpTests(ContextFlagsTestCase):
    """
    RAW_ICMP lets the VPS ping without the bcap NET_RAW (raw ICMP only).
    """

    @defer.inlineCallbacks
    def addressedVps(self, ccaps=(), without=()):
        address = testAddress()
        name = yield self.vpsWith(ccaps=ccaps, without=without, start=False)
        yield self.admin.call("vxdb.nx.addr.set", name=name, addr=address,
                              netmask="255.255.255.0")
        yield self.admin.call("vx.start", name=name)
        yield self.waitBooted(name)
        return name, address

    @defer.inlineCallbacks
    def test_pingWith(self):
        """
        With RAW_ICMP (and no NET_RAW), ping of the VPS's own address
        works; a packet socket (arping) and a raw UDP socket are refused;
        ping_group_range holds all of the VPS's groups.
        """
        name, address = yield self.addressedVps(ccaps=["RAW_ICMP"])
        bcaps = yield self.admin.call("vxdb.vx.bcaps.get", name=name)
        self.assertNotIn("NET_RAW", bcaps)
        output = yield self.execIn(name, "ping -c 1 -W 5 " + address)
        self.assertIn("1 packets received", output)
        try:
            yield self.execIn(name, "arping -c 1 -w 1 -I eth0 " + address)
        except Fault as f:
            self.assertIn("not permitted", f.message)
        else:
            self.fail("arping (a packet socket) worked")
        groups = yield self.execIn(name, "cat"
                                   " /proc/sys/net/ipv4/ping_group_range")
        self.assertEqual(groups.split(), ["0", "65535"])

    @defer.inlineCallbacks
    def test_refusedWithout(self):
        """
        Without RAW_ICMP nor NET_RAW, ping fails; adding RAW_ICMP to the
        running VPS opens ICMP datagram sockets now (ping_group_range) and
        says the raw part applies at the next start.
        """
        name, address = yield self.addressedVps(
            without=[("ccap", "RAW_ICMP")])
        try:
            yield self.execIn(name, "ping -c 1 -W 5 " + address)
        except Fault as f:
            self.assertIn("ermission denied", f.message)
        else:
            self.fail("ping worked without RAW_ICMP")
        reply = yield self.admin.call("vxdb.vx.ccaps.add", name=name,
                                      ccap="RAW_ICMP")
        self.assertTrue(reply.startswith(NEXT_START), reply)
        self.assertIn("applied now", reply)
        groups = yield self.execIn(name, "cat"
                                   " /proc/sys/net/ipv4/ping_group_range")
        self.assertEqual(groups.split(), ["0", "65535"])
        yield self.admin.call("vx.restart", name=name)
        yield self.waitStatus(name, lambda s: s["running"], "running")
        output = yield self.execIn(name, "ping -c 1 -W 5 " + address)
        self.assertIn("1 packets received", output)


class RefusalTests(ContextFlagsTestCase):
    """
    ccaps without an equivalent stay refused with the reason.
    """

    @defer.inlineCallbacks
    def test_others(self):
        name = yield self.newVps()
        yield self.assertFault(MEINVAL, self.admin.call(
            "vxdb.vx.ccaps.add", name=name, ccap="SECURE_MOUNT"),
            "SYS_ADMIN")


class ConfigLinesTests(unittest.TestCase):
    """
    The LXC lines of flags and ccaps (L{vcd.kernel.contextconfig}), and the
    host ids of ping_group_range (L{vcd.kernel.pinggroups}).
    """

    def start(self, flags=(), ccaps=(), bcaps=()):
        return StartConfig("vps1", 1001, "/vservers/vps1", "/sbin/init",
                           bcaps=bcaps, flags=flags, ccaps=ccaps)

    def test_views(self):
        """
        Each VIRT flag binds its lxcfs views over the VPS's own files;
        VIRT_UPTIME offsets the boot clock of a time namespace.
        """
        lines = contextconfig.contextLines(
            self.start(flags=["VIRT_MEM", "VIRT_UPTIME", "HIDE_NETIF"]),
            mountPoint="/l", offset=lambda: "-100s")
        self.assertEqual(lines, [
            ("lxc.mount.entry", "/l/proc/meminfo proc/meminfo none bind 0 0"),
            ("lxc.mount.entry", "/l/proc/swaps proc/swaps none bind 0 0"),
            ("lxc.time.offset.boot", "-100s")])
        self.assertEqual(contextconfig.contextLines(self.start()), [])

    def test_bootOffset(self):
        """
        The offset is minus the host's boot time in whole seconds.
        """
        host = float(_hostFile("/proc/uptime").split()[0])
        offset = contextconfig.bootOffset()
        self.assertTrue(offset.startswith("-") and offset.endswith("s"))
        self.assertLessEqual(abs(int(offset[1:-1]) - host), 2)

    def test_seccompVariant(self):
        """
        Without SET_UTSNAME the profile refuses host name changes; with
        RAW_ICMP but not NET_RAW it allows raw ICMP only.
        """
        base = "/x/vcd.seccomp"
        cases = [((), (), "/x/vcd-nouts.seccomp"),
                 (("SET_UTSNAME",), (), base),
                 (("SET_UTSNAME", "RAW_ICMP"), (), "/x/vcd-icmp.seccomp"),
                 (("RAW_ICMP",), (), "/x/vcd-nouts-icmp.seccomp"),
                 (("SET_UTSNAME", "RAW_ICMP"), ("NET_RAW",), base)]
        for ccaps, bcaps, expected in cases:
            self.assertEqual(contextconfig.seccompProfile(
                base, self.start(ccaps=ccaps, bcaps=bcaps)), expected,
                (ccaps, bcaps))

    def test_boundingSet(self):
        """
        RAW_ICMP keeps NET_RAW in the bounding set.
        """
        self.assertEqual(contextconfig.boundingSet(
            self.start(ccaps=["RAW_ICMP"], bcaps=["CHOWN"])),
            ["CHOWN", "NET_RAW"])
        self.assertEqual(contextconfig.boundingSet(
            self.start(bcaps=["CHOWN"])), ["CHOWN"])

    def test_writeVariants(self):
        """
        The variants are the base profile with their rules appended.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        base = os.path.join(directory, "vcd.seccomp")
        with open(base, "w") as f:
            f.write("2\ndenylist\n[all]\nbpf errno 1\n")
        contextconfig.writeSeccompVariants(base)
        with open(os.path.join(directory, "vcd-nouts-icmp.seccomp")) as f:
            text = f.read()
        self.assertTrue(text.startswith("2\ndenylist\n[all]\nbpf errno 1\n"))
        self.assertIn("sethostname errno 1\n", text)
        self.assertIn("socket errno 1 [0,17,SCMP_CMP_EQ]\n", text)
        with open(os.path.join(directory, "vcd-nouts.seccomp")) as f:
            self.assertNotIn("socket", f.read())

    def test_hostRange(self):
        """
        ping_group_range in host ids: the VPS's mapped range, or all for a
        privileged VPS.
        """
        self.assertEqual(pinggroups.hostRange(
            "         0    1048576      65536\n"), "1048576 1114111")
        self.assertEqual(pinggroups.hostRange(
            "         0          0 4294967295\n"), "0 2147483647")
