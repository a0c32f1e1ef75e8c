# -*- test-case-name: tests.test_clients,tests.test_tls -*-
"""
Where the clients connect and as whom: the defaults, the client
configuration file (section C{[vcc]}) and the password sources.

Precedence, lowest first: the defaults, the configuration file, the
command-line options.  The password comes from C{$VCC_PASSWORD}, else the
configuration file's C{pass}, else a prompt on a terminal.

TLS (C{https://}): key C{tls = yes} (C{--tls}), C{cafile} (C{--cafile}: the
CA certificates the daemon's certificate is verified against, instead of
the system's) and C{pin} (C{--pin}: the SHA-256 fingerprint the daemon's
certificate must have).  A C{cafile} or a C{pin} implies TLS.
"""

import configparser
import getpass
import os
import re

from vcd.config import DEFAULT_HOST, DEFAULT_PORT
from vcd.scripts._clienterrors import SetupError, UsageError

DEFAULT_USER = "admin"

#: Client configuration files tried in order when C{-c} is not given.
CONFIG_PATHS = ("~/.vcc.conf", "/etc/vcd/vcc.conf")

#: Environment variable holding the password; it wins over the config file.
PASSWORD_VARIABLE = "VCC_PASSWORD"


class Settings:
    """
    Where to connect and as whom.
    """

    def __init__(self, host=DEFAULT_HOST, port=DEFAULT_PORT,
                 user=DEFAULT_USER, password=None, configPath=None,
                 tls=False, cafile=None, pin=None):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.configPath = configPath
        self._tls = tls
        self.cafile = cafile
        self.pin = pin

    @property
    def tls(self):
        """
        Whether the daemon is called over TLS: asked for, or implied by a
        C{cafile} or a C{pin}.
        """
        return bool(self._tls or self.cafile or self.pin)

    @tls.setter
    def tls(self, value):
        self._tls = value

    @property
    def url(self):
        """
        The daemon's XML-RPC address.
        """
        host = "[%s]" % (self.host,) if ":" in self.host else self.host
        return "%s://%s:%d/RPC2" % ("https" if self.tls else "http", host,
                                    self.port)


def parsePin(text):
    """
    A SHA-256 certificate fingerprint as lowercase hex, from hex with or
    without colons, optionally after C{sha256:} or as C{openssl x509
    -fingerprint -sha256} prints it (C{sha256 Fingerprint=AB:CD:...}).

    @raise UsageError: not a SHA-256 fingerprint.
    """
    digits = re.sub(r"^\s*sha-?256(\s+fingerprint)?\s*[:=]?\s*", "", text,
                    flags=re.IGNORECASE).replace(":", "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise UsageError("invalid certificate pin %r: not a SHA-256"
                         " fingerprint (64 hex digits)" % (text,))
    return digits


def _parseBoolean(text):
    value = text.strip().lower()
    if value in ("yes", "true", "on", "1"):
        return True
    if value in ("no", "false", "off", "0"):
        return False
    raise UsageError("invalid boolean %r (yes or no)" % (text,))


def parsePort(text):
    """
    A TCP port number from text.

    @raise UsageError: not a port number.
    """
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError("invalid port %r" % (text,))
    return int(text)


def readConfig(settings, path):
    """
    Update C{settings} from the C{[vcc]} section of the file at C{path}.

    @raise SetupError: the file is unreadable or malformed.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as e:
        raise SetupError("cannot read configuration %s: %s" % (path, e))
    settings.configPath = path
    if not parser.has_section("vcc"):
        return
    section = parser["vcc"]
    settings.host = section.get("host", settings.host)
    settings.user = section.get("user", settings.user)
    settings.password = section.get("pass", settings.password)
    settings.cafile = section.get("cafile", settings.cafile)
    try:
        if "port" in section:
            settings.port = parsePort(section["port"])
        if "tls" in section:
            settings.tls = _parseBoolean(section["tls"])
        if "pin" in section:
            settings.pin = parsePin(section["pin"])
    except UsageError as e:
        raise SetupError("%s: %s" % (path, e))


def findConfig(explicit):
    """
    The configuration file to read: C{explicit} (C{-c}), else the first
    existing one of L{CONFIG_PATHS}, else C{None}.
    """
    if explicit is not None:
        return explicit
    for candidate in CONFIG_PATHS:
        path = os.path.expanduser(candidate)
        if os.path.isfile(path):
            return path
    return None


def loadSettings(configPath=None, host=None, port=None, user=None,
                 tls=False, cafile=None, pin=None):
    """
    The L{Settings} from the defaults, the configuration file and the
    given options, in increasing precedence.  The password is left as the
    file has it; see L{askPassword}.

    @param configPath: the configuration file (C{-c}), or C{None} for the
        first existing one of L{CONFIG_PATHS}.
    @param host: the host (C{-H}), or C{None}.
    @param port: the port as text (C{-p}), or C{None}.
    @param user: the user name (C{-u}), or C{None}.
    @param tls: C{True} to call over TLS (C{--tls}).
    @param cafile: the CA certificates file (C{--cafile}), or C{None}.
    @param pin: the certificate's SHA-256 fingerprint (C{--pin}), or
        C{None}.

    @raise SetupError: the configuration file is unreadable or malformed.
    @raise UsageError: C{port} is not a port number, C{pin} not a
        fingerprint.
    """
    settings = Settings()
    path = findConfig(configPath)
    if path is not None:
        readConfig(settings, path)
    if host is not None:
        settings.host = host
    if user is not None:
        settings.user = user
    if port is not None:
        settings.port = parsePort(port)
    if tls:
        settings.tls = True
    if cafile is not None:
        settings.cafile = cafile
    if pin is not None:
        settings.pin = parsePin(pin)
    return settings


def askPassword(settings, environ, stdin, stderr):
    """
    The password: C{$VCC_PASSWORD}, else the config's C{pass}, else a
    prompt if stdin is a terminal.

    @raise SetupError: no password can be had.
    """
    if environ.get(PASSWORD_VARIABLE) is not None:
        return environ[PASSWORD_VARIABLE]
    if settings.password is not None:
        return settings.password
    if stdin is not None and stdin.isatty():
        return getpass.getpass(
            "Password for %s@%s: " % (settings.user, settings.host),
            stream=stderr)
    raise SetupError(
        "no password: set $%s, put 'pass' in the [vcc] section of %s, "
        "or run on a terminal" % (
            PASSWORD_VARIABLE, settings.configPath or "~/.vcc.conf"))
