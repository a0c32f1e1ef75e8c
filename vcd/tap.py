# -*- test-case-name: tests.test_config,tests.test_installed -*-
"""
C{twistd vcd}: options and the service tree.

    twistd -n vcd [--config FILE] [--listen ENDPOINT]... [--datadir DIR]
                  [--vbasedir DIR] [--templatedir DIR] [--max-body BYTES]
                  [--http-server lean|twisted]
"""

import hashlib
import os
import secrets
import shlex
import signal
import sys

from twisted.application import service, strports
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger, textFileLogObserver, globalLogPublisher
from twisted.python import usage
from twisted.python.logfile import LogFile
from twisted.python.threadpool import ThreadPool

import vcd
import vcd.methods
from vcd.api.call import RequestCounters, Services
from vcd.config import (DEFAULT_DATADIR, DEFAULT_LISTEN, DEFAULT_MAX_BODY,
                        ConfigurationError, buildConfiguration,
                        readConfigFile)
from vcd.api.dispatch import Dispatcher, collectMethods
from vcd.kernel.hostfeatures import HostFeatures
from vcd.kernel.lxcconfig import HostPaths
from vcd.vps.lifecycle import lockedAction, startVps
from vcd.vps.loadavg import LoadTracker
from vcd.api.namespaces import loadNamespaces
from vcd.vps.provision import recoverInterrupted
from vcd.api.resource import makeSite
from vcd.vps.templates import TemplateStore
from vcd.faults import VCDFault
from vcd.vxdb import groups, registry, users
from vcd.vxdb.database import VXDB
from vcd.vxdb.whirlpool import whirlpoolHex

#: The user vshelper calls the daemon as.
HELPER_USER = "vshelper"
#: The group whose VPSes start with the daemon.
ONBOOT_GROUP = "onboot"
#: The longest path a Unix socket address can hold.
UNIX_PATH_MAX = 107


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
                "httpserver": self["http-server"]})
        except ConfigurationError as e:
            raise usage.UsageError(str(e))


