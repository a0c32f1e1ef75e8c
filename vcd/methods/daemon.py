# -*- test-case-name: tests.test_daemon_methods,tests.test_execslots -*-
"""
The C{vcd} namespace: daemon administration (manual chapter 11) and the
original's C{vcd.hostinfo}.
"""

import os
import platform

from zope.interface import implementer
from twisted.plugin import IPlugin

import vcd
from vcd.api import arguments as A
from vcd.faults import MEPERM, VCDFault, invalid
from vcd.api.interfaces import IMethodNamespace
from vcd.api.method import OWNER_NONE, Method, Param
from vcd.names import DAEMON_CAPS, UNGRANTABLE_CAPS
from vcd.vxdb import users, userns
from vcd.vxdb.registry import countVpses
from vcd.vxdb.whirlpool import passwordDigest


def _login(call, cursor, args):
    return None


def _status(call, cursor, args):
    services = call.services
    counters = services.counters
    return {
        "uptime": int(services.reactor.seconds() - counters.startedAt),
        "requests": counters.requests,
        "flogins": counters.flogins,
        "throttled_logins": services.throttle.delayed,
        "unchecked_logins": services.throttle.unchecked,
        "throttled_addresses": services.throttle.throttledAddresses,
        "nomethod": counters.nomethod,
        "faults": counters.faults,
        "vservers": countVpses(cursor),
        "users": users.countUsers(cursor),
        "busy": services.locks.held(),
        # vx.exec commands running now (vcd.api.execslots).
        "execs": services.execSlots.running(),
        "plugin_problems": list(services.pluginProblems),
        "version": vcd.__version__,
    }


def _hostinfo(call, cursor, args):
    services = call.services
    features = services.features
    uname = platform.uname()
    info = {
        "vbasedir": services.config.vbasedir,
        "templatedir": services.config.templatedir,
        "lxcpath": services.config.lxcpath,
        "cpus": len(features.cpus),
        "memnodes": len(features.memNodes),
        "sysname": uname.system,
        "nodename": uname.node,
        "release": uname.release,
        "machine": uname.machine,
        "loadavg": ["%.2f" % x for x in os.getloadavg()],
        # What callers without the admin flag may give (vcd.vps.capceiling).
        "bcapceiling": sorted(services.config.bcapCeiling),
        # vx.exec commands at once per VPS and per user (vcd.api.execslots).
        "execpervps": services.config.execPerVps,
        "execperuser": services.config.execPerUser,
    }
    info.update(features.describe())
    # Which configuration changes reach a running VPS, method by method.
    info["live"] = dict(services.liveChanges)
    unprivileged, privileged = userns.summary(cursor)
    info["userns"].update(default="unprivileged", unprivileged=unprivileged,
                          privileged=len(privileged))
    if call.user.admin:
        info["userns"]["privilegedNames"] = privileged
    return info


def _userStruct(user):
    # The manual's "password hash" is the stored verifier: no credential
    # (see vcd.vxdb.credentials).
    return {"username": user.name, "uid": user.uid, "password": user.password,
            "admin": user.admin}


def _userGet(call, cursor, args):
    if args["username"]:
        uid = users.requireUser(cursor, args["username"])
        return _userStruct(users.getUser(cursor, uid))
    return [_userStruct(user) for user in users.listUsers(cursor)]


def _verifier(call, password):
    return call.services.db.key.verifier(passwordDigest(password))


def _userSet(call, cursor, args):
    username, password = args["username"], args["password"]
    uid = users.findUid(cursor, username)
    if uid is None:
        if not password:
            raise invalid("password", "a new user needs a password")
        users.addUser(cursor, username, _verifier(call, password),
                      args["admin"])
    else:
        if password:
            users.setPassword(cursor, username, _verifier(call, password))
        if args["admin"] is not None:
            users.setAdmin(cursor, uid, args["admin"])


