# -*- test-case-name: tests.test_workerprotocol,tests.test_kernel_interface -*-
"""
The errors of the kernel layer (L{vcd.interfaces.IVPSKernel}): raised in the
daemon, and carried typed from the kernel worker over its protocol
(L{vcd.kernel.worker.protocol}).
"""


class KernelError(Exception):
    """
    A kernel operation failed; the message says why (for the fault).
    """


class AlreadyRunning(KernelError):
    """
    A start found the VPS running.
    """


class RootMissing(KernelError):
    """
    A start found a directory of the VPS's root missing (the message).
    """
