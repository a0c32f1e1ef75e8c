"""
Unit tests for the method table built from namespace plugins.
"""

from twisted.plugin import IPlugin
from twisted.trial import unittest
from zope.interface import implementer

from vcd.api.dispatch import collectMethods
from vcd.interfaces import IMethodNamespace
from vcd.api.method import OWNER_NONE, Method


def _method(name):
    return Method(name, None, OWNER_NONE, [], "nil", "test",
                  transaction=lambda call, cursor, args: None)


@implementer(IPlugin, IMethodNamespace)
class _Namespace:
    description = "test"

    def __init__(self, name, methods):
        self.name = name
        self.methods = [_method(m) for m in methods]


class CollectMethodsTests(unittest.TestCase):
    """
    A bad namespace is left out whole and reported; the others load.
    """

    def test_goodNamespaces(self):
        table = collectMethods([_Namespace("a", ["a.x", "a.y"]),
                                _Namespace("b", ["b.x"])])
        self.assertEqual(sorted(table), ["a.x", "a.y", "b.x"])

    def test_duplicateLeftOutAndReported(self):
        problems = []
        table = collectMethods([_Namespace("a", ["a.x"]),
                                _Namespace("a", ["a.y", "a.x"])], problems)
        self.assertEqual(sorted(table), ["a.x"])
        self.assertEqual(len(problems), 1)
        self.assertIn("a.x is declared twice", problems[0])

    def test_outsideNamespaceLeftOut(self):
        problems = []
        table = collectMethods([_Namespace("a", ["a.x", "vx.start"]),
                                _Namespace("b", ["b.x"])], problems)
        self.assertEqual(sorted(table), ["b.x"])
        self.assertIn("vx.start is outside the namespace", problems[0])
