"""
The public interfaces of vcd.

A third party extends the daemon by providing L{IMethodNamespace} from a
module dropped into the L{vcd.methods} plugin package; the kernel layer
(L{vcd.kernel}) provides L{IVPSKernel}.
"""

from zope.interface import Attribute, Interface


class IMethodNamespace(Interface):
    """
    A namespace of XML-RPC methods (C{vcd}, C{vxdb}, C{vx}, ...), found with
    C{twisted.plugin.getPlugins(IMethodNamespace, vcd.methods)}.
    """

    name = Attribute("The namespace prefix, for example C{'vxdb'}.")
    description = Attribute("One line saying what the namespace is for.")
    methods = Attribute(
        "A sequence of L{vcd.api.method.Method} declarations, each with its full "
        "dotted name, capability, owner rule, lock, parameters and "
        "implementation.")


class IVPSKernel(Interface):
    """
    The kernel layer (the libvserver role): what the daemon asks of the
    kernel about a VPS. Every method returns a Deferred and never blocks the
    reactor thread.
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

    def start(name, configText, rootPaths=(), check=0.001):
        """
        Write the VPS's container configuration and start it; fire once its
        init runs and has not exited within C{check} seconds. C{rootPaths}
        are directories its root needs (a missing one fails with
        L{vcd.kernel.lxc.RootMissing}).

        @return: a Deferred firing with the init's host pid, or failing
            with L{vcd.kernel.lxc.AlreadyRunning} if it runs, or
            L{vcd.kernel.lxc.KernelError} saying why (with the log).
        """

    def setDomainName(name, domainname):
        """
        Set the NIS domain name in the running VPS's UTS namespace.

        @return: a Deferred, failing with L{vcd.kernel.lxc.KernelError}.
        """

    def execute(name, argv, timeout, cap, env):
        """
        Run C{argv} with execvp inside the running VPS, standard input from
        /dev/null, output combined, at most C{cap} bytes kept, killed after
        C{timeout} seconds; no descriptor of the daemon leaks into it.

        @return: a Deferred firing with a dict: C{status} (exit code, or
            minus the signal), C{output}, C{truncated}, C{timedOut},
            C{notFound}.
        """

    def hardStop(name):
        """
        Stop the VPS at once (kill its init).

        @return: a Deferred firing with whether it is stopped.
        """

    def waitStopped(name, timeout):
        """
        @return: a Deferred firing with True once the VPS is stopped, or
            False if it still runs after C{timeout} seconds.
        """

    def status(name):
        """
        @return: a Deferred firing with a dict: C{running}, C{nproc},
            C{uptime}, C{initpid}, C{thr_total}, C{thr_running},
            C{thr_unintr}, C{thr_onhold}.
        """

    def activeTasks(names):
        """
        @return: a Deferred firing with a dict from the name of each running
            VPS among C{names} to its number of runnable and
            uninterruptible tasks.
        """

    def kill(name, vpid, signum):
        """
        Signal processes of a running VPS: C{vpid} 0 for all, 1 for its
        init, otherwise a pid as seen inside the VPS.

        @return: a Deferred firing with the number signalled, or failing
            with L{vcd.kernel.lxc.KernelError}.
        """
