"""
The NIS domain name a VPS starts with (L{vcd.vps.lifecycle}): its
DOMAINNAME from VXDB, or C{"(none)"} without one (what a freshly booted
Linux says), never the host's: its new UTS namespace begins as a copy of
the kernel worker's own, whose domain name is C{"(none)"}; a start that
cannot set a DOMAINNAME fails with MESYS and leaves the VPS stopped.

The fake-kernel tests need nothing; L{RealStartDomainNameTests} needs root,
liblxc with the compiled binding and busybox-static, and runs its daemon
(and so the kernel worker and every VPS it starts) in a UTS namespace of
its own whose domain name is not C{"(none)"}: the host's is left alone.
"""

import os

from twisted.internet import defer
from twisted.trial import unittest

from tests.fakedaemon import FakeDaemonMixin
from tests.harness import DaemonTestCase
from tests.running import RunningHelpers
from vcd.kernel.errors import KernelError

MESYS = 500
#: What Linux's /proc/sys/kernel/domainname says when none was set.
LINUX_NO_DOMAIN = "(none)"
#: The domain name of the test's own "host" (its private UTS namespace).
HOST_DOMAIN = "host-only.vcd-test.example"


class FakeStartDomainNameTests(FakeDaemonMixin, unittest.TestCase):
    """
    vx.start on the fake kernel: which domain name it asks the kernel to
    set, and what it does when the kernel refuses.
    """

    def setUp(self):
        super().setUp()
        self.fake.addVps("alpha")
        self.asked = []
        self.refusal = None
        setDomainName = self.kernel.setDomainName

        def recording(name, domainname):
            self.asked.append((name, domainname))
            if self.refusal is not None:
                return defer.fail(KernelError(self.refusal))
            return setDomainName(name, domainname)
        self.patch(self.kernel, "setDomainName", recording)

    def test_noDomainName(self):
        """
        Without a DOMAINNAME, the start asks the kernel for nothing: the
        VPS's new UTS namespace copies the kernel worker's, whose domain
        name is "(none)" (tests.test_workerprocess; the real VPS's in
        L{RealStartDomainNameTests}).
        """
        self.answer(self.fake.call("vx.start", name="alpha"))
        self.assertEqual(self.asked, [])
        self.assertEqual(self.kernel.vps("alpha").domainname,
                         LINUX_NO_DOMAIN)

    def test_removedDomainName(self):
        """
        A DOMAINNAME removed while the VPS was stopped is "(none)" at its
        next start.
        """
        self.answer(self.fake.call("vxdb.vx.uname.set", name="alpha",
                                   uname="DOMAINNAME", value="example.org"))
        self.answer(self.fake.call("vxdb.vx.uname.remove", name="alpha",
                                   uname="DOMAINNAME"))
        self.answer(self.fake.call("vx.start", name="alpha"))
        self.assertEqual(self.asked, [])
        self.assertEqual(self.kernel.vps("alpha").domainname,
                         LINUX_NO_DOMAIN)

    def test_refused(self):
        """
        A domain name the kernel does not set fails the start with MESYS
        saying so, and the VPS is stopped; a later start may succeed.
        """
        self.answer(self.fake.call("vxdb.vx.uname.set", name="alpha",
                                   uname="DOMAINNAME", value="example.org"))
        self.refusal = "setdomainname: Operation not permitted"
        fault = self.assertFault(MESYS, self.fake.call("vx.start",
                                                       name="alpha"))
        self.assertIn("'alpha' was stopped", fault.faultString)
        self.assertIn("domain name 'example.org' could not be set",
                      fault.faultString)
        self.assertIn(self.refusal, fault.faultString)
        self.assertRunning("alpha", False)
        self.refusal = None
        self.answer(self.fake.call("vx.start", name="alpha"))
        self.assertEqual(self.kernel.vps("alpha").domainname, "example.org")


def _enterPrivateUts(domainname):
    """
    Move the calling thread (the reactor's, which spawns the kernel
    worker) into a new UTS namespace with NIS domain name C{domainname}.

    @return: a descriptor of the namespace it was in, for L{_leaveUts}.
    """
    from vcd.kernel.binding import ffi, lib
    original = os.open("/proc/thread-self/ns/uts", os.O_RDONLY)
    if lib.unshare(lib.CLONE_NEWUTS) != 0:
        error = ffi.errno
        os.close(original)
        raise OSError(error, os.strerror(error), "unshare(CLONE_NEWUTS)")
    name = domainname.encode()
    if lib.setdomainname(name, len(name)) != 0:
        error = ffi.errno
        _leaveUts(original)
        raise OSError(error, os.strerror(error), "setdomainname")
    return original


def _leaveUts(original):
    """
    Move the calling thread back to the UTS namespace C{original} (a
    descriptor from L{_enterPrivateUts}), and close it.
    """
    from vcd.kernel.binding import ffi, lib
    try:
        if lib.setns(original, lib.CLONE_NEWUTS) != 0:
            error = ffi.errno
            raise OSError(error, os.strerror(error), "setns")
    finally:
        os.close(original)


def _domainname():
    with open("/proc/sys/kernel/domainname") as f:
        return f.read().strip()


class RealStartDomainNameTests(RunningHelpers, DaemonTestCase):
    """
    A real VPS started by a daemon whose host has a domain name.
    """

    def setUp(self):
        # Before the daemon starts: its kernel worker, forked by this
        # thread, and the VPSes the worker starts inherit the namespace.
        self.addCleanup(_leaveUts, _enterPrivateUts(HOST_DOMAIN))
        return super().setUp()

    @defer.inlineCallbacks
    def test_noDomainNameIsNone(self):
        """
        A VPS without DOMAINNAME reads "(none)" from
        /proc/sys/kernel/domainname, not its host's domain name; with one
        set (and removed) at its later starts it reads that.
        """
        self.assertEqual(_domainname(), HOST_DOMAIN)
        name = yield self.newVps(start=True)
        read = "cat /proc/sys/kernel/domainname"
        self.assertEqual((yield self.execIn(name, read)),
                         LINUX_NO_DOMAIN + "\n")
        yield self.admin.call("vxdb.vx.uname.set", name=name,
                              uname="DOMAINNAME", value="vps.example.org")
        yield self.admin.call("vx.restart", name=name)
        self.assertEqual((yield self.execIn(name, read)),
                         "vps.example.org\n")
        yield self.admin.call("vx.stop", name=name)
        yield self.admin.call("vxdb.vx.uname.remove", name=name,
                              uname="DOMAINNAME")
        yield self.admin.call("vx.start", name=name)
        self.assertEqual((yield self.execIn(name, read)),
                         LINUX_NO_DOMAIN + "\n")
        self.assertEqual(_domainname(), HOST_DOMAIN)
