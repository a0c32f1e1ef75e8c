"""
A sample command line for every client command: the table the client
tests run against the fake-kernel daemon (L{tests.test_clientcommands}).

Each sample runs on a fresh daemon holding the stopped VPS C{web1} (owned
by admin), the running VPS C{run1}, the user C{bob} and the group C{web}
with C{web1} in it (see L{prepare}).  C{(tool, command)} maps to the
words after the command, the exit code the run must give and what its
standard error must hold (a string, a list of strings, or C{None} for
nothing at all).

The commands the fake daemon cannot serve (it has no template store) are
in L{REAL_SAMPLES}, run against a real daemon with the busybox template.
"""

#: (tool, command): (words, exit code, what standard error holds).
SAMPLES = {
    ("vcc", "exec"): (["run1", "echo", "hi  there"], 0, None),
    ("vcc", "kill"): (["run1", "0", "CONT"], 0, None),
    ("vcc", "limstatus"): (["run1"], 0, None),
    ("vcc", "list"): ([], 0, None),
    ("vcc", "load"): (["web1"], 0, None),
    ("vcc", "netstatus"): (["run1"], 0, None),
    ("vcc", "reboot"): (["web1"], 1, ["MESTOPPED", "not running"]),
    ("vcc", "remove"): (["run1"], 1, ["MERUNNING", "running"]),
    ("vcc", "rename"): (["web1", "web3"], 0, None),
    ("vcc", "restart"): (["run1"], 0, None),
    ("vcc", "start"): (["web1"], 0, None),
    ("vcc", "status"): (["web1"], 0, None),
    ("vcc", "stop"): (["run1"], 0, None),
    ("vcc", "login"): (["web1"], 1, "login: web1 is not running"),
    ("vce", "dx.limit.get"): (["web1"], 0, None),
    ("vce", "dx.limit.remove"): (["web1"], 0, None),
    ("vce", "dx.limit.set"): (["web1", "1G", "10000"], 1,
                              ["MEINVAL", "cannot be enforced"]),
    ("vce", "init.get"): (["web1"], 0, None),
    ("vce", "init.set"): (["web1", "/sbin/init", "/sbin/halt",
                           "/sbin/reboot", "30"], 0, None),
    ("vce", "list"): (["bob"], 0, None),
    ("vce", "mount.get"): (["web1"], 0, None),
    ("vce", "mount.remove"): (["web1", "/tmp"], 0, None),
    ("vce", "mount.set"): (["web1", "none", "/tmp", "tmpfs", "size=1m"], 0,
                           None),
    ("vce", "name.get"): (["2"], 0, None),
    ("vce", "nx.addr.get"): (["web1"], 0, None),
    ("vce", "nx.addr.remove"): (["web1", "198.18.4.13"], 0, None),
    ("vce", "nx.addr.set"): (["web1", "198.18.4.13/24"], 0, None),
    ("vce", "nx.broadcast.get"): (["web1"], 0, None),
    ("vce", "nx.broadcast.remove"): (["web1"], 0, None),
    ("vce", "nx.broadcast.set"): (["web1", "198.18.4.255"], 0, None),
    ("vce", "owner.add"): (["web1", "bob"], 0, None),
    ("vce", "owner.get"): (["web1"], 0, None),
    ("vce", "owner.remove"): (["web1", "nobody"], 1, "MENOUSER"),
    ("vce", "vdir.get"): (["web1"], 0, None),
    ("vce", "vx.bcaps.add"): (["web1", "NET_ADMIN"], 0, None),
    ("vce", "vx.bcaps.get"): (["web1"], 0, None),
    ("vce", "vx.bcaps.remove"): (["web1", ""], 0, None),
    ("vce", "vx.ccaps.add"): (["web1", "RAW_ICMP"], 0, None),
    ("vce", "vx.ccaps.get"): (["web1"], 0, None),
    ("vce", "vx.ccaps.remove"): (["web1", "RAW_ICMP"], 0, None),
    ("vce", "vx.cpuset.get"): (["web1"], 0, None),
    ("vce", "vx.cpuset.remove"): (["web1"], 0, None),
    ("vce", "vx.cpuset.set"): (["web1", "0-1", "0", "yes"], 1,
                               ["MEINVAL", "lxcfs"]),
    ("vce", "vx.flags.add"): (["web1", "VIRT_UPTIME"], 0, None),
    ("vce", "vx.flags.get"): (["web1"], 0, None),
    ("vce", "vx.flags.remove"): (["web1", "VIRT_UPTIME"], 0, None),
    ("vce", "vx.limit.get"): (["web1", "RSS"], 0, None),
    ("vce", "vx.limit.remove"): (["web1"], 0, None),
    ("vce", "vx.limit.set"): (["web1", "RSS", "64M", "1G"], 0, None),
    ("vce", "vx.sched.get"): (["web1"], 0, None),
    ("vce", "vx.sched.remove"): (["web1"], 0, None),
    ("vce", "vx.sched.set"): (["web1", "-1", "10", "5", "0", "0", "1",
                               "100"], 0, None),
    ("vce", "vx.uname.get"): (["web1"], 0, None),
    ("vce", "vx.uname.remove"): (["web1", "NODENAME"], 0, None),
    ("vce", "vx.uname.set"): (["web1", "NODENAME", "web1.example"], 0, None),
    ("vce", "vx.userns.get"): (["web1"], 0, None),
    ("vce", "vx.userns.set"): (["web1", "yes"], 0, None),
    ("vce", "xid.get"): (["web1"], 0, None),
    ("vcdadm", "hostinfo"): ([], 0, None),
    ("vcdadm", "login"): ([], 0, None),
    ("vcdadm", "status"): ([], 0, None),
    ("vcdadm", "user.caps.add"): (["bob", "HELPER"], 1, "MEPERM"),
    ("vcdadm", "user.caps.get"): (["bob"], 0, None),
    ("vcdadm", "user.caps.remove"): (["bob", "INFO"], 0, None),
    ("vcdadm", "user.get"): (["bob"], 0, None),
    ("vcdadm", "user.remove"): (["bob"], 0, None),
    ("vcdadm", "user.set"): (["carol", "no", "carol-password"], 0, None),
    ("vgc", "add"): (["web", "run1"], 0, None),
    ("vgc", "list"): ([], 0, None),
    ("vgc", "remove"): (["web", "web1"], 0, None),
    ("vgc", "vx.reboot"): (["web"], 1, ["MESTOPPED", "web1"]),
    ("vgc", "vx.restart"): (["nosuch"], 1, "MENOVG"),
    ("vgc", "vx.start"): (["web"], 0, None),
    ("vgc", "vx.stop"): (["web"], 1, ["MESTOPPED", "web1"]),
}

#: As L{SAMPLES}, for a real daemon (L{tests.test_clients_e2e}).
REAL_SAMPLES = {
    ("vcc", "create"): (["web2", "nosuch"], 1, ["MEINVAL", "nosuch"]),
    ("vcc", "templates"): ([], 0, None),
}


def prepare(fake):
    """
    Give the fake daemon what the samples name: the stopped VPS web1, the
    running VPS run1, the user bob (INFO) and the group web holding web1.
    """
    fake.addVps("web1")
    fake.addVps("run1")
    fake.addUser("bob", "bob-password-1", caps=["INFO"])
    for method, args in [("vx.start", {"name": "run1"}),
                         ("vg.add", {"group": "web", "name": "web1"})]:
        fake.call(method, **args)
