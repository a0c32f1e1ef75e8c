"""
The folders of vcd/ are layers and imports point only downwards (see
docs/architecture.md): every import in every module, including those
inside functions, read with the ast module.
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


def imports(path):
    """
    The absolute module names C{path} imports.
    """
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


class LayerTests(unittest.TestCase):

    def test_noUpwardImport(self):
        top = os.path.dirname(vcd.__file__)
        upward = []
        for directory, _, files in os.walk(top):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                module = "vcd." + os.path.relpath(path, top)[:-3].replace(
                    os.sep, ".")
                mine = layerOf(module.replace(".__init__", ""))
                for imported in imports(path):
                    theirs = layerOf(imported)
                    if theirs is None or theirs == mine:
                        continue
                    self.assertNotIn("unknown", theirs + mine, module)
                    if ORDER.index(theirs) < ORDER.index(mine):
                        upward.append("%s (%s) imports %s (%s)" % (
                            module, mine, imported, theirs))
        self.assertEqual(upward, [])
