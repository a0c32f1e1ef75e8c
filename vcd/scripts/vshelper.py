# -*- test-case-name: tests.test_helper,tests.test_clientcli -*-
"""
vshelper [--socket PATH] [--secret FILE] <action> <xid> [...]

The kernel helper (manual 3.5.4); see L{SUMMARY}, which C{--help} shows.
"""

import argparse
import http.client
import os
import socket
import sys
import xmlrpc.client

from vcd.config import DEFAULT_DATADIR
from vcd.scripts._clienterrors import UsageError
from vcd.scripts._manpage import parserPage
from vcd.scripts._parser import Finished, Parser, helpOption, manOption

SUMMARY = """\
vshelper: the kernel helper of the VServer Control Daemon.

The LXC hooks of every VPS call it with an action and the VPS's context
id; it calls the daemon's helper methods as the user vshelper over the
daemon's private Unix socket, with the secret the daemon wrote (mode 0600)
into its data directory. Administrators do not run it by hand.

Actions: startup, netup, restart (alias reboot), shutdown; halt, poweroff
and netdown record nothing. In the post-stop hook (shutdown), LXC says in
LXC_TARGET whether the VPS halted or rebooted: on a reboot, vshelper
records it with helper.restart, lets helper.shutdown start the VPS again
with the current configuration, and exits 1 so that liblxc does not
reboot the VPS itself with a stale one. Extra arguments LXC appends are
ignored.

Exit status: 0 done; 1 the daemon could not be reached or refused, or a
reboot's post-stop hook (see above); 2 usage.
"""

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


def parser():
    """
    The command line of vshelper.
    """
    parser = Parser(prog="vshelper", description=SUMMARY, add_help=False,
                    usage="%(prog)s [--datadir DIR] [--socket PATH]"
                    " [--secret FILE] <action> <xid>",
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    helpOption(parser)
    manOption(parser, lambda p: parserPage(p, "vshelper", 8, SUMMARY))
    parser.add_argument("--datadir", default=DEFAULT_DATADIR, metavar="DIR",
                        help="the daemon's data directory (default %s)"
                        % (DEFAULT_DATADIR,))
    parser.add_argument("--socket", metavar="PATH",
                        help="default <datadir>/vcd.sock")
    parser.add_argument("--secret", metavar="FILE",
                        help="default <datadir>/vshelper.secret")
    parser.add_argument("action", choices=ACTIONS, metavar="<action>",
                        help="what happened: %s" % (", ".join(ACTIONS),))
    parser.add_argument("xid", type=int, metavar="<xid>",
                        help="the VPS's context id")
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    return parser


def parse(argv, stdout=None, stderr=None):
    """
    The parsed command line, or the exit status of a line that asks for
    help (0) or is wrong (2), once that is printed.
    """
    try:
        return parser().parse_args(argv)
    except Finished as f:
        (stdout or sys.stdout).write(f.text)
        return 0
    except UsageError as e:
        (stderr or sys.stderr).write("%svshelper: %s\n" % (
            parser().format_usage(), e))
        return 2


def main(argv=None, environ=None, stderr=None, stdout=None):
    """
    Run vshelper; return the exit status.
    """
    stderr = stderr or sys.stderr
    args = parse(sys.argv[1:] if argv is None else argv, stdout, stderr)
    if isinstance(args, int):
        return args
    environ = os.environ if environ is None else environ
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
