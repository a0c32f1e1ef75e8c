# -*- test-case-name: tests.test_workerprotocol -*-
"""
AMP boxes for the kernel worker, without Twisted: the framing (each key and
value prefixed by its 2-byte big-endian length, a box ended by an empty
key), the value encodings of the type tags of L{vcd.kernel.worker.protocol}
(exactly as C{twisted.protocols.amp} encodes its arguments of the same
names), and the answer and error boxes a command gets.
"""

import struct

from vcd.kernel.errors import KernelError
from vcd.kernel.worker.protocol import (
    MAX_VALUE_LENGTH, Boolean, Chunked, Float, Integer, ListOf, String,
    Unicode)

COMMAND = b"_command"
ASK = b"_ask"
ANSWER = b"_answer"
ERROR = b"_error"
ERROR_CODE = b"_error_code"
ERROR_DESCRIPTION = b"_error_description"
#: What AMP answers a command it has no responder for.
UNHANDLED_ERROR_CODE = b"UNHANDLED"
MAX_KEY_LENGTH = 0xFF

#: The longest error message sent, in characters: even at four UTF-8 bytes
#: each it fits an AMP value (65535 bytes); a longer one would make the
#: daemon's AMP drop the connection, and with it every command in flight.
MAX_ERROR_TEXT = 16000

_LENGTH = struct.Struct("!H")


class MalformedBox(Exception):
    """
    The bytes received are not AMP boxes (or a value is too long).
    """


def encodeValue(tag, value):
    """
    @param tag: a type tag of L{vcd.kernel.worker.protocol} (not L{Chunked}).
    @return: the wire form of C{value}.
    """
    kind = type(tag)
    if kind is Unicode:
        return value.encode("utf-8")
    if kind is String:
        return value
    if kind is Integer:
        return b"%d" % (value,)
    if kind is Float:
        if not isinstance(value, float):
            raise ValueError("bad float value %r" % (value,))
        return str(value).encode("ascii")
    if kind is Boolean:
        return b"True" if value else b"False"
    if kind is ListOf:
        parts = []
        for element in value:
            data = encodeValue(tag.element, element)
            parts.append(_LENGTH.pack(len(data)))
            parts.append(data)
        return b"".join(parts)
    raise TypeError("no wire form for %r" % (tag,))


def decodeValue(tag, data):
    """
    @return: the value of wire form C{data} for type tag C{tag}.
    """
    kind = type(tag)
    if kind is Unicode:
        return data.decode("utf-8")
    if kind is String:
        return data
    if kind is Integer:
        return int(data)
    if kind is Float:
        return float(data)
    if kind is Boolean:
        if data == b"True":
            return True
        if data == b"False":
            return False
        raise MalformedBox("bad boolean value %r" % (data,))
    if kind is ListOf:
        values = []
        offset = 0
        while offset < len(data):
            if offset + 2 > len(data):
                raise MalformedBox("truncated list")
            (length,) = _LENGTH.unpack_from(data, offset)
            offset += 2
            if offset + length > len(data):
                raise MalformedBox("truncated list")
            values.append(decodeValue(tag.element,
                                      data[offset:offset + length]))
            offset += length
        return values
    raise TypeError("no wire form for %r" % (tag,))


def toBox(arguments, objects):
    """
    @param arguments: C{(name, tag)} pairs (names as bytes).
    @param objects: a dict from each name (as text) to its value.
    @return: the box (a dict of bytes to bytes).
    """
    box = {}
    for name, tag in arguments:
        value = objects[name.decode("ascii")]
        if type(tag) is Chunked:
            data = encodeValue(tag.inner, value)
            step = tag.pieceLength
            pieces = [data[i:i + step] for i in range(0, len(data), step)]
            box[name] = b"%d" % (len(pieces),)
            for i, piece in enumerate(pieces):
                box[b"%s.%d" % (name, i)] = piece
        else:
            box[name] = encodeValue(tag, value)
    return box


def fromBox(arguments, box):
    """
    The inverse of L{toBox}; keys not in C{arguments} are ignored.

    @raise MalformedBox: if one is missing or does not decode.
    """
    objects = {}
    try:
        for name, tag in arguments:
            if type(tag) is Chunked:
                count = int(box[name])
                data = b"".join(box[b"%s.%d" % (name, i)]
                                for i in range(count))
                value = decodeValue(tag.inner, data)
            else:
                value = decodeValue(tag, box[name])
            objects[name.decode("ascii")] = value
    except (KeyError, ValueError) as e:
        raise MalformedBox("%s: %s" % (e.__class__.__name__, e))
    return objects


def serializeBox(box):
    """
    @return: the wire form of C{box}, ended by an empty key.
    @raise MalformedBox: if a key or a value is too long.
    """
    parts = []
    for key, value in box.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise MalformedBox("bad key %r" % (key[:40],))
        if len(value) > MAX_VALUE_LENGTH:
            raise MalformedBox("value of %r too long" % (key,))
        parts.extend((_LENGTH.pack(len(key)), key,
                      _LENGTH.pack(len(value)), value))
    parts.append(b"\x00\x00")
    return b"".join(parts)


class BoxParser:
    """
    Splits a stream of bytes into AMP boxes.
    """

    def __init__(self):
        self._buffer = b""
        self._box = {}
        self._key = None

    def feed(self, data):
        """
        @return: the boxes completed by C{data}.
        @raise MalformedBox: at a key longer than AMP allows.
        """
        buffer = self._buffer + data
        offset = 0
        boxes = []
        while len(buffer) - offset >= 2:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            if self._key is None and length > MAX_KEY_LENGTH:
                raise MalformedBox("key of %d bytes" % (length,))
            if len(buffer) - offset - 2 < length:
                break
            string = buffer[offset + 2:offset + 2 + length]
            offset += 2 + length
            if self._key is not None:
                self._box[self._key] = string
                self._key = None
            elif string:
                self._key = string
            else:
                boxes.append(self._box)
                self._box = {}
        self._buffer = buffer[offset:]
        return boxes


def answerBox(ask, operation, response):
    """
    @return: the wire form of the answer C{response} (a dict) to the
        command asked as C{ask}.
    """
    box = toBox(operation.response, response)
    box[ANSWER] = ask
    return serializeBox(box)


def errorBox(ask, operation, error):
    """
    The wire form of the error C{error} (an exception) for the command
    asked as C{ask}: typed with the code of the first of the operation's
    error classes it is an instance of, or else as a L{KernelError} naming
    it; its message cut at L{MAX_ERROR_TEXT} characters.
    """
    for errorClass, code in operation.errors:
        if isinstance(error, errorClass):
            text = str(error)
            break
    else:
        code = dict(operation.errors)[KernelError]
        text = "%s: %s" % (error.__class__.__name__, error)
    return rawErrorBox(ask, code, text[:MAX_ERROR_TEXT])


def rawErrorBox(ask, code, text):
    """
    @return: the wire form of the error C{code} saying C{text} (at most
        L{MAX_ERROR_TEXT} characters) for the command asked as C{ask}.
    """
    return serializeBox({ERROR: ask, ERROR_CODE: code,
                         ERROR_DESCRIPTION: text.encode("utf-8", "replace")})
