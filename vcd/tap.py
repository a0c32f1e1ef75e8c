# -*- test-case-name: tests.test_config,tests.test_installed -*-
"""
C{twistd vcd}: options and the service tree.

    twistd -n vcd [--config FILE] [--listen ENDPOINT]... [--datadir DIR]
                  [--vbasedir DIR] [--templatedir DIR] [--max-body BYTES]
                  [--http-server lean|twisted]
                  [--tls-cert PEM] [--tls-key PEM]
"""

import os
import signal

from twisted.application import service, strports
from twisted.internet import defer
from twisted.logger import Logger, textFileLogObserver, globalLogPublisher
from twisted.python import usage
from twisted.python.logfile import LogFile

import vcd.methods
from vcd.api.call import RequestCounters, Services
from vcd.api.connectionlimits import ConnectionLimits, raiseFileLimit
from vcd.config import (DEFAULT_DATADIR, DEFAULT_LISTEN, DEFAULT_MAX_BODY,
                        ConfigurationError, buildConfiguration,
                        readConfigFile)
from vcd.api.dispatch import Dispatcher, collectMethods
from vcd.api.loginthrottle import LoginThrottle
from vcd.kernel.hostfeatures import HostFeatures
from vcd.kernel.idmap import IDS_PER_VPS, unsearchableAncestors
from vcd.kernel.contextconfig import writeSeccompVariants
from vcd.kernel.lxcfs import LxcfsService
from vcd.kernel.lxcconfig import HostPaths, writeSeccompProfile
from vcd.kernel.vethharden import hardenRunning
from vcd.vps.lifecycle import lockedAction, startVps
from vcd.vps.loadavg import LoadTracker
from vcd.api.namespaces import loadNamespaces
from vcd.vps.mountpolicy import auditStoredMounts
from vcd.vps.recovery import recoverInterrupted
from vcd.vps.stops import RequestedStops
from vcd.api.resource import makeSite
from vcd.vps.templates import TemplateStore
from vcd.faults import VCDFault
from vcd.helpersocket import HelperSocket
from vcd.threadpoolservice import ThreadPoolService
from vcd.tls import checkListeners
from vcd.vxdb import groups, registry, userns
from vcd.vxdb.database import VXDB

#: The group whose VPSes start with the daemon.
ONBOOT_GROUP = "onboot"


class Options(usage.Options):
    """
    The command line of C{twistd vcd}.
    """

    optParameters = [
        ["config", "c", None, "Config file (INI, section [vcd]; default"
                              " /etc/vcd/vcd.conf if it exists)"],
        ["datadir", None, None, "Data directory (default %s)"
                                % (DEFAULT_DATADIR,)],
        ["vbasedir", None, None, "VPS base directory (default /vservers)"],
        ["templatedir", None, None,
         "Template directory (default <datadir>/templates)"],
        ["max-body", None, None, "Largest request body in bytes"
                                 " (default %d)" % (DEFAULT_MAX_BODY,), int],
        ["http-server", None, None, "HTTP server: lean (vcd's own, the"
                                    " default) or twisted (twisted.web's)"],
        ["tls-cert", None, None, "PEM certificate of the ssl: listeners"
                                 " that name none (config key tlscert)"],
        ["tls-key", None, None, "PEM private key of that certificate"
                                " (config key tlskey; default: in the"
                                " certificate's file)"],
    ]

    def __init__(self):
        usage.Options.__init__(self)
        self["listen"] = []

    def opt_listen(self, endpoint):
        """
        A Twisted server endpoint string to listen on; may repeat (default
        %s).
        """
        self["listen"].append(endpoint)

    opt_listen.__doc__ %= (DEFAULT_LISTEN,)

    def postOptions(self):
        try:
            self.configuration = buildConfiguration({
                "config": self["config"], "listen": self["listen"],
                "datadir": self["datadir"], "vbasedir": self["vbasedir"],
                "templatedir": self["templatedir"],
                "maxbody": self["max-body"],
                "httpserver": self["http-server"],
                "tlscert": self["tls-cert"], "tlskey": self["tls-key"]})
            from twisted.internet import reactor
            checkListeners(reactor, self.configuration.listen)
        except (ConfigurationError, ValueError) as e:
            raise usage.UsageError(str(e))


