"""
Tests for L{vcd.kernel.lxcconfig}: the LXC configuration text rendered from
a VPS's VXDB records, key by key and unit by unit.

Pure unit tests: no root, no liblxc, no daemon. Every expected line is
written out literally, its numbers worked out by hand from the units of the
manual's knobs (the original implementation's notes: the memory-like limits
ANON AS MAPPED MEMLOCK RSS SHMEM are given in KiB, every other limit in the
kernel's own unit) and the key names of kernel-mapping.md; none comes from
the module's own conversions.
"""

from twisted.trial import unittest

from vcd.kernel.knobmap import startItems
from vcd.kernel.vethrouting import gatewayHookLine, upScriptLine
from vcd.kernel.lxcconfig import (MASKED_PROC_FILES, HostPaths, StartConfig,
                                  renderConfig)

#: The "unlimited" value of a VXDB limit (RLIM_INFINITY, 2 ** 64 - 1).
INF = 18446744073709551615

LAYOUTS = ("v1", "v2", "hybrid")


def paths(layout="v2", apparmor=False, seccomp=False):
    """
    Host paths that do not depend on the machine running the tests.
    """
    return HostPaths("/var/lib/vcd/lxc", "/usr/sbin/vshelper -c /etc/vcd.conf",
                     layout, apparmor=apparmor,
                     seccomp="/var/lib/vcd/lxc/vcd.seccomp" if seccomp
                     else None)


def start(**given):
    """
    The start configuration of VPS C{vps1} (xid 1001), with C{given}.
    """
    values = dict(name="vps1", xid=1001, rootfs="/vservers/vps1",
                  init="/sbin/init")
    values.update(given)
    return StartConfig(**values)


def parse(testCase, text):
    """
    Split rendered configuration text into C{(key, value)} pairs, checking
    that every line has the C{key = value} shape LXC reads.
    """
    testCase.assertTrue(text.endswith("\n"), text)
    pairs = []
    for line in text[:-1].split("\n"):
        key, sep, value = line.partition(" = ")
        testCase.assertEqual(sep, " = ", line)
        testCase.assertNotIn(" ", key, line)
        pairs.append((key, value))
    return pairs


def values(testCase, text, key):
    """
    The values of every line of C{key}, in order.
    """
    return [v for k, v in parse(testCase, text) if k == key]


def limitLines(testCase, text):
    """
    The sorted resource-limit lines (prlimits and cgroup keys) of C{text}.
    """
    return sorted("%s = %s" % (k, v) for k, v in parse(testCase, text)
                  if k.startswith(("lxc.prlimit.", "lxc.cgroup.",
                                   "lxc.cgroup2."))
                  and ".devices." not in k)


