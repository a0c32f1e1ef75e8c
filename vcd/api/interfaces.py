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

        It is called holding the lock of the VPS (L{vcd.api.livelock}), so
        no start or stop runs meanwhile; it must not take that lock itself
        nor call anything that does.

        @return: L{vcd.api.method.APPLIED_NOW}, or a sentence starting with
            L{vcd.api.method.NEXT_START} (saying why when the VPS runs), or
            a Deferred firing with one of them.
        """


class IClientAddress(Interface):
    """
    Where a call came from, as the dispatcher sees it; formatted (C{str})
    only when a log line needs it.
    """

    host = Attribute(
        "The client's host (an IP address as a string; C{'unix'} for a"
        " Unix socket's client).")

    def localSocket():
        """
        @return: the path of the Unix socket the call came in on, or None
            for a call over TCP.
        """


class ILoginThrottle(Interface):
    """
    Slows down password guessing by answering failed logins late, per
    client address and per username, without ever locking a user out.
    All its methods run on the reactor thread.
    """

    delayed = Attribute("How many failed logins were answered late.")
    unchecked = Attribute(
        "How many calls were refused without checking their password,"
        " because their address had too many late answers waiting.")
    throttledAddresses = Attribute(
        "How many client addresses have their failed logins answered late"
        " now.")

    def admit(clientAddress):
        """
        Before a call's password is checked: may it be checked now?

        @param clientAddress: an L{IClientAddress}.
        @return: False if the address has too many late answers waiting:
            the call is then refused, unchecked, as a failed login.
        """

    def failed(clientAddress, username, fault):
        """
        A login failed: count it, and decide when its fault is answered.

        @return: C{fault}, or a Deferred firing with it after a delay.
        """

    def succeeded(clientAddress, username):
        """
        A login succeeded: the username's failures are forgotten.
        """
