"""
Operations on VPSes: their lifecycle (start, stop, reboot, exec),
provisioning from templates, templates and root filesystems.
"""
