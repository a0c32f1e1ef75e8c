# -*- test-case-name: tests.test_plugins,tests.test_kernel_interface -*-
"""
The public interfaces of vcd, in one place for third parties.

A third party extends the daemon by providing L{IMethodNamespace} from a
module dropped into the L{vcd.methods} plugin package; the kernel layer
(L{vcd.kernel}) provides L{IVPSKernel}. Each is defined in its layer
(L{vcd.api.interfaces}, L{vcd.kernel.interfaces}).
"""

from vcd.api.interfaces import IMethodNamespace
from vcd.kernel.interfaces import IVPSKernel

__all__ = ["IMethodNamespace", "IVPSKernel"]