def _userRemove(call, cursor, args):
    uid = users.requireUser(cursor, args["username"])
    if uid == call.user.uid:
        raise invalid("username", "you cannot remove the user you are logged"
                      " in as")
    users.removeUser(cursor, uid)


def _capsAdd(call, cursor, args):
    uid = users.requireUser(cursor, args["username"])
    if args["cap"] in UNGRANTABLE_CAPS:
        raise VCDFault(MEPERM, "the %s capability cannot be granted over the"
                       " API" % (args["cap"],))
    users.grantCap(cursor, uid, args["cap"])


def _capsGet(call, cursor, args):
    uid = users.requireUser(cursor, args["username"])
    have = users.userCaps(cursor, uid)
    return [cap for cap in DAEMON_CAPS if cap in have]


def _capsRemove(call, cursor, args):
    uid = users.requireUser(cursor, args["username"])
    # "All" means all the API can give back: removing HELPER from the
    # vshelper user takes naming it.
    users.revokeCap(cursor, uid, args["cap"] or None, keep=UNGRANTABLE_CAPS)


def _usernameParam(allowEmpty=False):
    return Param("username", A.userName(allowEmpty=allowEmpty),
                 "" if allowEmpty else Param.REQUIRED,
                 "Username" + (" (empty for all)" if allowEmpty else ""))


_CAP = Param("cap", A.KnobName("capability"), doc="Daemon capability")
_CAP_OR_ALL = Param("cap", A.KnobName("capability", allowEmpty=True),
                    doc="Daemon capability (empty for all, as the original's"
                    " vcdadm sent it)")


@implementer(IPlugin, IMethodNamespace)
class DaemonNamespace:
    """
    The C{vcd} namespace.
    """

    name = "vcd"
    description = "Daemon administration methods (manual chapter 11)"

    methods = (
        Method("vcd.login", None, OWNER_NONE, [], "nil",
               "Check a username and password.", transaction=_login,
               readOnly=True),
        Method("vcd.status", "INFO", OWNER_NONE, [], "struct",
               "Daemon statistics: uptime, requests, failed logins (and how"
               " many were answered late, or refused unchecked, by the"
               " login throttle), unknown methods, the vx.exec commands"
               " running (execs) and more.", transaction=_status,
               readOnly=True),
        Method("vcd.hostinfo", "INFO", OWNER_NONE, [], "struct",
               "Host facts, which knobs this host accepts and why, and"
               " how many vx.exec commands may run at once per virtual"
               " server and per user (execpervps, execperuser).",
               transaction=_hostinfo,
               readOnly=True),
        Method("vcd.user.get", "AUTH", OWNER_NONE, [_usernameParam(True)],
               "struct", "Get a user, or every user when username is empty.",
               transaction=_userGet,
               readOnly=True),
        Method("vcd.user.set", "AUTH", OWNER_NONE, [
            _usernameParam(),
            Param("password", A.Password(allowEmpty=True), "",
                  "Password (empty to keep an existing user's password)"),
            Param("admin", A.Bool(), None,
                  "Administrator flag (default: unchanged; new users: no)")],
            "nil", "Add or change a user.", transaction=_userSet),
        Method("vcd.user.remove", "AUTH", OWNER_NONE, [_usernameParam()],
               "nil", "Remove a user, with its capabilities and ownerships.",
               transaction=_userRemove),
        Method("vcd.user.caps.add", "AUTH", OWNER_NONE,
               [_usernameParam(), _CAP], "nil",
               "Grant a capability (never HELPER).", transaction=_capsAdd),
        Method("vcd.user.caps.get", "AUTH", OWNER_NONE, [_usernameParam()],
               "array", "Get a user's capabilities.", transaction=_capsGet,
               readOnly=True),
        Method("vcd.user.caps.remove", "AUTH", OWNER_NONE,
               [_usernameParam(), _CAP_OR_ALL], "nil",
               "Revoke a capability, or all of them.",
               transaction=_capsRemove),
    )


daemon = DaemonNamespace()
