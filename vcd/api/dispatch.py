# -*- test-case-name: tests.test_dispatch_fake,tests.test_original_forms -*-
"""
The dispatcher: from a parsed request to a method's result.

It enforces, once for every method whatever plugin declared it: the shape
of the two params, the argument declarations, authentication (throttled by
the L{vcd.api.interfaces.ILoginThrottle}; the vshelper user only on the
daemon's Unix socket for it), the capability, the owner rule and the
per-VPS lock; and it turns every error into a fault with one of the
manual's codes.
"""

import sqlite3

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface.verify import verifyObject

from vcd.api import method as M
from vcd.api.arguments import describeType
from vcd.api.call import Call
from vcd.api.livelock import applyLive
from vcd.faults import (MEAUTH, MEINVAL, MENOMETHOD, MEPERM, MESYS,
                        MEVXDB, VCDFault)
from vcd.api.interfaces import IMethodNamespace
from vcd.names import HELPER_USER
from vcd.vxdb import registry
from vcd.vxdb.database import ReaderBusy

INTROSPECTION = ("system.listMethods", "system.methodHelp",
                 "system.methodSignature")


class AuthenticationFailed(VCDFault):
    """
    MEAUTH: unknown user or wrong password (never saying which).
    """

    def __init__(self, username):
        VCDFault.__init__(self, MEAUTH, "unauthorized")
        self.username = username


class LoginRefused(AuthenticationFailed):
    """
    MEAUTH, for a call refused before its password was checked: its
    address has too many throttled logins waiting (see
    L{vcd.api.interfaces.ILoginThrottle.admit}).
    """


def collectMethods(namespaces, problems=None):
    """
    Build the method table from namespace plugins.

    A namespace that declares a method outside its prefix, or one that
    another namespace already declared, is left out whole and reported.

    @param problems: a list to append C{"namespace: what is wrong"} to.
    @return: the table, name to L{vcd.api.method.Method}.
    """
    table = {}
    for namespace in namespaces:
        verifyObject(IMethodNamespace, namespace)
        mine = {}
        for method in namespace.methods:
            if not method.name.startswith(namespace.name + "."):
                why = "method %s is outside the namespace" % (method.name,)
            elif method.name in table or method.name in mine:
                why = "method %s is declared twice" % (method.name,)
            else:
                mine[method.name] = method
                continue
            if problems is not None:
                problems.append("namespace %s (%s): %s; left out" % (
                    namespace.name, getattr(namespace, "__module__", "?"),
                    why))
            break
        else:
            table.update(mine)
    return table


