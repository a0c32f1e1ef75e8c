"""
L{IVPSKernel} provided by liblxc through the cffi binding L{vcd.kernel._lxc}.

Only cheap queries run in-process, each on the daemon's dedicated thread pool
(never the reactor's default pool, which also resolves names). Operations
that fork (start, attach) are not done here: liblxc forks the calling
process, which is unsafe in a threaded daemon.
"""

from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from vcd.interfaces import IVPSKernel

try:
    from vcd.kernel._lxc import ffi, lib
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "vcd.kernel._lxc, the compiled liblxc binding, is missing (%s): "
        "install the liblxc headers (Debian package lxc-dev) and reinstall "
        "the vcd package (or run 'python vcd/kernel/_lxc_build.py' in a "
        "source tree)" % (e,)) from e


def _encode(text):
    if "\0" in text:
        raise ValueError("NUL in %r" % (text,))
    return text.encode("utf-8", "surrogateescape")


def _open(lxcpath, name):
    """
    A new container object for C{name} under C{lxcpath}; the caller must
    hand it to C{lxc_container_put}.
    """
    c = lib.lxc_container_new(_encode(name), _encode(lxcpath))
    if c == ffi.NULL:
        raise OSError("liblxc could not allocate container %r in %r"
                      % (name, lxcpath))
    return c


def containerState(lxcpath, name):
    """
    Ask liblxc for the state of a container. Blocking.

    @param lxcpath: the directory holding the containers' configurations.
    @param name: the container's name.
    @return: the state in upper case as liblxc names it, for example
        C{"STOPPED"}, C{"RUNNING"}, C{"STARTING"}, C{"STOPPING"},
        C{"FROZEN"}. An unknown container is C{"STOPPED"}.
    """
    c = _open(lxcpath, name)
    try:
        state = c.state(c)
        if state == ffi.NULL:
            return "STOPPED"
        return ffi.string(state).decode("ascii")
    finally:
        lib.lxc_container_put(c)


def containerRunning(lxcpath, name):
    """
    Ask liblxc whether a container is running. Blocking.

    @return: C{True} if it is running; C{False} if it is stopped or unknown.
    """
    c = _open(lxcpath, name)
    try:
        return bool(c.is_running(c))
    finally:
        lib.lxc_container_put(c)


def liblxcVersion():
    """
    @return: the version string of the liblxc the binding loaded.
    """
    return ffi.string(lib.lxc_get_version()).decode("ascii")


@implementer(IVPSKernel)
class LXCKernel:
    """
    The kernel layer over liblxc, with each VPS a container named after it
    in a private C{lxcpath}.

    @ivar lxcpath: the directory holding the VPS containers' configurations.
    """

    def __init__(self, lxcpath, threadpool, reactor):
        """
        @param lxcpath: the private LXC path (not the distribution's
            C{/var/lib/lxc}).
        @param threadpool: a started L{twisted.python.threadpool.ThreadPool}
            dedicated to kernel queries.
        @param reactor: the reactor the results are delivered in.
        """
        self.lxcpath = lxcpath
        self._threadpool = threadpool
        self._reactor = reactor

    def _inPool(self, f, *args):
        return deferToThreadPool(self._reactor, self._threadpool, f, *args)

    def isRunning(self, name):
        """
        See L{IVPSKernel.isRunning}. An unknown VPS is not running.
        """
        return self._inPool(containerRunning, self.lxcpath, name)