class VCDService(service.MultiService):
    """
    The daemon: VXDB, the kernel layer's thread pool, the filesystem thread
    pool and the listening endpoints. Constructing it does no I/O; start-up
    work happens in L{startService}.
    """

    log = Logger()

    def __init__(self, config, reactor, features=None, kernel=None,
                 namespaces=None):
        service.MultiService.__init__(self)
        self.config = config
        self.reactor = reactor
        self._features = features
        self._kernel = kernel
        self.db = VXDB(config.vxdbPath, reactor)
        self.db.setServiceParent(self)
        self.kernelPool = ThreadPool(minthreads=1, maxthreads=4,
                                     name="vcd-kernel")
        self.filesystemPool = ThreadPool(minthreads=1, maxthreads=2,
                                         name="vcd-filesystem")
        if namespaces is None:
            namespaces, problems = loadNamespaces(vcd.methods)
        else:
            problems = []
        self.pluginProblems = problems
        loads = LoadTracker(self._sampleLoads, reactor)
        loads.setServiceParent(self)
        self.parts = Services(
            reactor=reactor, db=self.db, kernel=None, features=None,
            config=config, counters=RequestCounters(reactor.seconds()),
            templates=TemplateStore(config.templatedir),
            filesystem=self._inFilesystemPool, loads=loads,
            pluginProblems=problems)
        self.worker = None
        self.helperPort = None
        self.dispatcher = Dispatcher(collectMethods(namespaces, problems),
                                     self.parts)
        self.site = makeSite(self.dispatcher, config.maxBodySize, reactor,
                             config.httpServer)
        self.site.timeOut = config.timeout
        self.endpointServices = []
        for description in config.listen:
            endpointService = strports.service(description, self.site,
                                               reactor=reactor)
            endpointService.setServiceParent(self)
            self.endpointServices.append(endpointService)
        self._logFile = None

    def _inFilesystemPool(self, function, *args, **kwargs):
        return deferToThreadPool(self.reactor, self.filesystemPool, function,
                                 *args, **kwargs)

    def startService(self):
        config = self.config
        for directory, mode in ((config.datadir, 0o700),
                                (config.lxcpath, 0o700),
                                (config.templatedir, 0o755),
                                (config.vbasedir, 0o755)):
            os.makedirs(directory, mode=mode, exist_ok=True)
        # The daemon's private directories hold VXDB and the helper's
        # secret: whoever created them, only root may enter.
        for directory in (config.datadir, config.lxcpath):
            os.chmod(directory, 0o700)
        for problem in self.pluginProblems:
            self.log.error("namespace plugin problem: {problem}",
                           problem=problem)
        self.parts.features = self._features or HostFeatures.detect()
        self.log.info("cgroup layout {layout}, controllers {controllers}",
                      layout=self.parts.features.cgroupLayout,
                      controllers=",".join(
                          sorted(self.parts.features.controllers)))
        self.db.open()
        for line in recoverInterrupted(self.db, config.vbasedir,
                                       config.datadir):
            self.log.warn("crash recovery: {line}", line=line)
        self.kernelPool.start()
        self.filesystemPool.start()
        if self._kernel is None:
            from vcd.kernel.lxc import LXCKernel
            from vcd.kernel.workerclient import KernelWorker
            self.worker = KernelWorker(self.reactor)
            self.worker.start()
            self._kernel = LXCKernel(config.lxcpath, self.kernelPool,
                                     self.reactor, worker=self.worker)
        self.parts.kernel = self._kernel
        self.parts.hostPaths = HostPaths(
            config.lxcpath, self._vshelperCommand(),
            self.parts.features.cgroupLayout)
        self._setHelperSecret()
        self._listenHelperSocket()
        self._openLogFile()
        self._writePidFile()
        self._installSighup()
        service.MultiService.startService(self)
        self.log.info("vcd methods: {count}", count=len(
            self.dispatcher.methods))
        self.reactor.callLater(0, self.startOnboot)

    def stopService(self):
        d = service.MultiService.stopService(self)
        if self.helperPort is not None:
            d.addBoth(lambda passthrough: defer.maybeDeferred(
                self.helperPort.stopListening).addBoth(lambda _: passthrough))
        if self.worker is not None:
            d.addBoth(lambda passthrough: self.worker.stop().addBoth(
                lambda _: passthrough))

        def stopPools(passthrough):
            self.kernelPool.stop()
            self.filesystemPool.stop()
            if self.config.pidfile:
                try:
                    os.unlink(self.config.pidfile)
                except OSError:
                    pass
            if self._logFile is not None:
                globalLogPublisher.removeObserver(self._logObserver)
                self._logFile.close()
            return passthrough
        return d.addBoth(stopPools)

    @property
    def helperSocket(self):
        """
        The daemon's private Unix socket for vshelper: C{<datadir>/vcd.sock},
        or a path under /run when that is too long for a socket address.
        """
        path = os.path.join(self.config.datadir, "vcd.sock")
        if len(path.encode()) <= UNIX_PATH_MAX:
            return path
        digest = hashlib.sha256(self.config.datadir.encode()).hexdigest()
        return "/run/vcd-%s.sock" % (digest[:16],)

    @property
    def helperSecretFile(self):
        """
        The file (mode 0600) holding the vshelper user's secret.
        """
        return os.path.join(self.config.datadir, "vshelper.secret")

    def _setHelperSecret(self):
        """
        Make sure vshelper has a secret nobody had to type: create it if
        missing and store its digest as the vshelper user's password.
        """
        path = self.helperSecretFile
        try:
            with open(path) as f:
                secret = f.read().strip()
        except FileNotFoundError:
            secret = ""
        if len(secret) < 16:
            secret = secrets.token_urlsafe(32)
            fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                         0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret + "\n")
            os.rename(path + ".new", path)
        os.chmod(path, 0o600)
        digest = whirlpoolHex(secret)
        self.db.transactNow(users.setPassword, HELPER_USER, digest)

    def _listenHelperSocket(self):
        path = self.helperSocket
        if os.path.exists(path):
            os.unlink(path)  # left by a daemon that was killed
        self.helperPort = self.reactor.listenUNIX(path, self.site,
                                                  mode=0o600)

    def _vshelperCommand(self):
        """
        The command LXC's post-stop hook runs: the installed vshelper
        script, or the module from this source tree.
        """
        options = "--socket %s --secret %s" % (
            shlex.quote(self.helperSocket), shlex.quote(self.helperSecretFile))
        script = os.path.join(os.path.dirname(sys.executable), "vshelper")
        if os.access(script, os.X_OK) and "site-packages" in vcd.__file__:
            return "%s %s" % (shlex.quote(script), options)
        root = os.path.dirname(os.path.dirname(os.path.abspath(
            vcd.__file__)))
        return "env PYTHONPATH=%s %s -m vcd.scripts.vshelper %s" % (
            shlex.quote(root), shlex.quote(sys.executable), options)

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
