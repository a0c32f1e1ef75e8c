"""
Tests for the encodings of request bodies (L{vcd.api.xmlrpcparse.toUTF8}
and L{vcd.api.xmlrpcparse.parseRequest}): every encoding an XML declaration,
a byte order mark or the first bytes may name either decodes to the same
values Python's codecs give, or is refused with a message naming it; served
by L{vcd.api.resource.RPC2}, a refusal is a fault, never an HTTP 500.
"""

import xmlrpc.client

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from vcd.api.resource import Root, RPC2, SITES
from vcd.api.xmlrpcparse import MalformedRequest, parseRequest
from vcd.faults import MEINVAL

from tests.test_rpc2 import FakeDispatcher

#: A value with characters of several scripts, each test using those its
#: encoding can hold.
JAPANESE = "\u65e5\u672c\u8a9e <&> x"
CHINESE = "\u4e2d\u6587 <&> x"
LATIN = "caf\u00e9 <&> \u00fc"


def document(value, encoding=None, declaration=True):
    """
    An XML-RPC call of C{vx.test} with one string param C{value}, as text,
    with an XML declaration naming C{encoding} (none if None).
    """
    call = xmlrpc.client.dumps((value,), "vx.test").split("?>\n", 1)[1]
    if not declaration:
        return call
    if encoding is None:
        return '<?xml version="1.0"?>\n' + call
    return '<?xml version="1.0" encoding="%s"?>\n' % (encoding,) + call


class DecodedEncodingTests(unittest.TestCase):
    """
    Bodies in encodings Python knows give the values encoded in them.
    """

    def assertDecodes(self, body, value):
        self.assertEqual(parseRequest(body), ((value,), "vx.test"))

    def test_utf7(self):
        body = document(LATIN, "UTF-7").encode("utf-7")
        self.assertNotIn(b"\xc3", body)  # really UTF-7, not UTF-8
        self.assertDecodes(body, LATIN)

    def test_shiftJIS(self):
        self.assertDecodes(document(JAPANESE, "Shift_JIS").encode(
            "shift_jis"), JAPANESE)

    def test_big5(self):
        self.assertDecodes(document(CHINESE, "Big5").encode("big5"), CHINESE)

    def test_latin1(self):
        for name in ("latin-1", "ISO-8859-1", "latin1"):
            self.assertDecodes(document(LATIN, name).encode("latin-1"),
                               LATIN)

    def test_utf16WithByteOrderMark(self):
        for codec in ("utf-16-le", "utf-16-be"):
            bom = "\ufeff".encode(codec)
            self.assertDecodes(bom + document(JAPANESE, "UTF-16").encode(
                codec), JAPANESE)
            self.assertDecodes(bom + document(JAPANESE, declaration=False)
                               .encode(codec), JAPANESE)

    def test_utf16WithoutByteOrderMark(self):
        """
        UTF-16 without a byte order mark is recognised by its first
        character, as XML 1.0's appendix F does, with or without a
        declaration.
        """
        for codec in ("utf-16-le", "utf-16-be"):
            self.assertDecodes(document(JAPANESE, "UTF-16").encode(codec),
                               JAPANESE)
            self.assertDecodes(document(JAPANESE, declaration=False)
                               .encode(codec), JAPANESE)

    def test_utf32(self):
        self.assertDecodes(document(JAPANESE, "UTF-32").encode("utf-32"),
                           JAPANESE)

    def test_utf8Unchanged(self):
        self.assertDecodes(document(JAPANESE, "UTF-8").encode("utf-8"),
                           JAPANESE)
        self.assertDecodes(b"\xef\xbb\xbf" + document(JAPANESE).encode(
            "utf-8"), JAPANESE)

    def test_doctypeInAnotherEncoding(self):
        """
        A document type declaration is refused in whatever encoding it
        hides.
        """
        text = document("x", "UTF-7").replace(
            "<methodCall>", "<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall>")
        for body in (text.encode("utf-7"),
                     text.replace("UTF-7", "UTF-16").encode("utf-16-be")):
            with self.assertRaises(MalformedRequest) as caught:
                parseRequest(body)
            self.assertIn("document type", str(caught.exception))


class RefusedEncodingTests(unittest.TestCase):
    """
    What cannot be decoded is refused with a message naming the encoding.
    """

    def assertRefused(self, body, *words):
        with self.assertRaises(MalformedRequest) as caught:
            parseRequest(body)
        for word in words:
            self.assertIn(word, str(caught.exception))

    def test_unknownEncoding(self):
        self.assertRefused(document("x", "x-no-such-charset").encode(),
                           "unknown", "x-no-such-charset")

    def test_notATextEncoding(self):
        for name in ("hex", "rot13", "base64"):
            self.assertRefused(document("x", name).encode(), name)

    def test_invalidBytes(self):
        body = document("x", "Shift_JIS").encode().replace(b">x<", b">\x82<")
        self.assertRefused(body, "Shift_JIS")

    def test_byteOrderMarkAgainstDeclaration(self):
        body = document("x", "Shift_JIS").encode("utf-16")
        self.assertRefused(body, "Shift_JIS", "UTF-16")


class ServedEncodingTests(unittest.TestCase):
    """
    Through L{RPC2} on each HTTP server, an odd encoding is answered with
    a fault (or decoded), never an HTTP 500.
    """

    def post(self, siteFactory, body):
        """
        POST C{body} to C{/RPC2} and return the status line and the body.
        """
        dispatcher = FakeDispatcher("ok")
        site = siteFactory(Root(RPC2(dispatcher)), 1 << 16, Clock())
        channel = site.buildProtocol(None)
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(
            b"POST /RPC2 HTTP/1.1\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        head, _, answer = transport.value().partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0], answer, dispatcher

    def test_eachEncoding(self):
        cases = [
            (document(LATIN, "UTF-7").encode("utf-7"), LATIN),
            (document(JAPANESE, "Shift_JIS").encode("shift_jis"), JAPANESE),
            (document(CHINESE, "Big5").encode("big5"), CHINESE),
            (document(LATIN, "latin-1").encode("latin-1"), LATIN),
            (document(JAPANESE, "UTF-16").encode("utf-16"), JAPANESE),
            (document(JAPANESE, "UTF-16").encode("utf-16-le"), JAPANESE),
            (document("x", "x-no-such-charset").encode(), None),
            (document("x", "Shift_JIS").encode().replace(b">x<", b">\x82<"),
             None),
        ]
        for name, siteFactory in sorted(SITES.items()):
            for body, value in cases:
                status, answer, dispatcher = self.post(siteFactory, body)
                self.assertEqual(status, b"HTTP/1.1 200 OK", (name, body))
                if value is None:
                    with self.assertRaises(xmlrpc.client.Fault) as caught:
                        xmlrpc.client.loads(answer)
                    self.assertEqual(caught.exception.faultCode, MEINVAL)
                    self.assertEqual(dispatcher.calls, [])
                else:
                    self.assertEqual(xmlrpc.client.loads(answer)[0], ("ok",))
                    self.assertEqual(dispatcher.calls[0][:2],
                                     ("vx.test", (value,)))