class WholeConfigurationTests(unittest.TestCase):
    """
    The complete text of the smallest VPS's configuration.
    """

    def test_minimal(self):
        """
        A VPS with no knobs set gets exactly these keys, in this order: its
        name as host name, its own log files under the private lxcpath, no
        capabilities, no auto-start, the post-stop hook with its xid, the
        host's AppArmor and seccomp confinement (the variant refusing host
        name changes: no ccap SET_UTSNAME), PTYs, every device but
        the standard ones denied, the /proc files about the host hidden,
        and an empty network namespace.
        """
        text = renderConfig(start(), paths("v2", apparmor=True, seccomp=True))
        self.assertEqual(text, (
            "lxc.uts.name = vps1\n"
            "lxc.rootfs.path = /vservers/vps1\n"
            "lxc.rootfs.mount = /var/lib/vcd/lxc/vps1/rootfs.mnt\n"
            "lxc.init.cmd = /sbin/init\n"
            "lxc.start.auto = 0\n"
            "lxc.autodev = 1\n"
            "lxc.pty.max = 1024\n"
            "lxc.tty.max = 0\n"
            "lxc.mount.auto = proc:mixed sys:mixed\n"
            "lxc.log.file = /var/lib/vcd/lxc/vps1/log\n"
            "lxc.log.level = NOTICE\n"
            "lxc.console.logfile = /var/lib/vcd/lxc/vps1/console.log\n"
            "lxc.cap.keep = none\n"
            "lxc.hook.post-stop = /usr/sbin/vshelper -c /etc/vcd.conf --"
            " shutdown 1001\n"
            "lxc.apparmor.profile = generated\n"
            "lxc.apparmor.allow_nesting = 0\n"
            "lxc.seccomp.profile = /var/lib/vcd/lxc/vcd-nouts.seccomp\n"
            "lxc.cgroup2.devices.deny = a\n"
            "lxc.cgroup2.devices.allow = c 1:3 rwm\n"
            "lxc.cgroup2.devices.allow = c 1:5 rwm\n"
            "lxc.cgroup2.devices.allow = c 1:7 rwm\n"
            "lxc.cgroup2.devices.allow = c 1:8 rwm\n"
            "lxc.cgroup2.devices.allow = c 1:9 rwm\n"
            "lxc.cgroup2.devices.allow = c 5:0 rwm\n"
            "lxc.cgroup2.devices.allow = c 5:1 rwm\n"
            "lxc.cgroup2.devices.allow = c 5:2 rwm\n"
            "lxc.cgroup2.devices.allow = c 136:* rwm\n"
            "lxc.mount.entry = /dev/null proc/keys none bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/timer_list none"
            " bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/sched_debug none"
            " bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/kcore none bind,ro,optional"
            " 0 0\n"
            "lxc.mount.entry = /dev/null proc/latency_stats none"
            " bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/timer_stats none"
            " bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/sysrq-trigger none"
            " bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/kallsyms none"
            " bind,ro,optional 0 0\n"
            "lxc.mount.entry = /dev/null proc/kmsg none bind,ro,optional"
            " 0 0\n"
            "lxc.net.0.type = empty\n"
            "lxc.net.0.flags = up\n"))

    def test_unprivileged(self):
        """
        An unprivileged VPS maps its ids 0-65535 to its own host range, for
        users and groups alike; a privileged one has no id map.
        """
        text = renderConfig(start(idBase=1065536, idCount=65536), paths())
        self.assertEqual(values(self, text, "lxc.idmap"),
                         ["u 0 1065536 65536", "g 0 1065536 65536"])
        self.assertEqual(
            values(self, renderConfig(start(), paths()), "lxc.idmap"), [])

    def test_devicesOnV1(self):
        """
        On cgroup v1 and hybrid hosts the device policy goes to the v1
        devices controller.
        """
        for layout in ("v1", "hybrid"):
            text = renderConfig(start(), paths(layout))
            self.assertEqual(values(self, text, "lxc.cgroup.devices.deny"),
                             ["a"])
            self.assertIn("c 5:2 rwm",
                          values(self, text, "lxc.cgroup.devices.allow"))
            self.assertEqual(values(self, text, "lxc.cgroup2.devices.deny"),
                             [])

    def test_withoutAppArmorOrSeccomp(self):
        """
        On a host without AppArmor or LXC's seccomp profile, no key names
        them (LXC would refuse to start).
        """
        keys = [k for k, _ in parse(self, renderConfig(start(), paths()))]
        self.assertEqual([k for k in keys if "apparmor" in k
                          or "seccomp" in k], [])

    def test_sameForEveryLayout(self):
        """
        Without limits, the cgroup layout changes nothing but the keys of
        the device policy (v1 for v1 and hybrid hosts).
        """
        texts = {renderConfig(start(), paths(layout)).replace(
            "lxc.cgroup2.devices", "lxc.cgroup.devices")
            for layout in LAYOUTS}
        self.assertEqual(len(texts), 1)

    def test_everyKeyOnce(self):
        """
        Apart from the keys LXC accumulates (mount entries, addresses,
        allowed devices), every key appears once even with every knob set.
        """
        text = renderConfig(start(
            bcaps=["CHOWN", "KILL"], uname={"NODENAME": "n1"},
            mounts=[("none", "/tmp", "tmpfs", "defaults"),
                    ("none", "/run", "tmpfs", "defaults")],
            addresses=[("198.18.0.2", "255.255.255.0"),
                       ("198.18.0.3", "255.255.255.0"),
                       ("2001:db8::2", "64")],
            limits={"NOFILE": (10, 20), "RSS": (100, 200),
                    "NPROC": (50, 50)}), paths("v1", True, True))
        keys = [k for k, _ in parse(self, text)]
        repeated = {k for k in keys if keys.count(k) > 1}
        self.assertEqual(repeated, {"lxc.mount.entry",
                                    "lxc.net.0.ipv4.address",
                                    "lxc.cgroup.devices.allow"})


