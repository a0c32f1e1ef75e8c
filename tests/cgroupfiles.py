"""
The host's own cgroup files of a running VPS, found from its init's
/proc/<pid>/cgroup (not from the daemon's code): the oracle of the tests
that measure CPU, memory and process limits.
"""

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def _cgroupPaths(pid):
    """
    @return: a dict from each v1 controller (and C{""} for v2) to the
        cgroup path of process C{pid}.
    """
    paths = {}
    with open("/proc/%d/cgroup" % (pid,)) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


def cgroupFile(pid, controller, name):
    """
    The host path of cgroup file C{name} of C{controller} for process
    C{pid}: in the v1 hierarchy of that controller if the host mounts one,
    else in the v2 hierarchy.
    """
    paths = _cgroupPaths(pid)
    for entry in sorted(os.listdir(CGROUP_ROOT)):
        if controller in entry.split(",") and controller in paths:
            return os.path.join(CGROUP_ROOT, entry,
                                paths[controller].lstrip("/"), name)
    base = CGROUP_ROOT
    if os.path.exists(os.path.join(CGROUP_ROOT, "unified")):
        base = os.path.join(CGROUP_ROOT, "unified")
    return os.path.join(base, paths[""].lstrip("/"), name)


def readCgroup(pid, controller, name):
    """
    The text of a cgroup file of process C{pid}, stripped.
    """
    with open(cgroupFile(pid, controller, name)) as f:
        return f.read().strip()


def cgroupV2():
    """
    Whether the host is pure cgroup v2.
    """
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def cpuUsage(pid):
    """
    The CPU time, in seconds, the kernel charged to the cgroup of C{pid}
    (cpuacct.usage on v1, cpu.stat usage_usec on v2).
    """
    if cgroupV2():
        return statOf(pid, "cpu", "cpu.stat")["usage_usec"] / 1e6
    return int(readCgroup(pid, "cpuacct", "cpuacct.usage")) / 1e9


def statOf(pid, controller, name):
    """
    A flat-keyed cgroup file (cpu.stat, memory.events) as a dict of ints.
    """
    values = {}
    for line in readCgroup(pid, controller, name).splitlines():
        key, value = line.split()
        values[key] = int(value)
    return values
