# -*- test-case-name: tests.test_clients -*-
"""
Where the clients connect and as whom: the defaults, the client
configuration file (section C{[vcc]}) and the password sources.

Precedence, lowest first: the defaults, the configuration file, the
command-line options.  The password comes from C{$VCC_PASSWORD}, else the
configuration file's C{pass}, else a prompt on a terminal.
"""

import configparser
import getpass
import os

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
                 user=DEFAULT_USER, password=None, configPath=None):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.configPath = configPath

    @property
    def url(self):
        """
        The daemon's XML-RPC address.
        """
        host = "[%s]" % (self.host,) if ":" in self.host else self.host
        return "http://%s:%d/RPC2" % (host, self.port)


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
    if "port" in section:
        try:
            settings.port = parsePort(section["port"])
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


def loadSettings(configPath=None, host=None, port=None, user=None):
    """
    The L{Settings} from the defaults, the configuration file and the
    given options, in increasing precedence.  The password is left as the
    file has it; see L{askPassword}.

    @param configPath: the configuration file (C{-c}), or C{None} for the
        first existing one of L{CONFIG_PATHS}.
    @param host: the host (C{-H}), or C{None}.
    @param port: the port as text (C{-p}), or C{None}.
    @param user: the user name (C{-u}), or C{None}.

    @raise SetupError: the configuration file is unreadable or malformed.
    @raise UsageError: C{port} is not a port number.
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