class Dispatcher:
    """
    Routes calls to the declared methods.

    @ivar methods: the method table, name to L{vcd.api.method.Method}.
    """

    log = Logger()

    def __init__(self, methods, services):
        self.methods = dict(methods)
        self.services = services
        # What applies live, for vcd.hostinfo (the methods know it).
        services.liveChanges = {name: method.live.doc for name, method
                                in sorted(self.methods.items())
                                if method.live is not None}

    def dispatch(self, methodName, params, clientAddress):
        """
        Run one call, synchronously when it can be (a read-only call is
        answered without a Deferred).

        @param params: the tuple of XML-RPC params.
        @param clientAddress: where the call came from, an
            L{vcd.api.interfaces.IClientAddress}.
        @return: the result or a L{VCDFault}, or a Deferred firing with
            either (it never fails; a failed login's fault may come late,
            see L{vcd.api.interfaces.ILoginThrottle}).
        """
        self.services.counters.requests += 1
        try:
            result = self._call(methodName, params, clientAddress)
        except BaseException:
            return self._toFault(Failure(), methodName, clientAddress)
        if isinstance(result, defer.Deferred):
            return result.addErrback(self._toFault, methodName,
                                     clientAddress)
        return result

    def _call(self, methodName, params, clientAddress):
        if methodName in INTROSPECTION:
            return self._introspect(methodName, params)
        method = self.methods.get(methodName)
        if method is None:
            self.services.counters.nomethod += 1
            raise VCDFault(MENOMETHOD, "method %r not found" % (methodName,))
        username, password = _credentials(params)
        if not self.services.throttle.admit(clientAddress):
            raise LoginRefused(username)
        if len(params) > 2:
            raise VCDFault(MEINVAL, "%s takes two params, the"
                           " {username, password} struct and the argument"
                           " struct; %d given" % (method.name, len(params)))
        args = method.parseArguments(_argumentStruct(method, params))
        # Known here, on the reactor thread, which owns the connection.
        loginHere = self._mayLogInHere(username, clientAddress)
        db = self.services.db
        # Authentication and owner checks only read: a run method (whose
        # body comes after) or a read-only body needs no trip to the
        # database thread.
        if method.readOnly or method.run is not None:
            try:
                checked = db.readNow(self._checkAndTransact, method,
                                     username, password, args, clientAddress,
                                     loginHere)
            except ReaderBusy:
                pass
            else:
                return self._afterChecks(checked, method, args)
        d = db.transact(self._checkAndTransact, method, username, password,
                        args, clientAddress, loginHere)
        d.addCallback(self._afterChecks, method, args)
        return d

    def _checkAndTransact(self, cursor, method, username, password, args,
                          clientAddress, loginHere):
        """
        On the database thread (or the read-only connection, for a
        read-only call): authenticate, check the capability and the
        owner rule, and run a transaction method's body, all in one
        transaction.

        @param loginHere: whether C{username} may log in where the call
            came from (the password is checked all the same).
        """
        access = self.services.db.access(cursor)
        user = access.authenticate(username, password)
        if user is None or not loginHere:
            raise AuthenticationFailed(username)
        if method.capability is not None \
                and method.capability not in user.caps:
            raise VCDFault(MEPERM, "user %r lacks the %s capability that %s"
                           " needs" % (user.name, method.capability,
                                       method.name))
        vps = checkOwner(access, method.owner, user, args)
        call = Call(method, user, vps, self.services, clientAddress)
        if method.transaction is not None:
            return call, method.transaction(call, cursor, args)
        return call, None

    def _mayLogInHere(self, username, clientAddress):
        """
        The vshelper user logs in only on the daemon's Unix socket for it
        (whose secret it has; HELPER cannot be granted over the API).
        """
        if username != HELPER_USER:
            return True
        helperSocket = self.services.helperSocket
        localSocket = getattr(clientAddress, "localSocket", None)
        return (helperSocket is not None and localSocket is not None
                and localSocket() == helperSocket)

    def _afterChecks(self, checked, method, args):
        call, result = checked
        self.services.throttle.succeeded(call.clientAddress, call.user.name)
        if method.run is None:
            if method.live is not None:
                return applyLive(call, args)
            return result
        if not method.lock:
            return method.run(call, args)
        return self.services.locks.run(args["name"], method.run, call, args)

    def _toFault(self, failure, methodName, clientAddress):
        counters = self.services.counters
        counters.faults += 1
        error = failure.value
        if isinstance(error, LoginRefused):
            return error
        if isinstance(error, AuthenticationFailed):
            counters.flogins += 1
            return self.services.throttle.failed(clientAddress,
                                                 error.username, error)
        if isinstance(error, VCDFault):
            return error
        if isinstance(error, sqlite3.Error):
            self.log.failure("VXDB error in {method}", failure,
                             method=methodName)
            return VCDFault(MEVXDB, "database error in %s: %s"
                            % (methodName, error))
        self.log.failure("internal error in {method}", failure,
                         method=methodName)
        return VCDFault(MESYS, "internal error in %s: %s"
                        % (methodName, error.__class__.__name__))

    def _introspect(self, methodName, params):
        if methodName == "system.listMethods":
            return sorted(list(self.methods) + list(INTROSPECTION))
        if len(params) != 1 or not isinstance(params[0], str):
            raise VCDFault(MEINVAL, "%s takes one string param, the method"
                           " name" % (methodName,))
        target = self.methods.get(params[0])
        if target is None:
            raise VCDFault(MENOMETHOD, "method %r not found" % (params[0],))
        if methodName == "system.methodHelp":
            return target.help()
        return target.signature()


#: Empty values some clients send in place of an empty argument struct:
#: the original's vcdadm sent C{""}, and PHP's xmlrpc_encode_request
#: cannot encode an empty struct and sends an empty array.
_EMPTY_NON_STRUCTS = ("", [])


def _argumentStruct(method, params):
    """
    Return the argument struct of a call (None when the client sent only
    the authentication param).

    An empty string or an empty array in its place is taken as no
    arguments, like a missing param 2 (a method with required parameters
    then names the first missing one); anything else that is not a struct
    is refused.
    """
    if len(params) < 2:
        return None
    struct = params[1]
    if isinstance(struct, dict):
        return struct
    if struct in _EMPTY_NON_STRUCTS:
        return None
    raise VCDFault(MEINVAL, "param 2 of %s must be the argument struct (an"
                   " empty string or array stands for no arguments), not"
                   " %s" % (method.name, describeType(struct)))


def _credentials(params):
    if not params or not isinstance(params[0], dict):
        raise VCDFault(MEINVAL, "param 1 must be the struct {username,"
                       " password}")
    auth = params[0]
    username, password = auth.get("username"), auth.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise VCDFault(MEINVAL, "param 1 must hold the strings username and"
                       " password")
    if set(auth) - {"username", "password"}:
        raise VCDFault(MEINVAL, "param 1 has unknown members %s" % (
            ", ".join(sorted(repr(k) for k in set(auth) -
                             {"username", "password"})),))
    return username, password


def checkOwner(access, rule, user, args):
    """
    Apply an owner rule (see L{vcd.api.method}), reading through C{access} (see
    L{vcd.vxdb.access}).

    A caller who fails the check on an existing VPS gets the same MENOVPS
    fault as for a VPS that does not exist.

    @return: the L{vcd.vxdb.registry.VPS} named by C{args["name"]}, or None.
    """
    if rule == M.OWNER_NONE:
        return None
    name = args["name"]
    vps = access.findVps(name)
    if rule == M.OWNER_EXISTS:
        if vps is None:
            raise registry.noSuchVps(name)
        return vps
    if rule == M.OWNER_CREATE and vps is None:
        if user.admin:
            return None
        raise registry.noSuchVps(name)
    if vps is None or not (user.admin or access.isOwner(vps.xid, user.uid)):
        raise registry.noSuchVps(name)
    return vps
