"""
vcd: the VServer Control Daemon, managing VPSes (LXC system containers)
over XML-RPC.
"""

__version__ = "0.1.0"
