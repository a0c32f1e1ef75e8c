# -*- test-case-name: tests.test_plugins -*-
"""
Finding the method namespaces: C{getPlugins(IMethodNamespace, vcd.methods)},
plus a report, by module name, of every drop-in module that failed to
import or provides no valid namespace.
"""

import os

from twisted.plugin import getCache, getPlugins
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyObject

from vcd.api.interfaces import IMethodNamespace


def _moduleNames(package):
    found = set()
    for directory in package.__path__:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            base, ext = os.path.splitext(entry)
            if ext == ".py" and base != "__init__" and base.isidentifier():
                found.add(base)
    return found


def loadNamespaces(package):
    """
    Load every namespace plugin.

    @param package: the plugin package (the daemon's is L{vcd.methods}).
    @return: C{(namespaces, problems)}: the valid L{IMethodNamespace}
        providers, and a sorted list of C{"module: what is wrong"} strings.
    """
    problems = []
    cache = getCache(package)
    for missing in sorted(_moduleNames(package) - set(cache)):
        problems.append("%s.%s: failed to import (see the log)"
                        % (package.__name__, missing))
    providing = set()
    namespaces = []
    for plugin in getPlugins(IMethodNamespace, package):
        moduleName = getattr(plugin, "__module__", "?")
        try:
            verifyObject(IMethodNamespace, plugin)
        except Invalid as e:
            problems.append("%s: does not provide IMethodNamespace: %s"
                            % (moduleName, e))
            continue
        namespaces.append(plugin)
        providing.add(moduleName)
    for name, dropin in sorted(cache.items()):
        if not any(IMethodNamespace in getattr(p, "provided", ())
                   for p in dropin.plugins):
            problems.append("%s.%s: provides no IMethodNamespace plugin"
                            % (package.__name__, name))
    return namespaces, sorted(problems)
