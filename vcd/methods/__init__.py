"""
The drop-in package of method namespaces.

Every module here (or in a C{vcd/methods} directory elsewhere on
C{sys.path}) may provide L{vcd.interfaces.IMethodNamespace} plugins as
module-level instances; the daemon finds them with
C{twisted.plugin.getPlugins}. A third party adds a namespace by installing
a module into this package.
"""

from twisted.plugin import pluginPackagePaths

__path__.extend(pluginPackagePaths(__name__))
__all__ = []
