"""
The folders of vcd/ are layers and imports point only downwards (see
docs/architecture.md): every import in every module, including those
inside functions, read with the ast module and resolved to the module it
names, whatever its form (C{import vcd.x}, C{from vcd import x},
C{from vcd.x import y}, C{from . import x}, C{from ..x import y}).
"""

import ast
import os

from twisted.trial import unittest

import vcd

#: From the top down; a module may import from its own layer and below.
ORDER = ("daemon", "plugins", "operations", "framework", "database",
         "kernel", "leaves")
FOLDERS = {"methods": "plugins", "vps": "operations", "api": "framework",
           "vxdb": "database", "kernel": "kernel"}
DAEMON = {"tap", "helpersocket", "threadpoolservice", "interfaces",
          "scripts"}
LEAVES = {"faults", "names", "config", "tls"}
#: What a module file may end with (sources and compiled extensions).
_EXTENSION_SUFFIXES = (".abi3.so", ".so")


def layerOf(module):
    """
    The layer of a dotted module name of vcd, or None for another package.
    """
    parts = module.split(".")
    if parts[0] != "vcd":
        return None
    if len(parts) == 1 or parts[1] in LEAVES:
        return "leaves"
    if parts[1] in DAEMON:
        return "daemon"
    return FOLDERS.get(parts[1], "unknown: " + parts[1])


def vcdModules(top):
    """
    The modules of the vcd package below directory C{top}.

    @return: a dict of dotted module name to C{(path of its source or
        None for an extension, whether it is a package)}.
    """
    modules = {}
    for directory, _, files in os.walk(top):
        for name in files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, top)
            if name.endswith(".py"):
                dotted = relative[:-3]
            else:
                suffix = [s for s in _EXTENSION_SUFFIXES if name.endswith(s)]
                if not suffix:
                    continue
                dotted = relative[:-len(suffix[0])].split(".")[0]
            dotted = "vcd." + dotted.replace(os.sep, ".")
            if dotted.endswith(".__init__"):
                package = dotted[:-len(".__init__")]
                modules[package] = (path, True)
            elif name.endswith(".py"):
                modules[dotted] = (path, False)
            else:
                modules.setdefault(dotted, (None, False))
    return modules


def importedModules(module, isPackage, source, known):
    """
    The modules a module imports, each resolved to its full dotted name.

    @param module: the dotted name of the importing module.
    @param isPackage: whether it is a package (its C{__init__}), which
        relative imports are resolved against.
    @param source: its source text.
    @param known: the dotted names of the existing modules: in
        C{from package import name}, C{name} is a module when
        C{package.name} is one, else an attribute of C{package}.
    @return: a list of C{(line, dotted name)}.
    """
    package = module if isPackage else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise ValueError("%s line %d: relative import beyond"
                                     " the top package" % (module,
                                                           node.lineno))
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                if node.module:
                    base += "." + node.module
            else:
                base = node.module
            for alias in node.names:
                target = base + "." + alias.name
                found.append((node.lineno,
                              target if target in known else base))
    return found


def upwardImports(module, isPackage, source, known):
    """
    The imports of a module that point to a layer above its own.

    @return: a list of strings naming each, and C{unknown} for a module
        of vcd in no layer.
    """
    mine = layerOf(module)
    upward = []
    for line, imported in importedModules(module, isPackage, source, known):
        theirs = layerOf(imported)
        if theirs is None:
            continue
        if "unknown" in theirs + mine:
            upward.append("%s line %d imports %s: unknown layer (%s, %s)"
                          % (module, line, imported, mine, theirs))
        elif ORDER.index(theirs) < ORDER.index(mine):
            upward.append("%s (%s) line %d imports %s (%s)" % (
                module, mine, line, imported, theirs))
    return upward


