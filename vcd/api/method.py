# -*- test-case-name: tests.test_dispatch,tests.test_plugins -*-
"""
Declarative method descriptions: the original daemon's method table.

A namespace plugin lists L{Method}s; each says its capability, its owner
rule, whether it takes the per-VPS lock, and its parameters. The dispatcher
(L{vcd.api.dispatch}) enforces all of that once, for built-in and third-party
methods alike, before the method body runs.
"""

from vcd.faults import invalid

#: The reply of a configuration change that reached the running VPS.
APPLIED_NOW = "applied now"
#: The start of the reply of one that did not (it runs at the next start).
NEXT_START = "applies at the next start"

#: No owner check.
OWNER_NONE = "none"
#: The VPS named by the C{name} argument must exist and be owned by the
#: caller (or the caller is an admin); otherwise MENOVPS.
OWNER_VPS = "vps"
#: The VPS named by C{name} must exist; ownership is not checked.
OWNER_EXISTS = "exists"
#: vx.create's rule: an admin passes even if the VPS does not exist; anyone
#: else must own the existing VPS.
OWNER_CREATE = "create"

_REQUIRED = object()


class Param:
    """
    One named member of the argument struct.

    @ivar name: the member name.
    @ivar type: an L{vcd.api.arguments.ArgumentType}.
    @ivar default: the value when the member is missing, or
        L{Param.REQUIRED}.
    @ivar doc: one line for introspection.
    """

    REQUIRED = _REQUIRED

    def __init__(self, name, type, default=_REQUIRED, doc=""):
        self.name = name
        self.type = type
        self.default = default
        self.doc = doc

    @property
    def required(self):
        return self.default is _REQUIRED


class Method:
    """
    One XML-RPC method.

    Exactly one of C{transaction} and C{run} is given:
      - C{transaction(call, cursor, args)} runs on the database thread in
        the same transaction as the authentication and owner checks, and
        returns the result (plain XML-RPC data);
      - C{run(call, args)} runs on the reactor thread after the checks and
        returns a result or a Deferred; it reaches the database with
        C{call.services.db.transact}.

    @ivar name: the full dotted name, for example C{"vxdb.xid.get"}.
    @ivar capability: the daemon capability required, or None.
    @ivar owner: one of the C{OWNER_*} rules.
    @ivar lock: whether the method holds the per-VPS lock of C{name} while
        it runs (a concurrent holder gives MEBUSY).
    @ivar params: the L{Param}s, in the manual's order.
    @ivar returns: the XML-RPC type of the result, for introspection.
    @ivar aliases: a mapping of accepted member names to parameter names.
    @ivar readOnly: whether a C{transaction} body only reads; it then runs
        on the reactor thread on a read-only connection (a write fails).
    @ivar live: for a method that changes a VPS's configuration, a
        L{vcd.api.interfaces.ILiveChange} run once its transaction has
        committed, holding the VPS's lock (L{vcd.api.livelock}): it
        applies the change to the running VPS if it can, and its answer
        (L{APPLIED_NOW} or a sentence starting with L{NEXT_START}) is the
        method's reply. None for other methods.
    """

    def __init__(self, name, capability, owner, params, returns, doc,
                 transaction=None, run=None, lock=False, aliases=None,
                 readOnly=False, live=None):
        if (transaction is None) == (run is None):
            raise TypeError("%s: give exactly one of transaction and run"
                            % (name,))
        if lock and run is None:
            raise TypeError("%s: only run methods take the lock" % (name,))
        paramNames = [p.name for p in params]
        if owner in (OWNER_VPS, OWNER_EXISTS, OWNER_CREATE) \
                and "name" not in paramNames:
            raise TypeError("%s: an owner check needs a name parameter"
                            % (name,))
        self.name = name
        self.capability = capability
        self.owner = owner
        self.params = tuple(params)
        self.returns = returns
        self.doc = doc
        self.transaction = transaction
        self.run = run
        self.lock = lock
        self.aliases = dict(aliases or {})
        self.readOnly = readOnly
        self.live = live
        if live is not None:
            if transaction is None or readOnly:
                raise TypeError("%s: only write transactions apply live"
                                % (name,))
            self.returns = "string"

    def parseArguments(self, struct):
        """
        Check the argument struct against the declared parameters.

        @param struct: the second XML-RPC param (a dict), or None when the
            client sent none.
        @return: a dict with a value for every parameter.
        @raise VCDFault: MEINVAL naming the first bad member.
        """
        if struct is None:
            struct = {}
        known = {p.name: p for p in self.params}
        given = {}
        for member, value in struct.items():
            target = self.aliases.get(member, member)
            if target not in known:
                raise invalid(member, "unknown argument of %s" % (self.name,))
            if target in given:
                raise invalid(member, "given twice (%s is an alias)"
                              % (member,))
            given[target] = known[target].type.parse(member, value)
        args = {}
        for param in self.params:
            if param.name in given:
                args[param.name] = given[param.name]
            elif param.required:
                raise invalid(param.name, "missing required argument of %s"
                              % (self.name,))
            else:
                args[param.name] = param.default
        return args

    def signature(self):
        """
        Return the introspection signature: the return type, then the two
        structs every call sends.
        """
        return [[self.returns, "struct", "struct"]]

    def help(self):
        """
        Return the introspection help text.
        """
        lines = [self.doc, ""]
        lines.append("Capability: %s; owner check: %s%s." % (
            self.capability or "none", self.owner,
            "; takes the VPS lock" if self.lock else ""))
        for param in self.params:
            lines.append("  %s (%s%s): %s" % (
                param.name,
                getattr(param.type, "helpType", param.type.xmlrpcType),
                "" if param.required else ", optional", param.doc))
        if self.live is not None:
            lines.append("Reply: %r if the change reached the running"
                         " virtual server, else a sentence starting %r."
                         " %s" % (APPLIED_NOW, NEXT_START, self.live.doc))
        for alias, target in sorted(self.aliases.items()):
            lines.append("  %s: accepted as another name of %s"
                         % (alias, target))
        if not self.params:
            lines.append("  (no arguments: an empty struct, or no second"
                         " param, or an empty string or array)")
        return "\n".join(lines)
