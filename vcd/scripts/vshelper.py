# -*- test-case-name: tests.test_helper -*-
"""
vshelper [--socket PATH] [--secret FILE] <action> <xid> [...]

The kernel helper (manual 3.5.4), called from the LXC hooks of every VPS
with an action and the VPS's context id; it calls the daemon's helper.*
methods as the user C{vshelper} over the daemon's private Unix socket, with
the secret the daemon wrote (mode 0600) into its data directory.

Actions: startup, netup, restart (alias reboot), shutdown; halt, poweroff
and netdown record nothing. In the post-stop hook (C{shutdown}), LXC says in
C{LXC_TARGET} whether the VPS halted or rebooted: on a reboot, vshelper
records it with helper.restart, lets helper.shutdown start the VPS again
with the current configuration, and exits 1 so that liblxc does not reboot
the VPS itself with a stale one. Extra arguments LXC appends are ignored.
"""

import argparse
import http.client
import os
import socket
import sys
import xmlrpc.client

from vcd.config import DEFAULT_DATADIR

ACTIONS = ("startup", "netup", "netdown", "restart", "reboot", "halt",
           "poweroff", "shutdown")


class UnixHTTPConnection(http.client.HTTPConnection):
    """
    HTTP over a Unix socket.
    """

    def __init__(self, path, timeout=30):
        http.client.HTTPConnection.__init__(self, "localhost",
                                            timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    """
    An XML-RPC transport to a Unix socket.
    """

    def __init__(self, path):
        xmlrpc.client.Transport.__init__(self)
        self.path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.path)


def call(socketPath, secret, method, xid):
    """
    Call C{helper.<method>} for context C{xid} as user vshelper.
    """
    proxy = xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                      transport=UnixTransport(socketPath),
                                      allow_none=True)
    return getattr(proxy, "helper." + method)(
        {"username": "vshelper", "password": secret}, {"xid": xid})


def parse(argv):
    parser = argparse.ArgumentParser(prog="vshelper", description=__doc__,
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    parser.add_argument("--datadir", default=DEFAULT_DATADIR)
    parser.add_argument("--socket", help="default <datadir>/vcd.sock")
    parser.add_argument("--secret", help="default <datadir>/vshelper.secret")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("xid", type=int)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None, environ=None, stderr=None):
    """
    Run vshelper; return the exit status.
    """
    args = parse(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    stderr = stderr or sys.stderr
    socketPath = args.socket or os.path.join(args.datadir, "vcd.sock")
    secretPath = args.secret or os.path.join(args.datadir, "vshelper.secret")
    reboot = (args.action in ("restart", "reboot") or
              (args.action == "shutdown"
               and environ.get("LXC_TARGET") == "reboot"))
    if args.action in ("halt", "poweroff", "netdown"):
        return 0
    try:
        with open(secretPath) as f:
            secret = f.read().strip()
        if reboot:
            call(socketPath, secret, "restart", args.xid)
        if args.action in ("startup", "netup", "shutdown"):
            call(socketPath, secret, args.action, args.xid)
    except (OSError, xmlrpc.client.Error) as e:
        stderr.write("vshelper: %s %d: %s\n" % (args.action, args.xid, e))
        return 1
    # Fail the post-stop hook of a reboot: the daemon starts the VPS again.
    return 1 if (reboot and args.action == "shutdown") else 0


if __name__ == "__main__":
    sys.exit(main())
