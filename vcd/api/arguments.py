# -*- test-case-name: tests.test_arguments,tests.test_original_forms -*-
"""
Argument types for method declarations.

Each type turns one member of the argument struct, as the XML-RPC parser
delivered it, into a checked Python value, or raises the MEINVAL fault that
names the argument and says what was wrong. Every byte from the network is
hostile: no type accepts NUL or newline characters, and every length is
bounded.
"""

import ipaddress
import posixpath
import re
import shlex

from vcd import names
from vcd.faults import invalid

UINT64_MAX = 2 ** 64 - 1
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


class ArgumentType:
    """
    The base of argument types.

    @cvar xmlrpcType: the XML-RPC type name, for introspection.
    @cvar helpType: optionally, a longer description for
        C{system.methodHelp}.
    """

    xmlrpcType = "string"

    def parse(self, argument, value):
        """
        Return the checked value of C{argument}, or raise MEINVAL.
        """
        raise NotImplementedError()


class String(ArgumentType):
    """
    A string of at most C{maxLength} characters, with no NUL, CR or LF.
    """

    def __init__(self, maxLength=255, allowEmpty=True):
        self.maxLength = maxLength
        self.allowEmpty = allowEmpty

    def parse(self, argument, value):
        if not isinstance(value, str):
            raise invalid(argument, "must be a string, not %s"
                          % (describeType(value),))
        if len(value) > self.maxLength:
            raise invalid(argument, "longer than %d characters"
                          % (self.maxLength,))
        if "\x00" in value or "\n" in value or "\r" in value:
            raise invalid(argument, "contains a NUL or newline character")
        if not value and not self.allowEmpty:
            raise invalid(argument, "must not be empty")
        return self.check(argument, value)

    def check(self, argument, value):
        """
        Check the content of a string that passed the basic checks.
        """
        return value


class Pattern(String):
    """
    A string matching a regular expression (or empty, if allowed).
    """

    def __init__(self, regex, what, maxLength=255, allowEmpty=False):
        String.__init__(self, maxLength, allowEmpty)
        self.regex = re.compile(regex)
        self.what = what

    def check(self, argument, value):
        if value and not self.regex.fullmatch(value):
            raise invalid(argument, "must be %s" % (self.what,))
        return value


def vpsName(allowEmpty=False):
    """
    A VPS name: 3 to 32 characters of C{[A-Za-z0-9_-]}.
    """
    return Pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{2,31}",
                   "a VPS name of 3-32 characters of [A-Za-z0-9_-] starting"
                   " with a letter or digit",
                   maxLength=32, allowEmpty=allowEmpty)


def userName(allowEmpty=False):
    """
    A username: 1 to 64 alphanumeric characters.
    """
    return Pattern(r"[A-Za-z0-9]{1,64}",
                   "a username of 1-64 alphanumeric characters",
                   maxLength=64, allowEmpty=allowEmpty)


def groupName():
    """
    A group name: 1 to 32 characters of C{[A-Za-z0-9_-]}.
    """
    return Pattern(r"[A-Za-z0-9_-]{1,32}",
                   "a group name of 1-32 characters of [A-Za-z0-9_-]",
                   maxLength=32)


def templateName(allowEmpty=False):
    """
    A template name.
    """
    return Pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
                   "a template name of [A-Za-z0-9_.-] starting with a letter"
                   " or digit", maxLength=64, allowEmpty=allowEmpty)


class Password(String):
    """
    A password: at least 8 characters (or empty where the method allows it
    to mean "unchanged"), or C{WHIRLPOOLENC//} and a 128-digit hex digest.
    """

    def __init__(self, allowEmpty=False):
        String.__init__(self, maxLength=1024, allowEmpty=allowEmpty)

    def check(self, argument, value):
        if not value:
            return value
        if value.startswith("WHIRLPOOLENC//"):
            digest = value[len("WHIRLPOOLENC//"):]
            if not re.fullmatch(r"[0-9a-fA-F]{128}", digest):
                raise invalid(argument, "WHIRLPOOLENC// must be followed by"
                              " 128 hex digits")
            return value
        if len(value) < 8:
            raise invalid(argument, "passwords need at least 8 characters")
        return value


class KnobName(String):
    """
    One of the known names of a kind (see L{vcd.names}), in any accepted
    spelling; the value is the canonical one.
    """

    def __init__(self, kind, allowEmpty=False):
        String.__init__(self, maxLength=64, allowEmpty=allowEmpty)
        self.kind = kind

    def check(self, argument, value):
        if not value:
            return value
        canonical = names.canonicalName(self.kind, value)
        if canonical not in names.KNOWN[self.kind]:
            raise invalid(argument, "unknown %s %r"
                          % (names.KIND_DESCRIPTIONS[self.kind], value))
        return canonical


class AbsolutePath(String):
    """
    An absolute path with no C{..} component (or empty, if allowed).
    """

    def __init__(self, allowEmpty=False, maxLength=1024):
        String.__init__(self, maxLength=maxLength, allowEmpty=allowEmpty)

    def check(self, argument, value):
        if not value:
            return value
        if not value.startswith("/"):
            raise invalid(argument, "must be an absolute path")
        if ".." in value.split("/"):
            raise invalid(argument, "must not contain a '..' component")
        return posixpath.normpath(value).replace("//", "/")


