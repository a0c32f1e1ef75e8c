# -*- test-case-name: tests.test_kernel_interface -*-
"""
The kernel layer's interface (the libvserver role), provided by
L{vcd.kernel.lxc.LXCKernel} and by the in-memory L{vcd.kernel.fake.FakeKernel};
its errors are in L{vcd.kernel.errors}.
"""

from zope.interface import Interface


class IVPSKernel(Interface):
    """
    The kernel layer (the libvserver role): what the daemon asks of the
    kernel about a VPS. Every method returns a Deferred and never blocks the
    reactor thread. A VPS the kernel never saw is stopped.

    However a VPS stops (halt or reboot from inside, its init killed,
    L{hardStop}), its configuration's post-stop hook runs with
    C{LXC_TARGET} C{"stop"} or C{"reboot"}. The daemon's hook (vshelper)
    refuses liblxc's own reboot, so a VPS that stopped stays stopped until
    it is started again.

    L{vcd.kernel.lxc.LXCKernel} provides it; L{vcd.kernel.fake.FakeKernel}
    is an in-memory fake for tests (C{tests.test_kernel_interface} holds
    both to this interface).
    """

    def isRunning(name):
        """
        Ask whether the VPS called C{name} is running.

        @return: a Deferred firing with a bool.
        """

    def state(name):
        """
        @return: a Deferred firing with the state in upper case
            (C{"STOPPED"}, C{"RUNNING"}, C{"STOPPING"}, ...).
        """

    def start(name, configText, root=None, check=0.001):
        """
        Write the VPS's container configuration and start it; fire once its
        init runs and has not exited within C{check} seconds. C{root} is
        the L{vcd.kernel.idmap.RootSpec} of its root (or C{None} when the
        configuration's root needs nothing done): a missing directory of it
        fails the start before anything is written; an overlay is mounted
        (idmapped to the VPS's ids unless it is privileged) and the VPS's
        mount points are made inside the root, never through a symbolic
        link. The configuration is written even if
        the VPS runs (it keeps the one it started with; the new one is for
        its next start). A fresh start has no NIS domain name
        (C{"(none)"}).

        @return: a Deferred firing with the init's host pid, or failing
            with L{vcd.kernel.errors.RootMissing} (its message is the missing
            directory), L{vcd.kernel.errors.AlreadyRunning} if the VPS runs,
            or L{vcd.kernel.errors.KernelError} saying why (with the log; the
            VPS is left stopped), for example when its init exits at once.
        """

    def setDomainName(name, domainname):
        """
        Set the NIS domain name in the running VPS's UTS namespace.

        @return: a Deferred, failing with L{vcd.kernel.errors.KernelError}
            (for one, if the VPS is not running).
        """

    def setHostName(name, hostname):
        """
        Set the host name in the running VPS's UTS namespace (a live change
        of its NODENAME).

        @return: a Deferred firing with None, or failing with
            L{vcd.kernel.errors.KernelError} if it does not run.
        """

    def execute(name, argv, timeout, cap, env, attached=None):
        """
        Run C{argv} with execvp inside the running VPS, with exactly the
        environment C{env} (C{"NAME=value"} strings; its C{PATH} finds
        C{argv[0]}), standard input from /dev/null, standard output and
        error combined, at most C{cap} bytes kept, killed (SIGKILL) after
        C{timeout} seconds; no descriptor of the daemon leaks into it. The
        command is a process of the VPS: it ends when the VPS stops.

        @param attached: if given, called once (with no argument) as soon
            as the command runs inside the VPS, or else (it could not
            start) before the Deferred fires.

        @return: a Deferred firing with a dict holding at least: C{status}
            (exit code, or minus the signal that ended it: C{-9} after the
            timeout, or if the VPS stopped meanwhile), C{output} (text,
            decoded from UTF-8 with replacement), C{truncated} (output was
            cut at C{cap} bytes), C{timedOut}, C{notFound} (C{argv[0]} is
            no executable inside the VPS; C{status} is then 127, or 126
            for a file that cannot be executed). Fails with
            L{vcd.kernel.errors.KernelError} if the VPS is not running.
        """

    def hardStop(name):
        """
        Stop the VPS at once (kill its init). A stopped VPS is left alone.

        @return: a Deferred firing with whether it is stopped.
        """

    def waitStopped(name, timeout):
        """
        @return: a Deferred firing with True once the VPS is stopped (at
            once if it is), or False if it still runs after C{timeout}
            seconds.
        """

    def status(name):
        """
        @return: a Deferred firing with a dict: C{running} (a bool), and
            ints: C{nproc} (its processes), C{uptime} (whole seconds since
            its init started), C{initpid} (the init's host pid, as
            L{start} gave), C{thr_total} (threads), C{thr_running} (R),
            C{thr_unintr} (D), C{thr_onhold} (stopped: T). For a stopped
            VPS C{running} is False and every number 0.
        """

    def activeTasks(names):
        """
        @return: a Deferred firing with a dict from the name of each running
            VPS among C{names} (only those) to its number of runnable and
            uninterruptible tasks.
        """

    def kill(name, vpid, signum):
        """
        Signal processes of a running VPS: C{vpid} 0 for all, 1 for its
        init, otherwise a pid as seen inside the VPS. C{signum} 0 signals
        nothing (it counts). Init, like any PID namespace's init, gets only
        the signals it handles, SIGSTOP, and SIGKILL, which stops the VPS.

        @return: a Deferred firing with the number of processes signalled,
            or failing with L{vcd.kernel.errors.KernelError} if the VPS is not
            running or has no process C{vpid}.
        """

    def cgroupItem(name, key):
        """
        Read a cgroup file of the running VPS (C{key} as LXC names it:
        C{"memory.max"} on cgroup v2, C{"memory.limit_in_bytes"} on v1).

        @return: a Deferred firing with its text, or failing with
            L{vcd.kernel.errors.KernelError} if the VPS does not run or the
            file cannot be read.
        """

    def setCgroupItem(name, key, value):
        """
        Write a cgroup file of the running VPS: a live change of a limit.

        @return: a Deferred firing with None, or failing with
            L{vcd.kernel.errors.KernelError} if the VPS does not run or the
            kernel refuses the value.
        """

    def interfaceCounters(name):
        """
        Read the kernel's counters of the network interfaces of the
        running VPS (those of its own network namespace only).

        @return: a Deferred firing with a list of
            L{vcd.kernel.netdev.InterfaceCounters}, or failing with
            L{vcd.kernel.errors.KernelError} if the VPS does not run.
        """

    def setAddress(name, address, prefix, broadcast=""):
        """
        Put C{address}/C{prefix} (with IPv4 broadcast address
        C{broadcast}, or the network's if empty) on the running VPS's
        C{eth0}, replacing the same address with another prefix, and
        route it to the VPS from the host.

        @return: a Deferred firing with None, or failing with
            L{vcd.kernel.liveaddress.NoNetworkDevice} if the VPS started
            without addresses (it has no C{eth0}), or with
            L{vcd.kernel.errors.KernelError} if it does not run or the
            kernel refused.
        """

    def removeAddress(name, address=None):
        """
        Take C{address} (every address, if None) off the running VPS's
        C{eth0}, and its route on the host.

        @return: a Deferred firing with the list of addresses removed, or
            failing as L{setAddress} does.
        """

    def cgroupItems(name, keys):
        """
        Read several cgroup files of the running VPS at once (as
        L{cgroupItem}).

        @return: a Deferred firing with a dict from each key to its text,
            or None for a file that cannot be read (this kernel lacks
            it); failing with L{vcd.kernel.errors.KernelError} if the VPS
            does not run.
        """

    def setCgroupItems(name, items):
        """
        Write C{(key, value)} pairs to the running VPS's cgroup files, in
        order, stopping at the first the kernel refuses.

        @return: a Deferred firing with None, or failing with
            L{vcd.kernel.errors.KernelError} (naming the refused key) if
            the VPS does not run or the kernel refuses a value.
        """

    def setProcessLimit(name, limit, soft, hard):
        """
        Set rlimit C{limit} (its name without C{RLIMIT_}: C{"NOFILE"}) to
        C{(soft, hard)} (ints, C{resource.RLIM_INFINITY} for none) on every
        process of the running VPS, its init included (processes started
        later inherit it), and on the commands L{execute} runs in it from
        now on.

        @return: a Deferred firing with the number of processes changed,
            or failing with L{vcd.kernel.errors.KernelError} if the VPS
            does not run or the kernel refuses the limit.
        """

    def freeze(name):
        """
        Freeze every process of the running VPS (the cgroup freezer: they
        run nothing until L{unfreeze}). Freezing a frozen VPS does nothing.

        @return: a Deferred firing with None once it is frozen, or failing
            with L{vcd.kernel.errors.KernelError} if it does not run or
            cannot be frozen.
        """

    def unfreeze(name):
        """
        Thaw a VPS L{freeze} froze. Thawing a running VPS that is not
        frozen does nothing.

        @return: a Deferred firing with None once it runs again, or failing
            with L{vcd.kernel.errors.KernelError} if it does not run.
        """

    def isFrozen(name):
        """
        @return: a Deferred firing with whether the VPS is frozen (a
            stopped VPS is not).
        """

    def setPingGroups(name, allowed):
        """
        Let every group of the running VPS open ICMP datagram sockets
        (unprivileged ping), or none: C{net.ipv4.ping_group_range} in its
        network namespace (the ccap RAW_ICMP, live).

        @return: a Deferred firing with None, or failing with
            L{vcd.kernel.errors.KernelError} if it does not run or the
            kernel refuses.
        """
