# -*- test-case-name: tests.test_kernel_lxc -*-
"""
The compiled liblxc binding (L{vcd.kernel._lxc}) and container objects
from it, for the daemon's kernel layer and its worker process alike.
"""

try:
    from vcd.kernel._lxc import ffi, lib
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "vcd.kernel._lxc, the compiled liblxc binding, is missing (%s): "
        "install the liblxc headers (Debian package lxc-dev) and reinstall "
        "the vcd package (or run 'python setup.py build_ext --inplace' in a"
        " source tree)" % (e,)) from e

__all__ = ["ffi", "lib", "openContainer"]


def _encode(text):
    if "\0" in text:
        raise ValueError("NUL in %r" % (text,))
    return text.encode("utf-8", "surrogateescape")


def openContainer(lxcpath, name):
    """
    A new container object for C{name} under C{lxcpath}; the caller must
    hand it to C{lib.lxc_container_put}.
    """
    c = lib.lxc_container_new(_encode(name), _encode(lxcpath))
    if c == ffi.NULL:
        raise OSError("liblxc could not allocate container %r in %r"
                      % (name, lxcpath))
    return c
