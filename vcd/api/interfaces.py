# -*- test-case-name: tests.test_plugins -*-
"""
The framework's plugin interface: a namespace of XML-RPC methods.
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
        "A sequence of L{vcd.api.method.Method} declarations, each with its"
        " full dotted name, capability, owner rule, lock, parameters and"
        " implementation.")


class ILiveChange(Interface):
    """
    How a change of a VPS's configuration reaches the VPS while it runs
    (L{vcd.api.method.Method.live}).
    """

    doc = Attribute("One sentence for system.methodHelp: what applies at"
                    " once on a running VPS and what at its next start.")

    def __call__(call, args):
        """
        Apply the change the method just committed to VXDB (its
        arguments C{args}, the VPS C{call.vps}) to the VPS if it runs and
        the kernel can change it.

        @return: L{vcd.api.method.APPLIED_NOW}, or a sentence starting with
            L{vcd.api.method.NEXT_START} (saying why when the VPS runs), or
            a Deferred firing with one of them.
        """
