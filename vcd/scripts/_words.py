# -*- test-case-name: tests.test_clientwords -*-
"""
What people type, as the values the daemon takes: booleans, numbers,
sizes with units, signal names and addresses in CIDR notation.

Each converter takes one command-line word and returns the value sent, or
raises C{ValueError} with a message for the user.
"""

import ipaddress
import re
import shlex
import signal

from vcd import names
from vcd.api.arguments import INT32_MAX, INT32_MIN, UINT64_MAX
from vcd.names import MEMORY_LIMITS
from vcd.scripts._parser import suggest

_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}


def string(word):
    """
    A string, sent as it is.
    """
    return word


def boolean(word):
    """
    A boolean given as 0/1, true/false, yes/no or on/off.
    """
    try:
        return _BOOLEANS[word.lower()]
    except KeyError:
        raise ValueError("expected 0/1, true/false or yes/no, got %r"
                         % (word,))


def integer(word):
    """
    A signed 32-bit integer (XML-RPC C{<int>}).
    """
    try:
        value = int(word, 10)
    except ValueError:
        raise ValueError("expected an integer, got %r" % (word,))
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError("%s is out of the 32-bit range" % (word,))
    return value


def uint64(word):
    """
    An unsigned 64-bit number, sent as a decimal string (XML-RPC has no
    64-bit integer; the manual's convention).
    """
    if not word.isdigit() or int(word) > UINT64_MAX:
        raise ValueError("expected an unsigned 64-bit number, got %r"
                         % (word,))
    return str(int(word))


#: Binary units of a size given in KiB: each is that many KiB.
KIB_UNITS = {"": 1, "k": 1, "m": 1024, "g": 1024 ** 2, "t": 1024 ** 3}
_SIZE = re.compile(r"([0-9]+)([kmgt]?)(?:i?b)?", re.IGNORECASE)


def kibibytes(word):
    """
    A size in KiB, sent as a uint64 string; a unit may follow the number:
    C{K} (KiB), C{M} (MiB), C{G} (GiB) or C{T} (TiB), in either case, with
    an optional C{iB} or C{B}: C{64M} is 65536, C{1G} is 1048576, C{512}
    is 512 KiB.
    """
    match = _SIZE.fullmatch(word)
    if match is None:
        raise ValueError("expected a size in KiB such as 512, 64M or 1G,"
                         " got %r" % (word,))
    value = int(match.group(1)) * KIB_UNITS[match.group(2).lower()]
    if value > UINT64_MAX:
        raise ValueError("%s is too large" % (word,))
    return str(value)


def limitValue(word, limit):
    """
    A value of resource limit C{limit}: a size with units (L{kibibytes})
    for the memory limits, a plain number for the others.
    """
    if limit.upper().removeprefix("RLIMIT_") in MEMORY_LIMITS:
        return kibibytes(word)
    try:
        return uint64(word)
    except ValueError:
        raise ValueError("%s is a count, not a size: expected a plain number,"
                         " got %r" % (limit, word))


def knobName(kind):
    """
    A converter of a name of kind C{kind} (a capability, flag, limit or
    uname field; see L{vcd.names}) in any accepted spelling, sent as
    typed; an unknown name is refused with the names it is close to.
    The empty name (the original's "all") passes.
    """
    def convert(word):
        if word and names.canonicalName(kind, word) not in names.KNOWN[kind]:
            raise ValueError("unknown %s %r%s" % (
                names.KIND_DESCRIPTIONS[kind], word,
                suggest(word.upper(), sorted(names.KNOWN[kind]))))
        return word
    return convert


def signalNumber(word):
    """
    A signal by number (C{15}) or name (C{TERM}, C{SIGTERM}, C{term}).
    """
    if word.isdigit():
        return int(word)
    name = word.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ValueError("unknown signal %r (give a number or a name such as"
                         " TERM, KILL, HUP)" % (word,))


def splitCIDR(word):
    """
    An address, perhaps in CIDR notation: C{198.18.4.13/24} is the
    address C{198.18.4.13} with the prefix length C{24}.

    @return: C{(address, prefix)}, the prefix C{None} if none was given.
    """
    address, slash, prefix = word.partition("/")
    if not slash:
        return word, None
    try:
        network = ipaddress.ip_interface(word)
    except ValueError:
        raise ValueError("%r is not an address in CIDR notation such as"
                         " 198.18.4.13/24" % (word,))
    return str(network.ip), str(network.network.prefixlen)


def commandLine(words):
    """
    The words of a command as one command line that the daemon's split
    (C{shlex.split}, no shell) turns back into the same words.
    """
    return shlex.join(words)
