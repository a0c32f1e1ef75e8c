# -*- test-case-name: tests.test_liveknobs,tests.test_kernel_interface -*-
"""
Resource limits (rlimits) set live on every process of a running LXC
container and in its configuration, for attached processes. Blocking.
"""

import os
import resource

from vcd.kernel import procfs
from vcd.kernel.containerqueries import initPid
from vcd.kernel.errors import KernelError

__all__ = ["setProcessLimit"]


def setProcessLimit(lxcpath, name, limit, soft, hard):
    """
    Set rlimit C{limit} (a name such as C{"NOFILE"}) on every process of a
    running container: twice over its processes, so that one forked by a
    process not yet changed during the first pass is changed by the
    second. The container's configuration gets it too: liblxc's attach
    (vx.exec) gives an attached process the configured limits. Blocking.

    @return: the number of processes changed.
    @raise KernelError: if it does not run or the kernel refuses.
    """
    pid = initPid(lxcpath, name)
    if not pid:
        raise KernelError("%s is not running" % (name,))
    _configurePrlimit(os.path.join(lxcpath, name, "config"), limit, soft,
                      hard)
    limit = getattr(resource, "RLIMIT_" + limit)
    done = set()
    for _ in range(2):
        for t in procfs.vpsTasks(pid):
            if t.pid in done:
                continue
            try:
                resource.prlimit(t.pid, limit, (soft, hard))
            except ProcessLookupError:
                continue
            except (OSError, ValueError) as e:
                raise KernelError("%s: the kernel refused the limit on"
                                  " process %d: %s" % (name, t.vpid, e))
            done.add(t.pid)
    return len(done)


def _configurePrlimit(path, limit, soft, hard):
    """
    Replace the C{lxc.prlimit} line of C{limit} in configuration C{path}.
    """
    def text(value):
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)
    key = "lxc.prlimit." + limit.lower()
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines()
                     if l.split("=", 1)[0].strip() != key]
    except OSError as e:
        raise KernelError("cannot read the configuration %s: %s" % (path, e))
    lines.append("%s = %s:%s" % (key, text(soft), text(hard)))
    with open(path + ".live", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(path + ".live", path)
