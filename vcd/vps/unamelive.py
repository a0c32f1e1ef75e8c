# -*- test-case-name: tests.test_livereplies -*-
"""
A running VPS's names, changed at once: C{vxdb.vx.uname.set} and
C{.remove} of NODENAME (its host name) and DOMAINNAME (its NIS domain
name) reach its UTS namespace; a removed name goes back to the default
(the VPS's own name; no domain name).
"""

from twisted.internet import defer
from zope.interface import implementer

from vcd.api.interfaces import ILiveChange
from vcd.api.method import APPLIED_NOW, NEXT_START
from vcd.kernel.errors import KernelError

#: What a removed name becomes: the defaults of a start.
NO_DOMAIN = "(none)"


@implementer(ILiveChange)
class UnameChange:
    """
    The live change of a VPS's uname values.
    """

    doc = ("NODENAME and DOMAINNAME apply at once to a running virtual"
           " server (its host and domain name).")

    @defer.inlineCallbacks
    def __call__(self, call, args):
        name = args["name"]
        kernel = call.services.kernel
        if not (yield kernel.isRunning(name)):
            return "%s (it is not running)" % (NEXT_START,)
        removing = call.method.name.endswith(".remove")
        wanted = [args["uname"]] if args["uname"] else ["NODENAME",
                                                        "DOMAINNAME"]
        try:
            for uname in wanted:
                if uname == "NODENAME":
                    yield kernel.setHostName(
                        name, name if removing else args["value"])
                elif uname == "DOMAINNAME":
                    yield kernel.setDomainName(
                        name, NO_DOMAIN if removing else args["value"])
        except KernelError as e:
            return "%s (the kernel refused it now: %s)" % (NEXT_START, e)
        return APPLIED_NOW
