# -*- test-case-name: tests.test_kernel_interface,tests.test_liveknobs -*-
"""
The live changes of L{vcd.kernel.fake.FakeKernel} to a running VPS: its
cgroup files, rlimits, freezer, addresses, ping groups and interface
counters, each recorded in its L{vcd.kernel.fakevps.FakeVPS}.
"""

from twisted.internet import defer

from vcd.kernel.errors import KernelError
from vcd.kernel.liveaddress import NoNetworkDevice

__all__ = ["FakeLiveChanges"]


class FakeLiveChanges:
    """
    The methods of L{IVPSKernel} that change (or read) a running VPS
    without starting or stopping it, for L{vcd.kernel.fake.FakeKernel}.
    A mixin: it needs C{_vpses} (name to L{vcd.kernel.fakevps.FakeVPS})
    and C{_runningVps(name)} of the class it is mixed into.
    """

    def cgroupItem(self, name, key):
        """
        See L{IVPSKernel.cgroupItem}: what L{setCgroupItem} wrote since
        the start (or C{"max"}).
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        return defer.succeed(vps.cgroup.get(key, "max"))

    def setCgroupItem(self, name, key, value):
        """
        See L{IVPSKernel.setCgroupItem}: recorded in L{FakeVPS.cgroup}.
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        vps.cgroup[key] = value
        return defer.succeed(None)

    def interfaceCounters(self, name):
        """
        See L{IVPSKernel.interfaceCounters}: L{FakeVPS.interfaces}.
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        return defer.succeed(list(vps.interfaces))

    def _withDevice(self, name):
        vps = self._runningVps(name)
        if "lxc.net.0.type = veth" not in (vps.config or ""):
            raise NoNetworkDevice("it has no network device (it started"
                                  " without addresses)")
        return vps

    def setAddress(self, name, address, prefix, broadcast=""):
        """
        See L{IVPSKernel.setAddress}: recorded in L{FakeVPS.addresses};
        a VPS whose configuration has no veth has no eth0.
        """
        try:
            vps = self._withDevice(name)
        except KernelError:
            return defer.fail()
        vps.addresses[address] = (prefix, broadcast)
        return defer.succeed(None)

    def removeAddress(self, name, address=None):
        """
        See L{IVPSKernel.removeAddress}.
        """
        try:
            vps = self._withDevice(name)
        except KernelError:
            return defer.fail()
        removed = [a for a in sorted(vps.addresses)
                   if address is None or a == address]
        for one in removed:
            del vps.addresses[one]
        if address is not None and not removed:
            removed = [address]
        return defer.succeed(removed)

    def cgroupItems(self, name, keys):
        """
        See L{IVPSKernel.cgroupItems}: what L{setCgroupItem} wrote since
        the start, None for the others.
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        return defer.succeed({key: vps.cgroup.get(key) for key in keys})

    def setCgroupItems(self, name, items):
        """
        See L{IVPSKernel.setCgroupItems}: recorded in L{FakeVPS.cgroup}.
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        for key, value in items:
            vps.cgroup[key] = value
        return defer.succeed(None)

    def setProcessLimit(self, name, limit, soft, hard):
        """
        See L{IVPSKernel.setProcessLimit}: recorded in L{FakeVPS.rlimits}.
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        vps.rlimits[limit] = (soft, hard)
        return defer.succeed(len(vps.processes))

    def freeze(self, name, frozen=True):
        """
        See L{IVPSKernel.freeze}: recorded in L{FakeVPS.frozen} (its
        commands still run: the fake has no scheduler to stop).
        """
        try:
            self._runningVps(name).frozen = frozen
        except KernelError:
            return defer.fail()
        return defer.succeed(None)

    def unfreeze(self, name):
        """
        See L{IVPSKernel.unfreeze}.
        """
        return self.freeze(name, False)

    def setPingGroups(self, name, allowed):
        """
        See L{IVPSKernel.setPingGroups}: C{cat} shows the value in the
        VPS's /proc/sys/net/ipv4/ping_group_range.
        """
        try:
            vps = self._runningVps(name)
        except KernelError:
            return defer.fail()
        vps.files["/proc/sys/net/ipv4/ping_group_range"] = (
            "0\t65535\n" if allowed else "1\t0\n")
        return defer.succeed(None)

    def isFrozen(self, name):
        """
        See L{IVPSKernel.isFrozen}.
        """
        vps = self._vpses.get(name)
        return defer.succeed(vps is not None and vps.running and vps.frozen)
