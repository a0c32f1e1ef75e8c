# -*- test-case-name: tests.test_vpsnetwork -*-
"""
The host-side veth of a VPS that a previous vcd started: at start-up, the
daemon gives it the settings that L{vcd.kernel.vethrouting.UP_SCRIPT}
gives every new one and that refuse routes from the VPS (an older up
script left C{accept_ra} and C{accept_redirects} at the kernel's
defaults, so the VPS's root could send router advertisements that put
routes to it on the host, taking another VPS's IPv6 traffic or the
host's default route), and removes any route such an advertisement put
there. Blocking; at start-up only.
"""

import os
import re
import subprocess

from vcd.kernel.containerqueries import hostVeth
from vcd.kernel.vethrouting import IP

__all__ = ["hardenHostVeth", "hardenRunning"]

#: The settings refused routes need: (path under /proc/sys/net, value).
REFUSE_ROUTES = (("ipv4/conf/%s/accept_redirects", "0"),
                 ("ipv6/conf/%s/accept_ra", "0"),
                 ("ipv6/conf/%s/accept_redirects", "0"))

_DEVICE = re.compile(r"\A[A-Za-z0-9_.:-]{1,15}\Z")


def hardenHostVeth(device, sysNet="/proc/sys/net"):
    """
    Give host-side veth C{device} the settings of L{REFUSE_ROUTES} and
    remove the routes router advertisements put on it.

    @return: what changed, as short phrases (empty if nothing did).
    @raise ValueError: for a name no network device can have.
    """
    if not _DEVICE.match(device) or device in (".", ".."):
        raise ValueError("not a network device name: %r" % (device,))
    changed = []
    for pattern, value in REFUSE_ROUTES:
        path = os.path.join(sysNet, pattern % (device,))
        try:
            with open(path) as f:
                if f.read().strip() == value:
                    continue
            with open(path, "w") as f:
                f.write(value)
        except FileNotFoundError:
            continue  # no IPv6 here
        changed.append("%s=%s" % (pattern.replace("/", ".") % (device,),
                                  value))
    routes = subprocess.run(
        [IP, "-6", "route", "show", "dev", device, "proto", "ra"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if routes.returncode == 0 and routes.stdout.strip():
        subprocess.run([IP, "-6", "route", "flush", "dev", device, "proto",
                        "ra"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        changed.append("removed routes from router advertisements: %s"
                       % ("; ".join(routes.stdout.strip().splitlines()),))
    return changed


def hardenRunning(lxcpath, sysNet="/proc/sys/net"):
    """
    L{hardenHostVeth} for the veth of every running VPS under C{lxcpath}.

    @return: log lines, one per VPS whose veth changed or failed.
    """
    lines = []
    try:
        names = sorted(os.listdir(lxcpath))
    except FileNotFoundError:
        return lines
    for name in names:
        if not os.path.isfile(os.path.join(lxcpath, name, "config")):
            continue
        try:
            device = hostVeth(lxcpath, name)
            if device is None:
                continue
            changed = hardenHostVeth(device, sysNet)
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            lines.append("%s: its host-side veth could not be made to refuse"
                         " routes from it: %s" % (name, e))
            continue
        if changed:
            lines.append("%s (started by an older vcd): host-side veth %s"
                         " now refuses routes from it: %s"
                         % (name, device, ", ".join(changed)))
    return lines