class PathTests(unittest.TestCase):
    """
    The root filesystem, init command and per-VPS files.
    """

    def test_rootfsDirectory(self):
        text = renderConfig(start(rootfs="/vservers/web"), paths())
        self.assertEqual(values(self, text, "lxc.rootfs.path"),
                         ["/vservers/web"])

    def test_rootfsOverlay(self):
        """
        An overlay root (template lower layer, VPS upper layer) is passed
        through as LXC's C{overlay:LOWER:UPPER}.
        """
        text = renderConfig(start(
            rootfs="overlay:/var/lib/vcd/templates/deb:/vservers/vps1/upper"),
            paths())
        self.assertEqual(values(self, text, "lxc.rootfs.path"),
                         ["overlay:/var/lib/vcd/templates/deb:"
                          "/vservers/vps1/upper"])

    def test_filesUnderTheVpsDirectory(self):
        """
        The rootfs mount point and logs are in the VPS's own directory of
        the daemon's lxcpath, named by the VPS.
        """
        text = renderConfig(start(name="web-2"), HostPaths(
            "/srv/vcd/lxc", "/bin/vshelper", "v2", False, False))
        self.assertEqual(values(self, text, "lxc.rootfs.mount"),
                         ["/srv/vcd/lxc/web-2/rootfs.mnt"])
        self.assertEqual(values(self, text, "lxc.log.file"),
                         ["/srv/vcd/lxc/web-2/log"])
        self.assertEqual(values(self, text, "lxc.console.logfile"),
                         ["/srv/vcd/lxc/web-2/console.log"])

    def test_initCommand(self):
        """
        The init command line is kept whole, arguments included.
        """
        text = renderConfig(start(init="/sbin/init --log-level=err single"),
                            paths())
        self.assertEqual(values(self, text, "lxc.init.cmd"),
                         ["/sbin/init --log-level=err single"])

    def test_hookXid(self):
        """
        The post-stop hook ends in C{-- shutdown <xid>}: vshelper's
        shutdown action for this context, after an end of options.
        """
        text = renderConfig(start(xid=40000), paths())
        self.assertEqual(values(self, text, "lxc.hook.post-stop"),
                         ["/usr/sbin/vshelper -c /etc/vcd.conf --"
                          " shutdown 40000"])


