# -*- test-case-name: tests.test_xmlrpcparse -*-
"""
Parsing XML-RPC requests with ElementTree's C parser.

C{xmlrpc.client.loads} runs Python code for every element of a request; on
vcd's small calls that was a fifth of the daemon's time. This parser builds
the tree in C and walks it once, giving the same values as
C{xmlrpc.client.loads(body, use_builtin_types=False)}. A request with a
document type declaration is refused: XML-RPC has no use for one, and
refusing it shuts out entity-expansion attacks whatever expat does.

A body in another encoding than UTF-8 (one its XML declaration names, or
UTF-16 or UTF-32 as its byte order mark or its first characters show) is
decoded with Python's codecs and parsed as UTF-8; an encoding Python does
not know, or a body that is not valid in its encoding, is refused with a
message naming the encoding.
"""

import codecs
import re
import xml.etree.ElementTree as ElementTree
import xmlrpc.client


class MalformedRequest(ValueError):
    """
    The body is not a well-formed XML-RPC method call; the message says
    why.
    """


def _text(element):
    return element.text or ""


def _integer(element):
    try:
        return int(_text(element).strip())
    except ValueError:
        raise MalformedRequest("bad <%s> %r" % (element.tag,
                                                _text(element)[:40]))


def _boolean(element):
    text = _text(element).strip()
    if text not in ("0", "1"):
        raise MalformedRequest("bad boolean value %r" % (text[:40],))
    return text == "1"


def _double(element):
    try:
        return float(_text(element).strip())
    except ValueError:
        raise MalformedRequest("bad double %r" % (_text(element)[:40],))


def _base64(element):
    binary = xmlrpc.client.Binary()
    try:
        binary.decode(_text(element).encode("ascii"))
    except (ValueError, UnicodeError):
        raise MalformedRequest("bad base64 value")
    return binary


def _dateTime(element):
    return xmlrpc.client.DateTime(_text(element).strip())


def _struct(element):
    struct = {}
    for member in element:
        if member.tag != "member":
            raise MalformedRequest("<struct> holds <%s>" % (member.tag,))
        name = member.find("name")
        value = member.find("value")
        if name is None or value is None:
            raise MalformedRequest("a <member> needs <name> and <value>")
        struct[_text(name)] = _value(value)
    return struct


def _array(element):
    data = element.find("data")
    if data is None or len(element) != 1:
        raise MalformedRequest("an <array> holds one <data>")
    return [_value(value) for value in data]


_TYPES = {
    "string": _text, "int": _integer, "i4": _integer, "i8": _integer,
    "boolean": _boolean, "double": _double, "base64": _base64,
    "dateTime.iso8601": _dateTime, "struct": _struct, "array": _array,
    "nil": lambda element: None,
}


def _value(element):
    if element.tag != "value":
        raise MalformedRequest("expected <value>, got <%s>" % (element.tag,))
    if len(element) == 0:
        return _text(element)
    if len(element) != 1:
        raise MalformedRequest("a <value> holds one type")
    typed = element[0]
    parse = _TYPES.get(typed.tag)
    if parse is None:
        raise MalformedRequest("unknown type <%s>" % (typed.tag[:40],))
    return parse(typed)


#: The encoding named in an XML declaration at the start of a body in an
#: encoding where ASCII characters are single bytes.
_DECLARED_ENCODING = re.compile(
    rb"<\?xml\s[^>]{0,200}?\bencoding\s*=\s*([\"'])([^\"'>]{0,64})\1")

#: The XML declaration of a decoded body.
_DECLARATION = re.compile(r"\A<\?xml\s[^>]*\?>")

#: Encodings expat reads itself (the names folded to lower case).
_NATIVE = frozenset(["utf-8", "utf8", "us-ascii", "ascii"])

#: The encoding a body's first bytes show, by byte order mark or by its
#: first character C{<} (as XML 1.0's appendix F), longest marks first.
_SIGNATURES = (
    (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
    (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"),
)


def _decodeAs(body, encoding, what):
    """
    Decode C{body} with codec C{encoding} (C{what} names it in messages).
    """
    try:
        return body.decode(encoding)
    except LookupError:
        raise MalformedRequest("unknown text encoding %r" % (what,))
    except UnicodeDecodeError as e:
        raise MalformedRequest("the body is not valid %s (at byte %d)"
                               % (what, e.start))


def _codecName(encoding):
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise MalformedRequest("unknown text encoding %r" % (encoding,))


def toUTF8(body):
    """
    Return C{body} as UTF-8 with no encoding in its XML declaration: as it
    is if it is UTF-8 already, else decoded from the encoding its byte
    order mark, its first characters or its declaration show.

    @raise MalformedRequest: naming the encoding, if it is unknown, not a
        text encoding, or the body is not valid in it.
    """
    head = body[:2]
    if head == b"<?":
        declared = _DECLARED_ENCODING.match(body)
        if declared is None or declared.group(2).lower() in _NATIVE:
            return body
        name = declared.group(2).decode("ascii", "replace")
        text = _decodeAs(body, name, name)
    elif head[:1] == b"<" and head != b"<\x00":
        return body
    else:
        for signature, encoding in _SIGNATURES:
            if body.startswith(signature):
                break
        else:
            return body
        text = _decodeAs(body, encoding, encoding.upper())
        declaration = _DECLARATION.match(text.lstrip("\ufeff"))
        named = declaration and re.search(
            r"\bencoding\s*=\s*[\"']([^\"']*)", declaration.group())
        if named and not _codecName(named.group(1)).startswith(
                encoding[:6]):
            raise MalformedRequest(
                "the body declares encoding %r but is %s"
                % (named.group(1)[:64], encoding.upper()))
    text = text.lstrip("\ufeff")
    return _DECLARATION.sub('<?xml version="1.0"?>', text, 1).encode(
        "utf-8")


def parseRequest(body):
    """
    Parse an XML-RPC method call.

    @param body: the request body (bytes).
    @return: C{(params, methodName)}, as C{xmlrpc.client.loads}.
    @raise MalformedRequest: for anything else.
    """
    body = toUTF8(body)
    # A NUL is no XML character; this also refuses bodies in an encoding
    # with NULs that toUTF8 did not recognise.
    if b"\x00" in body:
        raise MalformedRequest("the request contains a NUL byte: send UTF-8"
                               " or name the encoding in the XML"
                               " declaration")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise MalformedRequest("document type declarations are not allowed")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as e:
        raise MalformedRequest(str(e))
    except (ValueError, LookupError) as e:
        # An encoding expat cannot read that toUTF8 did not see.
        raise MalformedRequest("cannot read the encoding: %s" % (e,))
    if root.tag != "methodCall":
        raise MalformedRequest("expected <methodCall>, got <%s>"
                               % (root.tag[:40],))
    name = root.find("methodName")
    if name is None:
        raise MalformedRequest("no <methodName>")
    params = root.find("params")
    values = []
    try:
        for param in (params if params is not None else ()):
            if param.tag != "param" or len(param) != 1:
                raise MalformedRequest("<params> holds one <value> per"
                                       " <param>")
            values.append(_value(param[0]))
    except RecursionError:
        raise MalformedRequest("values nested too deeply")
    return tuple(values), _text(name).strip()
