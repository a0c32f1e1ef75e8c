# -*- test-case-name: tests.test_policy -*-
"""
Faults about a VPS that name the problem, not the host: a failed start's
LXC log says what went wrong inside the VPS, but with the host's paths
(the daemon's data directory, the lxcpath, the vbasedir, the templates).
The owner gets the log with those paths replaced (paths inside the VPS's
root by the path inside the VPS, every other by C{<host>}); the
administrator finds the whole text in the daemon's log, and in the fault
of a method that passes it on with L{forCaller}, which also keeps the
daemon's directories out of any other fault of such a method to a caller
without the admin flag.
"""

import os
import re

from twisted.logger import Logger

from vcd.faults import MESYS, VCDFault

log = Logger()

#: What stands for a host path in a fault.
HOST = "<host>"
#: What may follow a path in a log line: a path ends before any of these.
_PATH_END = "\\s\"'`:;,()\\[\\]<>"


def _variants(paths):
    """
    Each path as given and resolved, longest first (so that a directory
    under another is replaced as itself).
    """
    found = set()
    for path in paths:
        if path:
            path = os.path.normpath(path)
            found.update([path, os.path.realpath(path)])
    found.discard("/")
    return sorted(found, key=len, reverse=True)


def _pattern(root):
    # The root, then nothing or "/..." up to the end of the path; never
    # a longer name (/vservers2 is not under /vservers).
    return re.compile(re.escape(root) + "(?![^/%s])(/[^%s]*)?"
                      % (_PATH_END, _PATH_END))


class HostPathScrubber:
    """
    Replaces host paths in a text.

    @ivar vpsRoots: directories where the VPS's root is seen on the host;
        a path under one becomes the path inside the VPS.
    @ivar hostRoots: the daemon's directories; a path under one becomes
        L{HOST}.
    """

    def __init__(self, hostRoots, vpsRoots=()):
        self.vpsRoots = _variants(vpsRoots)
        self.hostRoots = _variants(hostRoots)

    def scrub(self, text):
        """
        @return: C{text} without the paths of L{hostRoots}.
        """
        for root in self.vpsRoots:
            text = _pattern(root).sub(
                lambda match: match.group(1) or "/", text)
        for root in self.hostRoots:
            text = _pattern(root).sub(HOST, text)
        return text


class HostDetailFault(VCDFault):
    """
    A fault whose message names no host path.

    @ivar detail: the message with them, for administrators.
    """

    def __init__(self, code, message, detail):
        VCDFault.__init__(self, code, message)
        self.detail = detail


def forCaller(failure, config, admin):
    """
    An errback shaping a method's fault for its caller: an administrator
    gets a L{HostDetailFault}'s detail; anybody else gets every fault
    without the daemon's directories (L{daemonDirectories}).

    @param config: the L{vcd.config.Configuration}.
    @param admin: whether the caller has the admin flag.
    """
    fault = failure.value
    if admin:
        if isinstance(fault, HostDetailFault):
            raise VCDFault(fault.faultCode, fault.detail)
    elif isinstance(fault, VCDFault):
        scrubbed = HostPathScrubber(daemonDirectories(config)).scrub(
            fault.faultString)
        if scrubbed != fault.faultString:
            raise VCDFault(fault.faultCode, scrubbed)
    return failure


def daemonDirectories(config):
    """
    The directories of the daemon that no fault to a VPS owner names.

    @param config: the L{vcd.config.Configuration}.
    """
    return [config.datadir, config.lxcpath, config.vbasedir,
            config.templatedir]


def rootsInConfig(configText):
    """
    Where a VPS's LXC configuration puts its root on the host: the
    directories of C{lxc.rootfs.path} (C{dir:} or C{overlay:} layers) and
    C{lxc.rootfs.mount}.
    """
    roots = []
    for line in configText.splitlines():
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key == "lxc.rootfs.mount":
            roots.append(value)
        elif key == "lxc.rootfs.path":
            roots.extend(part for part in value.split(":")
                         if part.startswith("/"))
    return roots


def startFault(config, name, init, configText, error):
    """
    The fault of a start that failed: the kernel's reason, without host
    paths. The whole reason goes to the daemon's log.

    @param config: the L{vcd.config.Configuration}.
    @param init: the VPS's init command.
    @param configText: the LXC configuration it was started with.
    @param error: the L{vcd.kernel.errors.KernelError}.
    @return: an MESYS L{HostDetailFault}.
    """
    log.error("{name} did not start (init {init}): {error}", name=name,
              init=init, error=error)
    scrubber = HostPathScrubber(daemonDirectories(config),
                                rootsInConfig(configText))
    prefix = "cannot start %r (init %s): " % (name, init)
    return HostDetailFault(MESYS, prefix + scrubber.scrub(str(error)),
                           prefix + str(error))


def rootMissingFault(name, error):
    """
    The fault of a start that found a directory of the VPS's root
    missing; the directory goes to the daemon's log and to administrators
    only.

    @param error: the L{vcd.kernel.errors.RootMissing} (its message is
        the directory).
    @return: an MESYS L{HostDetailFault}.
    """
    log.error("{name} did not start: {path} does not exist", name=name,
              path=error)
    prefix = "cannot start %r: its root filesystem is missing (" % (name,)
    suffix = "; was its template removed?)"
    return HostDetailFault(
        MESYS, prefix + "the daemon's log names the directory" + suffix,
        prefix + "%s does not exist" % (error,) + suffix)
