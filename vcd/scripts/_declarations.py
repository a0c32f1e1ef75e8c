# -*- test-case-name: tests.test_clientcommands -*-
"""
The daemon's own method declarations, as the clients see them.

The clients build their commands from the same L{vcd.api.method.Method}s
the daemon serves (the namespace plugins of L{vcd.methods}), so a client
command exists exactly when its method does, with the method's parameters
in the method's order.
"""

import functools

import vcd.methods
from vcd.api import arguments
from vcd.api.dispatch import collectMethods
from vcd.api.namespaces import loadNamespaces


@functools.lru_cache(maxsize=None)
def serverMethods():
    """
    The daemon's method table, name to L{vcd.api.method.Method}, built
    from the namespace plugins as the daemon builds it (plugins that fail
    to load are left out, as the daemon leaves them out).
    """
    namespaces, _ = loadNamespaces(vcd.methods)
    return collectMethods(namespaces)


def methodsUnder(prefix, methods=None):
    """
    The methods whose name starts with C{prefix}, sorted by name.

    @param methods: the method table (default L{serverMethods}).
    """
    if methods is None:
        methods = serverMethods()
    return [methods[name] for name in sorted(methods)
            if name.startswith(prefix)]


def wireKind(param):
    """
    The kind of value a parameter travels as: C{"boolean"}, C{"int"},
    C{"uint64"} (a decimal string) or C{"string"}.
    """
    if isinstance(param.type, arguments.Bool):
        return "boolean"
    if isinstance(param.type, arguments.Int):
        return "int"
    if isinstance(param.type, arguments.UInt64):
        return "uint64"
    return "string"


def knobKind(param):
    """
    The kind of name (C{"bcap"}, C{"limit"}, ... see L{vcd.names}) a
    parameter takes, or C{None} if it takes no knob name.
    """
    if isinstance(param.type, arguments.KnobName):
        return param.type.kind
    return None
