# -*- test-case-name: tests.test_templates -*-
"""
VPS templates: a template cache (a tarball of a root filesystem) and an
optional small configuration, both in the template directory::

    <templatedir>/<name>.tar.gz
    <templatedir>/<name>.conf

The configuration is INI with one section C{[template]}::

    [template]
    description = Minimal busybox system
    distribution = debian
    release = 12
    date = 2025-11-15T09:00:00Z
    init = /sbin/init
    halt = /sbin/halt
    reboot = /sbin/reboot
    timeout = 15
    bcaps = CHOWN KILL SETUID SETGID
    ccaps = SET_UTSNAME
    flags = VIRT_MEM VIRT_UPTIME
    mounts =
        proc /proc proc defaults
        devpts /dev/pts devpts gid=5,mode=620

Omitted keys take the defaults the original daemon gave a new VPS. A cache
without a configuration is a template with all defaults; a configuration
without a cache is not a template.
"""

import configparser
import io
import os
import re

from vcd.vxdb.defaults import (DEFAULT_HALT, DEFAULT_INIT, DEFAULT_REBOOT,
                               DEFAULT_TIMEOUT)

CACHE_SUFFIX = ".tar.gz"
CONFIG_SUFFIX = ".conf"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")

DEFAULT_BCAPS = frozenset(
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID "
    "NET_BIND_SERVICE SYS_CHROOT SYS_PTRACE SYS_BOOT SYS_TTY_CONFIG "
    "LEASE".split())
DEFAULT_CCAPS = frozenset(["SET_UTSNAME", "RAW_ICMP"])
DEFAULT_FLAGS = frozenset(
    ["VIRT_MEM", "VIRT_UPTIME", "VIRT_CPU", "VIRT_LOAD", "HIDE_NETIF"])
DEFAULT_MOUNTS = (
    ("proc", "/proc", "proc", "defaults"),
    ("devpts", "/dev/pts", "devpts", "gid=5,mode=620"),
)


def validTemplateName(name):
    """
    @return: whether C{name} is acceptable as a template name: 1 to 64
        characters from C{[A-Za-z0-9_.-]}, the first a letter or digit (so it
        is never C{.}, C{..}, hidden, or a path).
    """
    return isinstance(name, str) and _NAME.match(name) is not None


class TemplateConfigError(ValueError):
    """
    A template's configuration file cannot be understood.
    """


def _names(value, key):
    names = frozenset(value.split())
    for n in names:
        if not re.match(r"[A-Z][A-Z0-9_]*\Z", n):
            raise TemplateConfigError(
                "%s: %r is not an upper-case name" % (key, n))
    return names


def _mounts(value):
    mounts = []
    for line in value.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise TemplateConfigError(
                "mounts: %r is not 'src dst type opts'" % (line,))
        mounts.append(tuple(fields))
    return tuple(mounts)


