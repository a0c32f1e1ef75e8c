# -*- test-case-name: tests.test_config,tests.test_tls,tests.test_execslots -*-
"""
The daemon's configuration: the INI file (section C{[vcd]}, the original's
keys plus C{listen}, C{maxbody}, C{httpserver}, C{tlscert}, C{tlskey} and
the limits on what clients may hold) under the command-line options, which
win.
"""

import configparser
import os

from vcd.names import HOST_GLOBAL_BCAPS, KNOWN
from vcd.tls import completeListener

DEFAULT_CONFIG_FILE = "/etc/vcd/vcd.conf"
#: The original's address: where the daemon listens and the clients call.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 13386
DEFAULT_LISTEN = "tcp:%d:interface=%s" % (DEFAULT_PORT, DEFAULT_HOST)
DEFAULT_DATADIR = "/var/lib/vcd"
DEFAULT_VBASEDIR = "/vservers"
#: The HTTP servers C{httpserver} may name (see L{vcd.api.resource.SITES}):
#: vcd's lean channel, or twisted.web's own.
HTTP_SERVERS = ("lean", "twisted")
DEFAULT_HTTP_SERVER = "lean"
#: Seconds an idle HTTP connection is kept (key C{timeout}).
DEFAULT_IDLE_TIMEOUT = 30
#: The largest request body, in bytes (key C{maxbody}).
DEFAULT_MAX_BODY = 1024 * 1024
#: Bytes of all request bodies being received or answered at once (key
#: C{maxbodytotal}); a request whose body does not fit gets 503.
DEFAULT_MAX_BODY_TOTAL = 64 * 1024 * 1024
#: TCP connections at once, in total and per client address (keys
#: C{maxconnections}, C{maxperaddress}); more are closed when accepted.
DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_MAX_PER_ADDRESS = 64
#: Seconds from a request's first byte to the end of its head (key
#: C{headtimeout}); also the grace a body gets before C{minbodyrate}.
DEFAULT_HEAD_TIMEOUT = 10
#: The slowest a request body may arrive, in bytes a second (key
#: C{minbodyrate}).
DEFAULT_MIN_BODY_RATE = 16384
#: Seconds C{vx.exec} may run (key C{exectimeout}).
DEFAULT_EXEC_TIMEOUT = 60
#: Bytes of C{vx.exec} output kept (key C{execoutput}).
DEFAULT_EXEC_OUTPUT = 1024 * 1024
#: C{vx.exec} commands running at once in one VPS and for one API user
#: across their VPSes (keys C{execpervps}, C{execperuser};
#: L{vcd.api.execslots}).
DEFAULT_EXEC_PER_VPS = 4
DEFAULT_EXEC_PER_USER = 16
#: Milliseconds C{vx.start} watches a new init (key C{startcheck}).
DEFAULT_START_CHECK_MS = 1
#: The system capabilities callers without the admin flag may give a VPS
#: (key C{bcapceiling}; why these: L{vcd.vps.capceiling}).
DEFAULT_BCAP_CEILING = frozenset(
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID"
    " SETPCAP SETFCAP NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW"
    " IPC_LOCK IPC_OWNER SYS_CHROOT SYS_PTRACE SYS_ADMIN SYS_BOOT SYS_NICE"
    " SYS_RESOURCE SYS_TTY_CONFIG LEASE AUDIT_WRITE".split())


class ConfigurationError(Exception):
    """
    The configuration file or an option is invalid (the manual's MECONF).
    """


