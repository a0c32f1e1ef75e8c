"""
Tests for L{vcd.api.xmlrpcparse}: the same values as C{xmlrpc.client.loads},
and refusals for what is not an XML-RPC call.
"""

import random
import xmlrpc.client

from twisted.trial import unittest

from vcd.api.xmlrpcparse import MalformedRequest, parseRequest


def _randomValue(rng, depth=0):
    kinds = ["str", "int", "bool", "float", "none", "bytes"]
    if depth < 3:
        kinds += ["list", "dict"]
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice("ab <&>\"'\u00e9\u4e2d \t") for _ in
                       range(rng.randrange(8)))
    if kind == "int":
        return rng.randrange(-2 ** 31, 2 ** 31)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "none":
        return None
    if kind == "bytes":
        return xmlrpc.client.Binary(bytes(rng.randrange(256) for _ in
                                          range(rng.randrange(6))))
    if kind == "list":
        return [_randomValue(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {"k%d" % i: _randomValue(rng, depth + 1)
            for i in range(rng.randrange(4))}


class ParseRequestTests(unittest.TestCase):

    def test_sameAsStandardLibrary(self):
        rng = random.Random(1234)
        for _ in range(300):
            params = tuple(_randomValue(rng) for _ in range(rng.randrange(4)))
            body = xmlrpc.client.dumps(params, "vx.test",
                                       allow_none=True).encode()
            self.assertEqual(parseRequest(body),
                             xmlrpc.client.loads(body,
                                                 use_builtin_types=False))

    def test_untypedValueIsString(self):
        body = (b"<methodCall><methodName>a.b</methodName><params><param>"
                b"<value>plain</value></param></params></methodCall>")
        self.assertEqual(parseRequest(body), (("plain",), "a.b"))

    def test_refusals(self):
        for body in (
                b"<methodCall><methodName>a",
                b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>"
                b"<methodCall><methodName>&a;</methodName></methodCall>",
                b"<methodResponse/>",
                ("<?xml version='1.0' encoding='utf-16'?><!DOCTYPE x [<!ENTITY"
                 " a 'b'>]><methodCall><methodName>&a;</methodName>"
                 "</methodCall>").encode("utf-16"),
                ("<?xml version='1.0' encoding='utf-16'?><!DOCTYPE x [<!ENTITY"
                 " a 'b'>]><methodCall><methodName>&a;</methodName>"
                 "</methodCall>").encode("utf-16-le"),
                b"<methodCall></methodCall>",
                b"<methodCall><methodName>a</methodName><params><param>"
                b"<value><int>x</int></value></param></params></methodCall>",
                b"<methodCall><methodName>a</methodName><params><param>"
                b"<value><blob/></value></param></params></methodCall>",
                b"<methodCall><methodName>a</methodName><params><param>"
                b"<value><boolean>2</boolean></value></param></params>"
                b"</methodCall>",
                b"<methodCall><methodName>a</methodName><params><param>"
                + b"<value><array><data>" * 5000
                + b"</data></array></value>" * 5000
                + b"</param></params></methodCall>"):
            self.assertRaises(MalformedRequest, parseRequest, body)