class VCDService(service.MultiService):
    """
    The daemon: a L{service.MultiService} whose children are declared here,
    where they are made: VXDB, the kernel layer's and the filesystem's
    thread pools, the kernel worker, the load sampler, the login throttle,
    the listening endpoints and vshelper's Unix socket. Constructing it does no I/O;
    start-up work happens in L{startService}.

    @ivar parts: the daemon's parts the methods see, a L{Services}
        (C{services} is L{service.MultiService}'s list of children).
    """

    log = Logger()

    def __init__(self, config, reactor, features=None, kernel=None,
                 namespaces=None):
        service.MultiService.__init__(self)
        self.config = config
        self.reactor = reactor
        self._features = features
        self.db = self._child(VXDB(config.vxdbPath, reactor))
        kernelPool = self._child(ThreadPoolService(reactor, "vcd-kernel", 4))
        self.filesystemPool = self._child(
            ThreadPoolService(reactor, "vcd-filesystem", 2))
        self.worker = None
        if kernel is None:
            from vcd.kernel.lxc import LXCKernel
            from vcd.kernel.worker.client import KernelWorker
            self.worker = self._child(KernelWorker(reactor))
            kernel = LXCKernel(config.lxcpath, kernelPool.pool, reactor,
                               worker=self.worker)
        if namespaces is None:
            namespaces, problems = loadNamespaces(vcd.methods)
        else:
            problems = []
        self.parts = Services(
            reactor=reactor, db=self.db, kernel=kernel, features=None,
            config=config, counters=RequestCounters(reactor.seconds()),
            templates=TemplateStore(config.templatedir),
            filesystem=self.filesystemPool.run,
            loads=self._child(LoadTracker(self._sampleLoads, reactor)),
            pluginProblems=problems, stops=RequestedStops(reactor),
            throttle=self._child(LoginThrottle(reactor)))
        self.dispatcher = Dispatcher(collectMethods(namespaces, problems),
                                     self.parts)
        self.site = makeSite(self.dispatcher, config.maxBodySize, reactor,
                             config.httpServer)
        self.site.timeOut = config.timeout
        self.site.limits = ConnectionLimits.fromConfiguration(config)
        self.endpointServices = [
            self._child(strports.service(description, self.site,
                                         reactor=reactor))
            for description in config.listen]
        self.helper = self._child(HelperSocket(config.datadir, self.site,
                                               self.db, reactor))
        self.parts.helperSocket = self.helper.path
        self.lxcfs = self._child(LxcfsService(
            reactor, self.filesystemPool.run,
            os.path.join(config.datadir, "lxcfs.log"),
            os.path.join(config.datadir, "lxcfs.pid")))
        self._logFile = None

    def _child(self, child):
        child.setServiceParent(self)
        return child

    def startService(self):
        config = self.config
        parts = self.parts
        for directory, mode in ((config.datadir, 0o711),
                                (config.lxcpath, 0o711),
                                (config.templatedir, 0o755),
                                (config.vbasedir, 0o755)):
            os.makedirs(directory, mode=mode, exist_ok=True)
        # The daemon's private directories hold VXDB and the helper's
        # secret (each only root's): whoever created them, nobody else may
        # list them. They stay searchable because an unprivileged VPS's
        # root must reach its own directory in the lxcpath, which only its
        # ids may enter (vcd.kernel.idmap.admitRootOf).
        for directory in (config.datadir, config.lxcpath):
            os.chmod(directory, 0o711)
        for problem in parts.pluginProblems:
            self.log.error("namespace plugin problem: {problem}",
                           problem=problem)
        # What the host can enforce is found out now, not when constructed.
        parts.features = self._features or HostFeatures.detect()
        if self._features is None:
            parts.features.lxcfs = self.lxcfs
        self.log.info("cgroup layout {layout}, controllers {controllers}",
                      layout=parts.features.cgroupLayout,
                      controllers=",".join(
                          sorted(parts.features.controllers)))
        parts.hostPaths = HostPaths(
            config.lxcpath, self.helper.hookCommand(),
            parts.features.cgroupLayout,
            seccomp=(writeSeccompProfile(config.lxcpath)
                     if parts.features.seccomp else None))
        if parts.hostPaths.seccomp:
            writeSeccompVariants(parts.hostPaths.seccomp)
        self.db.open()
        try:
            lines = recoverInterrupted(self.db, config.vbasedir,
                                       config.datadir, config.lxcpath)
        except Exception:
            # Whatever it is, the daemon starts: the API can fix the rest.
            self.log.failure("crash recovery failed")
            lines = []
        for line in lines:
            self.log.warn("crash recovery: {line}", line=line)
        self._migrateToUserNamespaces()
        for line in hardenRunning(config.lxcpath):
            self.log.warn("network: {line}", line=line)
        for directory in (config.lxcpath, config.vbasedir):
            for blocked in unsearchableAncestors(
                    os.path.join(directory, "x")):
                self.log.error(
                    "unprivileged VPSes cannot start: their roots are under"
                    " {blocked}, which other users cannot pass through"
                    " (chmod o+x {blocked})", blocked=blocked)
        for line in auditStoredMounts(self.db, (config.vbasedir,
                                                config.datadir)):
            self.log.warn("mount policy: {line}", line=line)
        self._openLogFile()
        self._writePidFile()
        self._installSighup()
        self.site.limits.fitFileLimit(raiseFileLimit())
        service.MultiService.startService(self)
        self.log.info("vcd methods: {count}", count=len(
            self.dispatcher.methods))
        self.reactor.callLater(0, self.startOnboot)

    def _migrateToUserNamespaces(self):
        """
        Give each VPS made before VPSes were unprivileged a range of host
        ids, and say so: it runs unprivileged from its next start (a
        running one keeps running as it started), and the files of a copy
        are given to its range at that start.
        """
        ranges = self.parts.features.idRanges
        self.log.info("subordinate ids for unprivileged VPSes: {ranges}",
                      ranges=" ".join("%d+%d" % r for r in ranges)
                      or "none (add a range for root to /etc/subuid and"
                      " /etc/subgid)")
        try:
            assigned = self.db.transactNow(userns.assignMissing, ranges,
                                           IDS_PER_VPS)
        except VCDFault as e:
            self.log.error("VPSes from an older vcd stay without a user"
                           " namespace and cannot start: {why}",
                           why=e.faultString)
            return
        for name, base in assigned:
            self.log.warn(
                "migration: {name} (made by an older vcd, privileged) is"
                " unprivileged from its next start, as host ids {first}"
                "-{last}; the files of a copy are given to them then",
                name=name, first=base, last=base + IDS_PER_VPS - 1)

    def stopService(self):
        d = service.MultiService.stopService(self)

        def cleanUp(passthrough):
            if self.config.pidfile:
                try:
                    os.unlink(self.config.pidfile)
                except OSError:
                    pass
            if self._logFile is not None:
                globalLogPublisher.removeObserver(self._logObserver)
                self._logFile.close()
            return passthrough
        return d.addBoth(cleanUp)

    @property
    def helperSocket(self):
        """
        The daemon's private Unix socket for vshelper.
        """
        return self.helper.path

    @property
    def helperSecretFile(self):
        """
        The file (mode 0600) holding the vshelper user's secret.
        """
        return self.helper.secretFile

    def _sampleLoads(self):
        d = self.db.read(registry.vpsNames)
        return d.addCallback(self.parts.kernel.activeTasks)

    @defer.inlineCallbacks
    def startOnboot(self):
        """
        Start the stopped VPSes of group C{onboot}; log each failure.
        """
        try:
            members = yield self.db.read(groups.members, ONBOOT_GROUP)
        except VCDFault:
            return  # no such group
        for xid, name in members:
            try:
                if (yield self.parts.kernel.isRunning(name)):
                    continue
                yield lockedAction(self.parts, startVps, xid, name)
                self.log.info("onboot: started {name}", name=name)
            except Exception:
                self.log.failure("onboot: starting {name} failed", name=name)

    def _openLogFile(self):
        if self.config.logfile and self._logFile is None:
            self._logFile = LogFile.fromFullPath(self.config.logfile,
                                                 defaultMode=0o640)
            self._logObserver = textFileLogObserver(self._logFile)
            globalLogPublisher.addObserver(self._logObserver)

    def _writePidFile(self):
        if self.config.pidfile:
            with open(self.config.pidfile, "w") as f:
                f.write("%d\n" % (os.getpid(),))

    def _installSighup(self):
        if not hasattr(signal, "SIGHUP") or not hasattr(
                self.reactor, "callFromThread"):
            return
        try:
            signal.signal(signal.SIGHUP, lambda *a:
                          self.reactor.callFromThread(self.reload))
        except ValueError:
            pass  # not the main thread (tests)

    def reload(self):
        """
        Reopen the log file and reread the config file (SIGHUP). Settings
        that need a restart (listen, directories) are logged if changed.
        """
        if self._logFile is not None:
            self._logFile.reopen()
        path = self.config.configFile
        try:
            values = readConfigFile(path, required=False)
        except ConfigurationError as e:
            self.log.error("SIGHUP: config not reloaded: {error}", error=e)
            return
        if "timeout" in values:
            self.config.timeout = self.site.timeOut = values["timeout"]
        if "maxbody" in values:
            self.config.maxBodySize = self.site.maxBodySize = values["maxbody"]
        self.log.info("SIGHUP: reopened logs and reread {path}", path=path)


def makeService(options):
    """
    Build the vcd service from the parsed L{Options}.
    """
    from twisted.internet import reactor
    return VCDService(options.configuration, reactor)