class Configuration:
    """
    The effective configuration.

    @ivar listen: the Twisted server endpoint strings to listen on.
    @ivar datadir: where VXDB, the lxcpath and the templates live.
    @ivar vxdbPath: the VXDB file (C{<datadir>/vxdb}).
    @ivar vbasedir: where VPS directories go.
    @ivar templatedir: where template caches live.
    @ivar timeout: the idle timeout of an HTTP connection, in seconds.
    @ivar logfile: a file to log to, besides twistd's log, or None.
    @ivar pidfile: a file to write the daemon's pid to, or None.
    @ivar maxBodySize: the largest request body accepted, in bytes.
    @ivar execTimeout: how long vx.exec may run, in seconds.
    @ivar execOutputCap: how many bytes of vx.exec output are kept.
    @ivar execPerVps: how many vx.exec commands may run at once in one
        VPS.
    @ivar execPerUser: how many vx.exec commands one API user may run at
        once, across all their VPSes.
    @ivar startCheck: how long vx.start watches a new init, in seconds: an
        init that exits within it makes the start a fault.
    @ivar httpServer: which HTTP server serves the API, one of
        L{HTTP_SERVERS}.
    @ivar bcapCeiling: the system capabilities callers without the admin
        flag may give a VPS (key C{bcapceiling};
        L{vcd.vps.capceiling}), a frozenset.
    @ivar maxBodyTotal: the bytes of all request bodies held at once.
    @ivar maxConnections: the TCP connections served at once (fewer if the
        file descriptor limit is lower, see
        L{vcd.api.connectionlimits.ConnectionLimits}).
    @ivar maxPerAddress: the TCP connections served at once per client
        address.
    @ivar headTimeout: the seconds a request's head may take.
    @ivar minBodyRate: the slowest a request body may arrive, in bytes a
        second.
    @ivar tlsCertificate: the PEM certificate of C{ssl:} listeners that
        name none, or None.
    @ivar tlsKey: its PEM private key, or None (then in the certificate's
        file).
    """

    def __init__(self, listen=(DEFAULT_LISTEN,), datadir=DEFAULT_DATADIR,
                 vbasedir=DEFAULT_VBASEDIR, templatedir=None,
                 timeout=DEFAULT_IDLE_TIMEOUT, logfile=None, pidfile=None,
                 maxBodySize=DEFAULT_MAX_BODY,
                 execTimeout=DEFAULT_EXEC_TIMEOUT,
                 execOutputCap=DEFAULT_EXEC_OUTPUT,
                 execPerVps=DEFAULT_EXEC_PER_VPS,
                 execPerUser=DEFAULT_EXEC_PER_USER,
                 startCheck=DEFAULT_START_CHECK_MS / 1000.0,
                 configFile=None, httpServer=DEFAULT_HTTP_SERVER,
                 bcapCeiling=DEFAULT_BCAP_CEILING,
                 maxBodyTotal=DEFAULT_MAX_BODY_TOTAL,
                 maxConnections=DEFAULT_MAX_CONNECTIONS,
                 maxPerAddress=DEFAULT_MAX_PER_ADDRESS,
                 headTimeout=DEFAULT_HEAD_TIMEOUT,
                 minBodyRate=DEFAULT_MIN_BODY_RATE,
                 tlsCertificate=None, tlsKey=None):
        self.tlsCertificate = tlsCertificate and os.path.abspath(
            tlsCertificate)
        self.tlsKey = tlsKey and os.path.abspath(tlsKey)
        try:
            self.listen = [completeListener(description,
                                            self.tlsCertificate, self.tlsKey)
                           for description in listen]
        except ValueError as e:
            raise ConfigurationError(str(e))
        self.datadir = os.path.abspath(datadir)
        self.vxdbPath = os.path.join(self.datadir, "vxdb")
        self.vbasedir = os.path.abspath(vbasedir)
        self.templatedir = os.path.abspath(
            templatedir or os.path.join(self.datadir, "templates"))
        self.lxcpath = os.path.join(self.datadir, "lxc")
        self.timeout = timeout
        self.logfile = logfile
        self.pidfile = pidfile
        self.maxBodySize = maxBodySize
        self.execTimeout = execTimeout
        self.execOutputCap = execOutputCap
        self.execPerVps = execPerVps
        self.execPerUser = execPerUser
        self.startCheck = startCheck
        self.configFile = configFile
        self.httpServer = httpServer
        self.bcapCeiling = frozenset(bcapCeiling)
        self.maxBodyTotal = maxBodyTotal
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
        self.headTimeout = headTimeout
        self.minBodyRate = minBodyRate


_INT_KEYS = {"port": (1, 65535), "timeout": (1, 86400),
             "startcheck": (0, 10000),
             "maxbody": (1024, 1024 ** 3), "exectimeout": (1, 86400),
             "execoutput": (1024, 1024 ** 3),
             "execpervps": (1, 65536), "execperuser": (1, 65536),
             "maxbodytotal": (1024, 64 * 1024 ** 3),
             "maxconnections": (1, 1024 ** 2), "maxperaddress": (1, 1024 ** 2),
             "headtimeout": (1, 3600), "minbodyrate": (1, 1024 ** 3)}
_KNOWN_KEYS = {"host", "port", "timeout", "logfile", "pidfile", "datadir",
               "templatedir", "vbasedir", "listen", "maxbody", "exectimeout",
               "execoutput", "execpervps", "execperuser", "startcheck",
               "httpserver",
               "bcapceiling", "maxbodytotal",
               "maxconnections", "maxperaddress", "headtimeout",
               "minbodyrate", "tlscert", "tlskey"}


