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