class CheckerTests(unittest.TestCase):
    """
    The checker against made-up sources whose upward imports are known.
    """

    known = frozenset([
        "vcd", "vcd.faults", "vcd.kernel", "vcd.kernel.lxc",
        "vcd.kernel.worker", "vcd.kernel.worker.fork", "vcd.vps",
        "vcd.vps.lifecycle", "vcd.api", "vcd.api.method", "vcd.vxdb",
        "vcd.vxdb.settings", "vcd.methods", "vcd.methods.vx", "vcd.tap"])

    def assertCaught(self, module, source, imported, isPackage=False):
        found = upwardImports(module, isPackage, source, self.known)
        self.assertEqual(len(found), 1, found)
        self.assertIn(" imports %s " % (imported,), found[0])

    def test_eachUpwardForm(self):
        """
        Each form of import naming a module of a higher layer is caught,
        resolved to that module, at module level and inside functions.
        """
        cases = [
            ("vcd.kernel.lxc", "import vcd.vps.lifecycle\n",
             "vcd.vps.lifecycle"),
            ("vcd.kernel.lxc", "import vcd.api.method as m\n",
             "vcd.api.method"),
            ("vcd.kernel.lxc", "from vcd import vps\n", "vcd.vps"),
            ("vcd.kernel.lxc", "from vcd import faults, api\n", "vcd.api"),
            ("vcd.vxdb.settings", "from vcd.vps import lifecycle\n",
             "vcd.vps.lifecycle"),
            ("vcd.vxdb.settings", "from vcd.api.method import Method\n",
             "vcd.api.method"),
            ("vcd.vxdb.settings", "from .. import kernel, api\n", "vcd.api"),
            ("vcd.vxdb.settings", "from ..vps import lifecycle\n",
             "vcd.vps.lifecycle"),
            ("vcd.vxdb.settings", "from ..api.method import Method\n",
             "vcd.api.method"),
            ("vcd.vxdb.settings", "from ..methods import vx\n",
             "vcd.methods.vx"),
            ("vcd.kernel.worker.fork", "from ...vps import lifecycle\n",
             "vcd.vps.lifecycle"),
            ("vcd.kernel.worker.fork", "from ... import tap\n", "vcd.tap"),
            ("vcd.vps.lifecycle",
             "def f():\n    if True:\n        from ..methods import vx\n",
             "vcd.methods.vx"),
            ("vcd.api.method",
             "class C:\n    def m(self):\n        import vcd.vps\n",
             "vcd.vps"),
            ("vcd.api.method",
             "try:\n    pass\nexcept ImportError:\n"
             "    from vcd.vps.lifecycle import start\n",
             "vcd.vps.lifecycle"),
        ]
        for module, source, imported in cases:
            self.assertCaught(module, source, imported)

    def test_packageRelative(self):
        """
        In a package's C{__init__}, C{.} is the package itself.
        """
        self.assertCaught("vcd.vxdb", "from ..vps import lifecycle\n",
                          "vcd.vps.lifecycle", isPackage=True)
        self.assertCaught("vcd.kernel.worker",
                          "from ...api import method\n", "vcd.api.method",
                          isPackage=True)
        self.assertEqual(upwardImports("vcd.vxdb", True,
                                       "from . import settings\n",
                                       self.known), [])

    def test_attributeOfPackage(self):
        """
        C{from vcd import name} where C{vcd.name} is no module imports
        from C{vcd} itself (a leaf), which is allowed.
        """
        self.assertEqual(
            importedModules("vcd.kernel.lxc", False,
                            "from vcd import __version__\n", self.known),
            [(1, "vcd")])
        self.assertEqual(upwardImports(
            "vcd.kernel.lxc", False, "from vcd import __version__\n",
            self.known), [])

    def test_downwardAndOutside(self):
        """
        Imports of the same layer, of lower layers and of other packages
        pass.
        """
        source = ("import os\nfrom twisted.internet import defer\n"
                  "from vcd import faults, kernel\nfrom . import method\n"
                  "from ..vxdb import settings\nimport vcd.kernel.lxc\n"
                  "from .method import Method\n")
        self.assertEqual(upwardImports("vcd.api.dispatch", False, source,
                                       self.known), [])

    def test_unknownLayer(self):
        """
        A module of vcd in no layer is reported, importing or imported.
        """
        self.assertEqual(len(upwardImports(
            "vcd.kernel.lxc", False, "from vcd import newthing\n",
            self.known | {"vcd.newthing"})), 1)
        self.assertEqual(len(upwardImports(
            "vcd.newthing", False, "from vcd import faults\n",
            self.known)), 1)


class LayerTests(unittest.TestCase):

    def test_noUpwardImport(self):
        """
        No module of vcd imports one of a higher layer.
        """
        modules = vcdModules(os.path.dirname(vcd.__file__))
        upward = []
        resolved = set()
        for module, (path, isPackage) in sorted(modules.items()):
            if path is None:
                continue
            with open(path) as f:
                source = f.read()
            upward.extend(upwardImports(module, isPackage, source, modules))
            resolved.update(
                (module, imported) for _, imported in
                importedModules(module, isPackage, source, modules))
        self.assertEqual(upward, [])
        # docs/architecture.md: vcd/vxdb/ imports neither vcd.api, vcd.vps
        # nor vcd.kernel (the kernel layer is below it, but apart).
        self.assertEqual(sorted(
            edge for edge in resolved if layerOf(edge[0]) == "database"
            and layerOf(edge[1]) == "kernel"), [])
        # The walk saw the tree: forms the checker resolves, as the
        # modules below hold them today.
        for edge in [("vcd.methods.vxdb", "vcd.vps.diskstart"),
                     ("vcd.methods.vxdb", "vcd.vxdb.registry"),
                     ("vcd.methods.context", "vcd.kernel.knobmap"),
                     ("vcd.methods.vxdb", "vcd.api.arguments")]:
            self.assertIn(edge, resolved)
        self.assertGreater(len(modules), 100)
