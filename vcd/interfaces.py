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
        "A sequence of L{vcd.method.Method} declarations, each with its full "
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


class IStatusSource(Interface):
    """
    Something that contributes members to the C{vcd.status} struct.
    """

    def status():
        """
        @return: a dict of plain XML-RPC values.
        """