def readConfigFile(path, required):
    """
    Read the C{[vcd]} section of an INI file.

    @param required: whether a missing file is an error (it was named
        explicitly) or means "no settings".
    @return: a dict of the keys given, checked.
    @raise ConfigurationError: for an unreadable file, an unknown key or a
        bad value.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            parser.read_file(f)
    except FileNotFoundError:
        if required:
            raise ConfigurationError("config file %s does not exist" % (path,))
        return {}
    except (OSError, configparser.Error) as e:
        raise ConfigurationError("cannot read config file %s: %s" % (path, e))
    if not parser.has_section("vcd"):
        return {}
    values = {}
    for key, value in parser.items("vcd"):
        if key not in _KNOWN_KEYS:
            raise ConfigurationError("%s: unknown key %r in [vcd]"
                                     % (path, key))
        if key in _INT_KEYS:
            low, high = _INT_KEYS[key]
            if not value.strip().isdigit() or not \
                    low <= int(value) <= high:
                raise ConfigurationError("%s: %s must be a number from %d to"
                                         " %d" % (path, key, low, high))
            value = int(value)
        elif key == "listen":
            value = value.split()
        elif key == "httpserver":
            value = checkHttpServer(value.strip(), path)
        elif key == "bcapceiling":
            value = parseBcapCeiling(value, path)
        values[key] = value
    return values


def checkHttpServer(name, where):
    """
    @param where: what named it, for the error message.
    @return: C{name}, if it is one of L{HTTP_SERVERS}.
    @raise ConfigurationError: if not.
    """
    if name not in HTTP_SERVERS:
        raise ConfigurationError("%s: httpserver must be one of %s, not %r"
                                 % (where, ", ".join(HTTP_SERVERS), name))
    return name


def parseBcapCeiling(text, where):
    """
    Read a ceiling of system capabilities: names separated by white space
    (upper case, no C{CAP_} prefix).

    @param where: what named it, for the error message.
    @return: a frozenset of the names.
    @raise ConfigurationError: naming an unknown capability or one of
        L{HOST_GLOBAL_BCAPS}.
    """
    ceiling = frozenset(text.split())
    unknown = sorted(ceiling - KNOWN["bcap"])
    if unknown:
        raise ConfigurationError("%s: bcapceiling: unknown system"
                                 " capabilities %s" % (where,
                                                       " ".join(unknown)))
    forbidden = sorted(ceiling & HOST_GLOBAL_BCAPS)
    if forbidden:
        raise ConfigurationError(
            "%s: bcapceiling: %s reach host-global state; they are for"
            " administrators only" % (where, " ".join(forbidden)))
    return ceiling


def buildConfiguration(options):
    """
    Merge the config file and the command-line options (which win).

    @param options: a mapping with C{config}, C{listen} (a list, maybe
        empty), C{datadir}, C{vbasedir}, C{templatedir}, C{maxbody},
        C{httpserver}, C{tlscert}, C{tlskey} (None when not given).
    """
    path = options.get("config")
    if options.get("httpserver") is not None:
        checkHttpServer(options["httpserver"], "--http-server")
    values = readConfigFile(path or DEFAULT_CONFIG_FILE, required=bool(path))
    listen = list(options.get("listen") or [])
    if not listen:
        listen = values.get("listen") or []
    if not listen:
        if "host" in values or "port" in values:
            host = values.get("host", DEFAULT_HOST)
            port = values.get("port", DEFAULT_PORT)
            listen = ["tcp:%d:interface=%s" % (port,
                                               host.replace(":", "\\:"))]
        else:
            listen = [DEFAULT_LISTEN]

    def pick(key, default):
        given = options.get(key)
        return given if given is not None else values.get(key, default)

    maxBodySize = pick("maxbody", DEFAULT_MAX_BODY)
    maxBodyTotal = values.get("maxbodytotal", DEFAULT_MAX_BODY_TOTAL)
    if maxBodyTotal < maxBodySize:
        raise ConfigurationError("maxbodytotal (%d) is below maxbody (%d):"
                                 " the largest body could never be received"
                                 % (maxBodyTotal, maxBodySize))
    return Configuration(
        listen=listen,
        datadir=pick("datadir", DEFAULT_DATADIR),
        vbasedir=pick("vbasedir", DEFAULT_VBASEDIR),
        templatedir=pick("templatedir", None),
        timeout=values.get("timeout", DEFAULT_IDLE_TIMEOUT),
        logfile=values.get("logfile"),
        pidfile=values.get("pidfile"),
        maxBodySize=maxBodySize,
        execTimeout=values.get("exectimeout", DEFAULT_EXEC_TIMEOUT),
        execOutputCap=values.get("execoutput", DEFAULT_EXEC_OUTPUT),
        execPerVps=values.get("execpervps", DEFAULT_EXEC_PER_VPS),
        execPerUser=values.get("execperuser", DEFAULT_EXEC_PER_USER),
        startCheck=values.get("startcheck",
                              DEFAULT_START_CHECK_MS) / 1000.0,
        configFile=path or DEFAULT_CONFIG_FILE,
        httpServer=pick("httpserver", DEFAULT_HTTP_SERVER),
        bcapCeiling=values.get("bcapceiling", DEFAULT_BCAP_CEILING),
        maxBodyTotal=maxBodyTotal,
        maxConnections=values.get("maxconnections", DEFAULT_MAX_CONNECTIONS),
        maxPerAddress=values.get("maxperaddress", DEFAULT_MAX_PER_ADDRESS),
        headTimeout=values.get("headtimeout", DEFAULT_HEAD_TIMEOUT),
        minBodyRate=values.get("minbodyrate", DEFAULT_MIN_BODY_RATE),
        tlsCertificate=pick("tlscert", None),
        tlsKey=pick("tlskey", None),
    )