def splitCommand(command, argument="command"):
    """
    Split a simple command line without a shell (quotes are honoured,
    nothing else is interpreted).

    @raise VCDFault: MEINVAL for an empty or unbalanced command line.
    """
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise invalid(argument, "cannot split %r: %s" % (command[:80], e))
    if not argv:
        raise invalid(argument, "the command is empty")
    return argv


class Command(String):
    """
    A command line whose first word is an absolute path free of C{..}
    (init, halt and reboot commands), or empty for the default.
    """

    def __init__(self):
        String.__init__(self, maxLength=1024, allowEmpty=True)

    def check(self, argument, value):
        if value:
            AbsolutePath().check(argument, splitCommand(value, argument)[0])
        return value


class IPAddress(String):
    """
    An IPv4 or IPv6 address (or empty, if allowed); normalised.
    """

    def __init__(self, allowEmpty=False):
        String.__init__(self, maxLength=64, allowEmpty=allowEmpty)

    def check(self, argument, value):
        if not value:
            return value
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise invalid(argument, "%r is not an IPv4 or IPv6 address"
                          % (value,))
        if getattr(address, "scope_id", None) is not None:
            raise invalid(argument, "an address with a %zone suffix is not"
                          " allowed")
        return str(address)


class Netmask(String):
    """
    A netmask: IPv4 dot-decimal (contiguous), or a prefix length such as
    C{24} or C{/64}. Empty means the default.
    """

    def __init__(self):
        String.__init__(self, maxLength=64, allowEmpty=True)

    def check(self, argument, value):
        if not value:
            return value
        text = value.lstrip("/")
        if text.isdigit():
            if int(text) > 128:
                raise invalid(argument, "prefix length %s is over 128"
                              % (text,))
            return str(int(text))
        try:
            bits = int(ipaddress.IPv4Address(value))
        except ValueError:
            bits = None
        inverted = (~bits & 0xFFFFFFFF) if bits is not None else None
        # A netmask is ones then zeros: its complement plus one is a power
        # of two (a host mask such as 0.0.0.255 is not a netmask).
        if bits is None or inverted & (inverted + 1):
            raise invalid(argument, "%r is not a contiguous netmask or prefix"
                          " length" % (value,))
        return str(ipaddress.IPv4Address(bits))


class Bool(ArgumentType):
    """
    A boolean; the ints 0 and 1 are accepted too, as old clients sent them.
    """

    xmlrpcType = "boolean"

    def parse(self, argument, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise invalid(argument, "must be a boolean, not %s"
                      % (describeType(value),))


class Int(ArgumentType):
    """
    A signed 32-bit int within C{[minimum, maximum]}.
    """

    xmlrpcType = "int"

    def __init__(self, minimum=INT32_MIN, maximum=INT32_MAX):
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, argument, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(argument, "must be an int, not %s"
                          % (describeType(value),))
        if not self.minimum <= value <= self.maximum:
            raise invalid(argument, "%d is out of range %d..%d"
                          % (value, self.minimum, self.maximum))
        return value


class UInt64(ArgumentType):
    """
    An unsigned 64-bit value, sent as a decimal string (ints accepted too).

    The manual (9.1) says the server "converts all leading digit characters
    to 64-bit integer representation", as C{strtoull} does, so what follows
    the leading digits is ignored: C{"4096k"} is 4096 (the suffix is not a
    unit; it is dropped, as the original dropped it). What is really wrong
    is still refused, naming the argument:

      - a string that does not start with a digit (C{""}, C{"k"},
        C{" 12"}, C{"+5"}): there are no leading digits to convert, and
        the manual's rule has no sign or blank (C{strtoull} would answer 0
        and the original's vxdb.vx.limit.set refused these too);
      - a negative value (C{"-1"}, C{-1}): the type is unsigned, and
        C{strtoull} would silently wrap it to 2^64-1;
      - a value above 2^64-1 (C{strtoull} would clamp it with ERANGE);
      - the basic string checks: at most C{maxLength} characters, no NUL,
        CR or LF, even in the ignored part.
    """

    xmlrpcType = "string"
    #: How introspection describes the type.
    helpType = ("string: a uint64 in decimal; what follows its leading"
                " digits is ignored")

    _LEADING_DIGITS = re.compile(r"[0-9]+")

    def __init__(self, maxLength=64):
        self._string = String(maxLength=maxLength)

    def parse(self, argument, value):
        if isinstance(value, str):
            self._string.parse(argument, value)
            digits = self._LEADING_DIGITS.match(value)
            if digits is None:
                if value.startswith("-"):
                    raise invalid(argument, "must not be negative (an"
                                  " unsigned 64-bit value), not %r"
                                  % (value,))
                raise invalid(argument, "must be a decimal string of an"
                              " unsigned 64-bit value starting with a digit,"
                              " not %r" % (value,))
            value = int(digits.group())
        elif isinstance(value, bool) or not isinstance(value, int):
            raise invalid(argument, "must be a decimal string, not %s"
                          % (describeType(value),))
        if not 0 <= value <= UINT64_MAX:
            raise invalid(argument, "%d is out of the unsigned 64-bit range"
                          " 0..%d" % (value, UINT64_MAX))
        return value


def describeType(value):
    """
    @return: what an XML-RPC value is, for a fault message ("a struct").
    """
    return {str: "a string", bool: "a boolean", int: "an int",
            float: "a double", dict: "a struct", list: "an array",
            tuple: "an array"}.get(type(value), type(value).__name__)