class CapabilityTests(unittest.TestCase):
    """
    The bcaps (capability bounding set) become C{lxc.cap.keep}: lower case,
    without C{CAP_}; LXC drops every other capability.
    """

    def caps(self, bcaps):
        text = renderConfig(start(bcaps=bcaps), paths())
        self.assertEqual(values(self, text, "lxc.cap.drop"), [])
        return values(self, text, "lxc.cap.keep")

    def test_none(self):
        """
        No bcaps keeps no capability (not: keeps all of them).
        """
        self.assertEqual(self.caps([]), ["none"])

    def test_some(self):
        self.assertEqual(self.caps(["SYS_ADMIN", "NET_RAW", "CHOWN"]),
                         ["chown net_raw sys_admin"])

    def test_everyManualName(self):
        """
        Every bcap of the manual, and those of modern kernels, has LXC's
        name.
        """
        self.assertEqual(self.caps([
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID",
            "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
            "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
            "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
            "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
            "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
            "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE",
            "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND",
            "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]), [
            "audit_control audit_read audit_write block_suspend bpf"
            " checkpoint_restore chown dac_override dac_read_search fowner"
            " fsetid ipc_lock ipc_owner kill lease linux_immutable mac_admin"
            " mac_override mknod net_admin net_bind_service net_broadcast"
            " net_raw perfmon setfcap setgid setpcap setuid sys_admin"
            " sys_boot sys_chroot sys_module sys_nice sys_pacct sys_ptrace"
            " sys_rawio sys_resource sys_time sys_tty_config syslog"
            " wake_alarm"])


class UnameTests(unittest.TestCase):
    """
    NODENAME is the UTS name; DOMAINNAME is set on the running VPS
    (setdomainname in its UTS namespace), not in the configuration.
    """

    def test_nodename(self):
        text = renderConfig(start(uname={"NODENAME": "www.example.org"}),
                            paths())
        self.assertEqual(values(self, text, "lxc.uts.name"),
                         ["www.example.org"])

    def test_nodenameDefaultsToName(self):
        for uname in ({}, {"NODENAME": ""}, {"DOMAINNAME": "example.org"}):
            text = renderConfig(start(uname=uname), paths())
            self.assertEqual(values(self, text, "lxc.uts.name"), ["vps1"])

    def test_domainnameNotInConfiguration(self):
        plain = renderConfig(start(uname={"NODENAME": "n1"}), paths())
        withDomain = renderConfig(start(uname={
            "NODENAME": "n1", "DOMAINNAME": "corp.example.org"}), paths())
        self.assertEqual(withDomain, plain)

    def test_nodenameNewlineRefused(self):
        """
        A node name with a newline would add a key of its own.
        """
        self.assertRaises(ValueError, renderConfig, start(uname={
            "NODENAME": "n1\nlxc.cap.keep = sys_admin"}), paths())


class MountTests(unittest.TestCase):
    """
    VXDB mounts become C{lxc.mount.entry} lines: source, target relative to
    the root, type, options plus C{create=dir}, dump 0, pass 0.
    """

    def entries(self, mounts):
        """
        The mount entries of the VPS's own mounts (after the masks of
        /proc files every VPS has).
        """
        return values(self, renderConfig(start(mounts=mounts), paths()),
                      "lxc.mount.entry")[len(MASKED_PROC_FILES):]

    def test_noCreateDir(self):
        """
        No entry asks liblxc to create its mount point (it would follow a
        symbolic link of the VPS's out of its root): the kernel worker
        makes them, inside the root.
        """
        text = renderConfig(start(mounts=[("none", "/srv/x", "tmpfs",
                                           "defaults")]), paths())
        for entry in values(self, text, "lxc.mount.entry"):
            self.assertNotIn("create=", entry)

    def test_tmpfs(self):
        self.assertEqual(
            self.entries([("none", "/tmp", "tmpfs", "size=64m,mode=1777")]),
            ["none tmp tmpfs size=64m,mode=1777 0 0"])

    def test_eachField(self):
        """
        Each field lands in its own column; a nested target loses only its
        leading slash.
        """
        self.assertEqual(
            self.entries([("/dev/sdb1", "/srv/data/db", "ext4",
                           "ro,noexec,nosuid")]),
            ["/dev/sdb1 srv/data/db ext4 ro,noexec,nosuid 0 0"])

    def test_defaultsOption(self):
        self.assertEqual(self.entries([("none", "/run", "tmpfs",
                                        "defaults")]),
                         ["none run tmpfs defaults 0 0"])

    def test_orderKept(self):
        """
        Mounts are applied in the order given (VXDB gives them by target,
        so a parent is mounted before what is mounted inside it).
        """
        self.assertEqual(self.entries([
            ("none", "/srv", "tmpfs", "defaults"),
            ("none", "/srv/cache", "tmpfs", "size=1m")]), [
            "none srv tmpfs defaults 0 0",
            "none srv/cache tmpfs size=1m 0 0"])

    def test_lxcProvidedSkipped(self):
        """
        proc, sysfs and devpts entries are left to LXC, which mounts them
        itself (proc and sys mixed).
        """
        self.assertEqual(self.entries([
            ("proc", "/proc", "proc", "defaults"),
            ("sysfs", "/sys", "sysfs", "defaults"),
            ("devpts", "/dev/pts", "devpts", "gid=5,mode=620"),
            ("none", "/tmp", "tmpfs", "defaults")]),
            ["none tmp tmpfs defaults 0 0"])

    def test_unsafeFieldsRefused(self):
        """
        A field that is empty or has a space, tab, backslash (an octal
        escape for LXC) or C{#} would shift or hide the other columns.
        """
        good = ("none", "/tmp", "tmpfs", "defaults")
        for index in range(4):
            for bad in ("", "a b", "a\tb", "a\\040b", "#a", "a#b"):
                mount = list(good)
                mount[index] = bad
                self.assertRaises(ValueError, renderConfig,
                                  start(mounts=[tuple(mount)]), paths())

    def test_newlineRefused(self):
        for index in range(4):
            mount = ["none", "/tmp", "tmpfs", "defaults"]
            mount[index] += "\nlxc.cap.keep = sys_admin"
            self.assertRaises(ValueError, renderConfig,
                              start(mounts=[tuple(mount)]), paths())

    def test_hostReachingRefused(self):
        """
        Bind, rbind, move and remount could reach the host's files through
        a symlink in the VPS.
        """
        for opts in ("bind", "rbind", "ro,bind", "move", "remount,ro",
                     "nosuid,rbind,nodev"):
            self.assertRaises(ValueError, renderConfig, start(
                mounts=[("/srv/x", "/mnt", "none", opts)]), paths())

    def test_rootTargetRefused(self):
        """
        A target of the VPS's root has no relative form: its column would
        be empty, shifting type and options into the wrong columns.
        """
        for dst in ("/", "//"):
            self.assertRaises(ValueError, renderConfig, start(
                mounts=[("none", dst, "tmpfs", "defaults")]), paths())

    def test_dotDotTargetRefused(self):
        """
        A target with a C{..} component would leave the VPS's root (LXC
        creates the directory before it checks).
        """
        for dst in ("/..", "/../etc", "/srv/../../etc", "/a/.."):
            self.assertRaises(ValueError, renderConfig, start(
                mounts=[("none", dst, "tmpfs", "defaults")]), paths())


class NetworkTests(unittest.TestCase):
    """
    VXDB addresses go on a routed veth (the host routes each address to
    it); no address is an empty network namespace.
    """

    def net(self, addresses, broadcast=""):
        text = renderConfig(start(addresses=addresses, broadcast=broadcast),
                            paths())
        return ["%s = %s" % (k, v) for k, v in parse(self, text)
                if k.startswith(("lxc.net.", "lxc.hook.start-host"))]

    def test_noAddress(self):
        self.assertEqual(self.net([]), ["lxc.net.0.type = empty",
                                        "lxc.net.0.flags = up"])

    def test_ipv4(self):
        """
        The dotted netmask becomes a prefix length and the broadcast
        address defaults to the network's.
        """
        self.assertEqual(self.net([("198.18.0.2", "255.255.255.0")]), [
            "lxc.net.0.type = veth",
            "lxc.net.0.veth.mode = router",
            "lxc.net.0.name = eth0",
            "lxc.net.0.flags = up",
            "lxc.net.0.script.up = " + upScriptLine(),
            "lxc.net.0.ipv4.address = 198.18.0.2/24 198.18.0.255",
            "lxc.net.0.ipv4.gateway = dev"])

    def test_ipv4Netmasks(self):
        for addr, netmask, line in [
                ("198.18.1.5", "255.255.255.252",
                 "198.18.1.5/30 198.18.1.7"),
                ("198.18.3.4", "255.254.0.0", "198.18.3.4/15 198.19.255.255"),
                ("198.19.200.1", "255.255.240.0",
                 "198.19.200.1/20 198.19.207.255"),
                ("198.18.0.9", "255.255.255.255", "198.18.0.9/32 198.18.0.9"),
                ("198.18.7.1", "255.255.255.128",
                 "198.18.7.1/25 198.18.7.127")]:
            self.assertIn("lxc.net.0.ipv4.address = " + line,
                          self.net([(addr, netmask)]))

    def test_broadcast(self):
        """
        The VPS's broadcast address (nx.broadcast) replaces the network's
        on each IPv4 address.
        """
        lines = self.net([("198.18.0.2", "255.255.255.0"),
                          ("198.18.5.2", "255.255.0.0")],
                         broadcast="198.18.0.127")
        self.assertEqual(
            [l for l in lines if ".ipv4.address" in l],
            ["lxc.net.0.ipv4.address = 198.18.0.2/24 198.18.0.127",
             "lxc.net.0.ipv4.address = 198.18.5.2/16 198.18.0.127"])

    def test_ipv6(self):
        """
        An IPv6 address is on eth0 alone (/128, whatever its prefix
        length), and the default route goes through the host-side veth's
        link-local address, added by a start-host hook.
        """
        self.assertEqual(self.net([("2001:db8::5", "64")]), [
            "lxc.net.0.type = veth",
            "lxc.net.0.veth.mode = router",
            "lxc.net.0.name = eth0",
            "lxc.net.0.flags = up",
            "lxc.net.0.script.up = " + upScriptLine(),
            "lxc.net.0.ipv6.address = 2001:db8::5/128",
            "lxc.hook.start-host = " + gatewayHookLine()])
        self.assertIn(" -6 route add default via fe80::1 dev eth0",
                      gatewayHookLine())

    def test_ipv6Canonical(self):
        self.assertIn("lxc.net.0.ipv6.address = 2001:db8::5/128",
                      self.net([("2001:0DB8:0:0:0:0:0:0005", "128")]))

    def test_dualStack(self):
        """
        Each family gets one default route through the device, however
        many addresses it has.
        """
        self.assertEqual(self.net([("198.18.0.2", "255.255.255.0"),
                                   ("198.18.0.3", "255.255.255.0"),
                                   ("2001:db8::2", "64")]), [
            "lxc.net.0.type = veth",
            "lxc.net.0.veth.mode = router",
            "lxc.net.0.name = eth0",
            "lxc.net.0.flags = up",
            "lxc.net.0.script.up = " + upScriptLine(),
            "lxc.net.0.ipv4.address = 198.18.0.2/24 198.18.0.255",
            "lxc.net.0.ipv4.address = 198.18.0.3/24 198.18.0.255",
            "lxc.net.0.ipv6.address = 2001:db8::2/128",
            "lxc.net.0.ipv4.gateway = dev",
            "lxc.hook.start-host = " + gatewayHookLine()])

    def test_refused(self):
        """
        An address, netmask or broadcast that is not one is refused, never
        written as it is.
        """
        for addresses, broadcast in [
                ([("198.18.0.2", "255.0.255.0")], ""),
                ([("198.18.0.2", "24 lxc.cap.keep")], ""),
                ([("198.18.0.2\n", "255.255.255.0")], ""),
                ([("not-an-address", "255.255.255.0")], ""),
                ([("2001:db8::2", "ffff::")], ""),
                ([("198.18.0.2", "255.255.255.0")],
                 "198.18.0.255\nlxc.cap.keep = sys_admin")]:
            self.assertRaises(ValueError, renderConfig, start(
                addresses=addresses, broadcast=broadcast), paths())


class PrlimitTests(unittest.TestCase):
    """
    Per-process limits become C{lxc.prlimit.<name> = soft:hard}; MEMLOCK
    and AS are given in KiB and written in bytes, the others are in the
    kernel's own unit already.
    """

    def prlimit(self, limit, soft, hard, layout="v2"):
        text = renderConfig(start(limits={limit: (soft, hard)}),
                            paths(layout))
        return limitLines(self, text)

    def test_memlockKiB(self):
        self.assertEqual(self.prlimit("MEMLOCK", 64, 128),
                         ["lxc.prlimit.memlock = 65536:131072"])

    def test_asKiB(self):
        self.assertEqual(self.prlimit("AS", 1048576, 2097152),
                         ["lxc.prlimit.as = 1073741824:2147483648"])

    def test_plainUnits(self):
        """
        Limits that are not memory-like in the manual's sense, including
        those counted in bytes by the kernel (FSIZE, DATA, STACK, CORE,
        MSGQUEUE), are written unchanged.
        """
        for limit, line in [
                ("CPU", "lxc.prlimit.cpu = 60:120"),
                ("FSIZE", "lxc.prlimit.fsize = 1048576:2097152"),
                ("DATA", "lxc.prlimit.data = 1048576:2097152"),
                ("STACK", "lxc.prlimit.stack = 8388608:16777216"),
                ("CORE", "lxc.prlimit.core = 0:0"),
                ("NOFILE", "lxc.prlimit.nofile = 1024:4096"),
                ("LOCKS", "lxc.prlimit.locks = 100:200"),
                ("SIGPENDING", "lxc.prlimit.sigpending = 512:1024"),
                ("MSGQUEUE", "lxc.prlimit.msgqueue = 819200:1638400")]:
            soft, hard = line.split(" = ")[1].split(":")
            self.assertEqual(self.prlimit(limit, int(soft), int(hard)),
                             [line])

    def test_unlimited(self):
        for limit, soft, hard, line in [
                ("NOFILE", 1024, INF, "lxc.prlimit.nofile = 1024:unlimited"),
                ("CORE", INF, INF, "lxc.prlimit.core = unlimited:unlimited"),
                ("MEMLOCK", 64, INF, "lxc.prlimit.memlock = 65536:unlimited"),
                ("AS", INF, INF, "lxc.prlimit.as = unlimited:unlimited"),
                ("STACK", 8388608, INF,
                 "lxc.prlimit.stack = 8388608:unlimited")]:
            self.assertEqual(self.prlimit(limit, soft, hard), [line])

    def test_zeroKiB(self):
        self.assertEqual(self.prlimit("MEMLOCK", 0, 0),
                         ["lxc.prlimit.memlock = 0:0"])

    def test_largestKiB(self):
        """
        The largest KiB value whose bytes fit in 64 bits, (2**64 - 1) //
        1024, is written exactly.
        """
        self.assertEqual(self.prlimit("MEMLOCK", 1, 18014398509481983),
                         ["lxc.prlimit.memlock = 1024:18446744073709550592"])

    def test_beyondBytesUnlimited(self):
        """
        A KiB value whose bytes exceed 2**64 - 1 bytes is beyond anything
        the kernel can count: it is no limit (LXC refuses such a number,
        so the VPS would never start).
        """
        self.assertEqual(
            self.prlimit("AS", 18014398509481984, 18446744073709551614),
            ["lxc.prlimit.as = unlimited:unlimited"])

    def test_sameForEveryLayout(self):
        for layout in LAYOUTS:
            self.assertEqual(self.prlimit("MEMLOCK", 64, 128, layout),
                             ["lxc.prlimit.memlock = 65536:131072"])


class CgroupLimitTests(unittest.TestCase):
    """
    NPROC becomes the cgroup's C{pids.max}; RSS (KiB) its memory limit in
    bytes: v1 (and hybrid, whose controllers are v1)
    C{memory.limit_in_bytes} under C{lxc.cgroup.}, v2 C{memory.max} and
    C{memory.high} (the soft limit, which only v2 has: v1 refuses one
    apart from the hard limit at set time) under C{lxc.cgroup2.} (LXC
    ignores the other family's keys). Swap is held within the hard limit
    where the kernel accounts it. The lines come from
    L{vcd.kernel.knobmap.startItems}, as a start makes them.
    """

    def lines(self, layout, swap=False, **limits):
        cgroup = startItems(layout, limits, (), None, None, True, swap)
        return limitLines(self, renderConfig(
            start(limits=limits, cgroup=cgroup), paths(layout)))

    def test_rssV1(self):
        for layout in ("v1", "hybrid"):
            self.assertEqual(self.lines(layout, RSS=(131072, 131072)), [
                "lxc.cgroup.memory.limit_in_bytes = 134217728"])

    def test_rssV2(self):
        self.assertEqual(self.lines("v2", RSS=(65536, 131072)), [
            "lxc.cgroup2.memory.high = 67108864",
            "lxc.cgroup2.memory.max = 134217728"])

    def test_swapHeldWithinRss(self):
        """
        With swap accounting, v1's memory+swap limit is the RSS limit
        (written after the memory limit, which it may not be below), and
        v2 has no swap at all.
        """
        for layout in ("v1", "hybrid"):
            text = renderConfig(start(cgroup=startItems(
                layout, {"RSS": (1024, 1024)}, (), None, None, True, True)),
                paths(layout))
            self.assertEqual(
                [(k, v) for k, v in parse(self, text) if ".memory." in k],
                [("lxc.cgroup.memory.limit_in_bytes", "1048576"),
                 ("lxc.cgroup.memory.memsw.limit_in_bytes", "1048576")])
        self.assertEqual(self.lines("v2", True, RSS=(1024, 1024)), [
            "lxc.cgroup2.memory.max = 1048576",
            "lxc.cgroup2.memory.swap.max = 0"])

    def test_rssSoftEqualsHard(self):
        """
        A soft limit equal to the hard one adds nothing.
        """
        self.assertEqual(self.lines("v2", RSS=(262144, 262144)),
                         ["lxc.cgroup2.memory.max = 268435456"])
        self.assertEqual(self.lines("hybrid", RSS=(262144, 262144)),
                         ["lxc.cgroup.memory.limit_in_bytes = 268435456"])

    def test_rssHardOnly(self):
        self.assertEqual(self.lines("v2", RSS=(INF, 1)),
                         ["lxc.cgroup2.memory.max = 1024"])
        self.assertEqual(self.lines("v1", RSS=(INF, 1)),
                         ["lxc.cgroup.memory.limit_in_bytes = 1024"])

    def test_rssSoftOnly(self):
        self.assertEqual(self.lines("v2", RSS=(512, INF)),
                         ["lxc.cgroup2.memory.high = 524288"])

    def test_rssUnlimited(self):
        for layout in LAYOUTS:
            self.assertEqual(self.lines(layout, RSS=(INF, INF)), [])

    def test_rssLargestKiB(self):
        self.assertEqual(
            self.lines("v2", RSS=(18014398509481983, 18014398509481983)),
            ["lxc.cgroup2.memory.max = 18446744073709550592"])

    def test_rssBeyondBytesUnlimited(self):
        """
        A KiB value whose bytes exceed 2**64 - 1 is no limit. Written as a
        number, the kernel's parser would wrap it (2**64 bytes to 0) and
        starve the VPS.
        """
        for layout in LAYOUTS:
            self.assertEqual(self.lines(layout, RSS=(18014398509481984,
                                                     18014398509481984)), [])
            self.assertEqual(self.lines(layout, RSS=(18014398509481984,
                                                     INF - 1)), [])

    def test_nproc(self):
        self.assertEqual(self.lines("v1", NPROC=(300, 300)),
                         ["lxc.cgroup.pids.max = 300"])
        self.assertEqual(self.lines("hybrid", NPROC=(300, 300)),
                         ["lxc.cgroup.pids.max = 300"])
        self.assertEqual(self.lines("v2", NPROC=(300, 300)),
                         ["lxc.cgroup2.pids.max = 300"])

    def test_nprocUnlimited(self):
        self.assertEqual(self.lines("v1", NPROC=(INF, INF)), [])
        self.assertEqual(self.lines("v2", NPROC=(INF, INF)), [])

    def test_nprocAbovePidMaxUnlimited(self):
        """
        pids.max takes at most 4194304 (the 64-bit kernel's PID_MAX_LIMIT,
        pids it can ever have) and refuses more, which would make the VPS
        impossible to start; more is no limit.
        """
        for layout, key in [("v1", "lxc.cgroup.pids.max"),
                            ("v2", "lxc.cgroup2.pids.max")]:
            self.assertEqual(self.lines(layout, NPROC=(4194304, 4194304)),
                             [key + " = 4194304"])
            for value in (4194305, 5000000, INF - 1):
                self.assertEqual(self.lines(layout, NPROC=(value, value)),
                                 [])

    def test_everyLimit(self):
        """
        Every limit the host can enforce at once, in each layout.
        """
        limits = {"CPU": (3600, 7200), "FSIZE": (1000000, 2000000),
                  "DATA": (4096, 8192), "STACK": (8388608, INF),
                  "CORE": (0, INF), "NOFILE": (1024, 65536),
                  "MEMLOCK": (64, 128), "AS": (1048576, INF),
                  "LOCKS": (INF, INF), "SIGPENDING": (100, 100),
                  "MSGQUEUE": (819200, 819200), "NPROC": (512, 512),
                  "RSS": (262144, 262144)}
        prlimits = [
            "lxc.prlimit.as = 1073741824:unlimited",
            "lxc.prlimit.core = 0:unlimited",
            "lxc.prlimit.cpu = 3600:7200",
            "lxc.prlimit.data = 4096:8192",
            "lxc.prlimit.fsize = 1000000:2000000",
            "lxc.prlimit.locks = unlimited:unlimited",
            "lxc.prlimit.memlock = 65536:131072",
            "lxc.prlimit.msgqueue = 819200:819200",
            "lxc.prlimit.nofile = 1024:65536",
            "lxc.prlimit.sigpending = 100:100",
            "lxc.prlimit.stack = 8388608:unlimited"]
        v1 = ["lxc.cgroup.memory.limit_in_bytes = 268435456",
              "lxc.cgroup.pids.max = 512"]
        v2 = ["lxc.cgroup2.memory.max = 268435456",
              "lxc.cgroup2.pids.max = 512"]
        self.assertEqual(self.lines("v1", **limits), sorted(v1 + prlimits))
        self.assertEqual(self.lines("hybrid", **limits), sorted(v1 + prlimits))
        self.assertEqual(self.lines("v2", **limits), sorted(v2 + prlimits))


class RefusalTests(unittest.TestCase):
    """
    A value that LXC would read as more than one key is refused.
    """

    def test_newlineOrNul(self):
        for given in [dict(rootfs="/vservers/a\nlxc.cap.keep = sys_admin"),
                      dict(init="/sbin/init\nlxc.cap.keep = sys_admin"),
                      dict(init="/sbin/init\0x"),
                      dict(name="a\nb"),
                      dict(bcaps=["CHOWN\nlxc.cap.keep = sys_admin"])]:
            self.assertRaises(ValueError, renderConfig, start(**given),
                              paths())

    def test_messageNamesKey(self):
        error = self.assertRaises(ValueError, renderConfig,
                                  start(init="/sbin/init\n"), paths())
        self.assertIn("lxc.init.cmd", str(error))