class Template:
    """
    One template.

    @ivar name: the template's name.
    @ivar description: one line for people; C{""} if not configured.
    @ivar distribution: the distribution it holds (C{"debian"}), or C{""}.
    @ivar release: the distribution's release (C{"12"}), or C{""}.
    @ivar date: when its contents were made (for a Debian template the
        date of its packages' Release file, so the same packages give the
        same date), ISO 8601 UTC; or C{""}.
    @ivar cachePath: the absolute path of the template cache tarball.
    @ivar init: the command starting the VPS.
    @ivar halt: the command halting the VPS from inside.
    @ivar reboot: the command rebooting the VPS from inside.
    @ivar timeout: seconds a stop waits for the VPS to halt.
    @ivar bcaps: frozenset of capability names (no C{CAP_} prefix).
    @ivar ccaps: frozenset of context capability names.
    @ivar flags: frozenset of context flag names.
    @ivar mounts: tuple of C{(src, dst, type, opts)} tuples.
    """

    def __init__(self, name, cachePath, description="", init=DEFAULT_INIT,
                 halt=DEFAULT_HALT, reboot=DEFAULT_REBOOT,
                 timeout=DEFAULT_TIMEOUT, bcaps=DEFAULT_BCAPS,
                 ccaps=DEFAULT_CCAPS, flags=DEFAULT_FLAGS,
                 mounts=DEFAULT_MOUNTS, distribution="", release="",
                 date=""):
        self.name = name
        self.cachePath = cachePath
        self.description = description
        self.distribution = distribution
        self.release = release
        self.date = date
        self.init = init
        self.halt = halt
        self.reboot = reboot
        self.timeout = timeout
        self.bcaps = frozenset(bcaps)
        self.ccaps = frozenset(ccaps)
        self.flags = frozenset(flags)
        self.mounts = tuple(tuple(m) for m in mounts)

    @classmethod
    def fromConfig(cls, name, cachePath, text):
        """
        Make a template from the text of its configuration file.

        @raise TemplateConfigError: if the text is not a valid configuration.
        """
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error as e:
            raise TemplateConfigError(str(e)) from e
        if not parser.has_section("template"):
            return cls(name, cachePath)
        section = parser["template"]
        kwargs = {}
        for key in ("description", "init", "halt", "reboot", "distribution",
                    "release", "date"):
            if key in section:
                kwargs[key] = section[key].strip()
        if "timeout" in section:
            try:
                kwargs["timeout"] = int(section["timeout"])
            except ValueError:
                raise TemplateConfigError(
                    "timeout: %r is not an integer" % (section["timeout"],))
            if kwargs["timeout"] < 0:
                raise TemplateConfigError("timeout must not be negative")
        for key in ("bcaps", "ccaps", "flags"):
            if key in section:
                kwargs[key] = _names(section[key], key)
        if "mounts" in section:
            kwargs["mounts"] = _mounts(section["mounts"])
        return cls(name, cachePath, **kwargs)

    def toConfig(self):
        """
        @return: the text of a configuration file describing this template.
        """
        parser = configparser.ConfigParser(interpolation=None)
        mounts = "".join(
            "\n" + " ".join(m) for m in self.mounts)
        parser["template"] = {
            "description": self.description,
        }
        for key in ("distribution", "release", "date"):
            if getattr(self, key):
                parser["template"][key] = getattr(self, key)
        parser["template"].update({
            "init": self.init,
            "halt": self.halt,
            "reboot": self.reboot,
            "timeout": str(self.timeout),
            "bcaps": " ".join(sorted(self.bcaps)),
            "ccaps": " ".join(sorted(self.ccaps)),
            "flags": " ".join(sorted(self.flags)),
            "mounts": mounts,
        })
        out = io.StringIO()
        parser.write(out)
        return out.getvalue()

    def __repr__(self):
        return "<Template %r at %r>" % (self.name, self.cachePath)


class TemplateStore:
    """
    The templates found in one directory. Nothing is cached: every call
    looks at the directory as it is now.
    """

    def __init__(self, templatedir):
        """
        @param templatedir: the directory holding caches and configurations.
        """
        self.templatedir = templatedir

    def _load(self, name):
        cache = os.path.join(self.templatedir, name + CACHE_SUFFIX)
        if not os.path.isfile(cache):
            raise KeyError(name)
        config = os.path.join(self.templatedir, name + CONFIG_SUFFIX)
        try:
            with open(config, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return Template(name, os.path.abspath(cache))
        return Template.fromConfig(name, os.path.abspath(cache), text)

    def get(self, name):
        """
        @return: the L{Template} called C{name}.
        @raise KeyError: if C{name} is invalid or no such template exists.
        @raise TemplateConfigError: if its configuration is broken.
        """
        if not validTemplateName(name):
            raise KeyError(name)
        return self._load(name)

    def list(self):
        """
        @return: every template, sorted by name. A template whose
            configuration is broken is left out (L{get} reports why).
        """
        try:
            entries = os.listdir(self.templatedir)
        except FileNotFoundError:
            return []
        templates = []
        for entry in sorted(entries):
            if not entry.endswith(CACHE_SUFFIX):
                continue
            name = entry[:-len(CACHE_SUFFIX)]
            if not validTemplateName(name):
                continue
            try:
                templates.append(self._load(name))
            except (KeyError, TemplateConfigError):
                continue
        return templates
