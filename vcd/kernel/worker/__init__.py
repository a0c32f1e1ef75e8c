"""
The kernel worker: a single-threaded process (C{python -m vcd.kernel.worker},
L{vcd.kernel.worker.__main__}) that does the liblxc operations that fork
(start, attach), which must never run inside the threaded daemon. The
daemon talks to it through L{vcd.kernel.worker.client} in AMP, with the
commands and typed errors of L{vcd.kernel.worker.protocol}.
"""
