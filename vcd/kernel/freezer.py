# -*- test-case-name: tests.test_kernel_lxc,tests.test_kernel_interface -*-
"""
Freezing and thawing a running LXC container through its cgroup freezer
(v1's C{freezer.state}, or v2's C{cgroup.freeze} and C{cgroup.events}),
and its state with a freeze taken into account. Blocking; no fork.
"""

import time

from vcd.kernel.containerqueries import (cgroupItem, containerState,
                                         setCgroupItem)
from vcd.kernel.errors import KernelError

__all__ = ["FREEZE_TIMEOUT", "freeze", "isFrozen", "stateWithFreezer"]


#: How long a freeze may take before it is reported failed (it waits for
#: every task to stop), and how often its state is read meanwhile.
FREEZE_TIMEOUT = 10.0
_FREEZE_POLL = 0.002


def _freezer(lxcpath, name):
    """
    The freezer files of a running container: C{(key written, value to
    freeze, value to thaw, key read, frozen line, thawed line)}.
    """
    try:
        cgroupItem(lxcpath, name, "freezer.state")
    except KernelError:
        return ("cgroup.freeze", "1", "0", "cgroup.events", "frozen 1",
                "frozen 0")
    return ("freezer.state", "FROZEN", "THAWED", "freezer.state", "FROZEN",
            "THAWED")


def isFrozen(lxcpath, name):
    """
    Whether a container is frozen (its cgroup's freezer says so; liblxc's
    state does not know of a freeze it did not do). Blocking.
    """
    try:
        files = _freezer(lxcpath, name)
        return files[4] in cgroupItem(lxcpath, name, files[3]).splitlines()
    except KernelError:
        return False  # not running


def freeze(lxcpath, name, frozen=True, timeout=FREEZE_TIMEOUT):
    """
    Freeze (or, with C{frozen} False, thaw) a running container and wait
    until it is, through its cgroup: v1's C{freezer.state}, or v2's
    C{cgroup.freeze} and C{cgroup.events}. (liblxc's own freeze() reads
    the state once a second: a freeze took a second.) Blocking; no fork.

    @raise KernelError: if it does not run, or is not frozen (thawed)
        within C{timeout} seconds.
    """
    key, freezeValue, thawValue, events, frozenLine, thawedLine = \
        _freezer(lxcpath, name)
    setCgroupItem(lxcpath, name, key, freezeValue if frozen else thawValue)
    done = frozenLine if frozen else thawedLine
    deadline = time.monotonic() + timeout
    while done not in cgroupItem(lxcpath, name, events).splitlines():
        if time.monotonic() > deadline:
            raise KernelError("%s: not %s within %ss" % (
                name, "frozen" if frozen else "thawed", timeout))
        time.sleep(_FREEZE_POLL)


def stateWithFreezer(lxcpath, name):
    """
    L{containerState}, but C{"FROZEN"} when its cgroup freezer says so.
    Blocking.
    """
    state = containerState(lxcpath, name)
    if state == "RUNNING" and isFrozen(lxcpath, name):
        return "FROZEN"
    return state
