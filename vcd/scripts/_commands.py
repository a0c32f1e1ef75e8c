# -*- test-case-name: tests.test_clientcommands,tests.test_clients -*-
"""
The clients' commands, derived from the daemon's method declarations.

A client names the prefix of the methods it offers (C{vx.} for vcc); each
method under it becomes a L{Command} whose positional L{Argument}s are the
method's parameters in the method's order, converted by their declared
type (see L{vcd.scripts._declarations.wireKind}).  What the declarations
cannot say, how people type a value (units, signal names, CIDR) or the
original's argument order where it differs, a client states in a
L{Presentation}; a presentation of a method the daemon lacks is an error,
so a client cannot offer what the daemon does not serve.
"""

from vcd.api.method import OWNER_CREATE, OWNER_EXISTS, OWNER_VPS
from vcd.scripts import _words
from vcd.scripts._clienterrors import UsageError
from vcd.scripts._declarations import (knobKind, methodsUnder, serverMethods,
                                       wireKind)

#: The owner rules of methods whose C{name} argument is a VPS's name.
VPS_OWNER_RULES = (OWNER_VPS, OWNER_EXISTS, OWNER_CREATE)

_CONVERTERS = {"boolean": _words.boolean, "int": _words.integer,
               "uint64": _words.uint64, "string": _words.string}


def plain(convert):
    """
    A converter of one word as a binding converter C{(word, values)}.
    """
    return lambda word, values: convert(word)


class Argument:
    """
    One positional argument of a command: a member of the method's
    argument struct.

    @ivar name: the member name.
    @ivar convert: C{convert(word, values)} returning the value sent, with
        C{values} the members bound so far (may add one, as a CIDR address
        adds its netmask); raises C{ValueError}.
    @ivar optional: whether it may be left out (the daemon then applies
        the method's declared default).
    @ivar rest: whether it takes all the remaining words, joined as a
        command line that the daemon splits back into the same words.
    @ivar help: one line, the parameter's declared doc.
    """

    def __init__(self, name, convert, optional=False, rest=False, help=""):
        self.name = name
        self.convert = convert
        self.optional = optional
        self.rest = rest
        self.help = help

    def usage(self):
        """
        The argument as a usage line shows it, without the brackets that
        mark it optional.
        """
        if self.rest:
            return "<%s> [<arg>...]" % (self.name,)
        return "<%s>" % (self.name,)


class Command:
    """
    One subcommand: the words a user types and what they do.

    @ivar name: the subcommand.
    @ivar method: the XML-RPC method name, or C{None} for a local action.
    @ivar arguments: the L{Argument}s; optional ones come last.
    @ivar help: one line.
    @ivar action: C{action(session, command, values)} returning the exit
        code, or C{None} to call C{method} and print its result.
    @ivar render: C{render(result, session)} printing a result, or C{None}
        for the generic rendering.
    @ivar vpsArgument: the argument that names an existing VPS (that of a
        method with an owner rule), or C{None}.
    """

    def __init__(self, name, method, arguments=(), help="", action=None,
                 render=None, vpsArgument=None):
        self.name = name
        self.vpsArgument = vpsArgument
        self.method = method
        self.arguments = tuple(arguments)
        self.help = help
        self.action = action
        self.render = render
        kinds = [argument.optional for argument in self.arguments]
        if kinds != sorted(kinds):
            raise ValueError("%s: required argument after optional" % (name,))

    def usage(self):
        """
        The usage line, e.g. C{create <name> <template> [<force> [...]]}.
        """
        words = [self.name]
        closing = ""
        for argument in self.arguments:
            if argument.optional:
                words.append("[" + argument.usage())
                closing += "]"
            else:
                words.append(argument.usage())
        return " ".join(words) + closing

    def bind(self, words):
        """
        Convert the words typed for each argument into the method's
        argument struct.

        @param words: argument name to the word typed (a list of words for
            a C{rest} argument), or C{None} when left out.
        @raise UsageError: a malformed word.
        """
        values = {}
        for argument in self.arguments:
            word = words.get(argument.name)
            if word is None:
                continue
            if argument.rest:
                if not word:
                    raise UsageError("missing <%s>" % (argument.name,))
                values[argument.name] = _words.commandLine(word)
                continue
            if argument.name in values:
                raise UsageError("<%s> is given twice" % (argument.name,))
            try:
                values[argument.name] = argument.convert(word, values)
            except ValueError as e:
                raise UsageError("<%s>: %s" % (argument.name, e))
        return values


class Presentation:
    """
    How a client presents one method where the declaration alone does not
    say: all optional.

    @ivar order: the parameter names in the order typed (default: the
        declaration's).
    @ivar required: parameters that must be typed although the method has
        a default for them (as the original's tool required them).
    @ivar convert: parameter name to a binding converter
        C{(word, values)}.
    @ivar rest: the parameter that takes the remaining words.
    @ivar action, render: see L{Command}.
    @ivar help: the one-line help (default: the method's doc).
    """

    def __init__(self, order=None, required=(), convert=None, rest=None,
                 action=None, render=None, help=None):
        self.order = order
        self.required = frozenset(required)
        self.convert = dict(convert or {})
        self.rest = rest
        self.action = action
        self.render = render
        self.help = help


def commandOf(name, method, presentation=None):
    """
    The L{Command} C{name} calling L{vcd.api.method.Method} C{method},
    presented as C{presentation} says.

    @raise ValueError: the presentation names a parameter the method
        lacks, or leaves one out.
    """
    presentation = presentation or Presentation()
    params = {param.name: param for param in method.params}
    order = presentation.order or [param.name for param in method.params]
    named = set(presentation.convert) | presentation.required | set(order)
    if presentation.rest:
        named.add(presentation.rest)
    if named - set(params) or set(params) - set(order):
        raise ValueError("%s: the presentation's parameters %s are not the"
                         " method's %s" % (method.name, sorted(named),
                                           sorted(params)))
    arguments = []
    # An argument may be left out when it and every one after it has a
    # default: the words are positional.
    mayOmit = True
    for paramName in reversed(order):
        param = params[paramName]
        mayOmit = (mayOmit and not param.required
                   and paramName not in presentation.required)
        convert = presentation.convert.get(paramName)
        if convert is None:
            kind = knobKind(param)
            convert = plain(_words.knobName(kind) if kind else
                            _CONVERTERS[wireKind(param)])
        arguments.append(Argument(paramName, convert, optional=mayOmit,
                                  rest=(paramName == presentation.rest),
                                  help=param.doc))
    arguments.reverse()
    return Command(name, method.name, arguments,
                   presentation.help or method.doc, presentation.action,
                   presentation.render,
                   "name" if method.owner in VPS_OWNER_RULES else None)


def deriveCommands(prefix, presentations=None, others=None, methods=None):
    """
    The commands of every method under C{prefix}, named without it, plus
    C{others}.

    @param presentations: command name to L{Presentation}.
    @param others: command name to the full name of a method outside the
        prefix (vcc's C{list} is C{vxdb.list}).
    @param methods: the method table (default: the daemon's,
        L{serverMethods}).
    @return: a list of L{Command}s sorted by name.
    @raise ValueError: a presentation or another command names a method
        the daemon lacks.
    """
    if methods is None:
        methods = serverMethods()
    presentations = dict(presentations or {})
    found = {method.name[len(prefix):]: method
             for method in methodsUnder(prefix, methods)}
    for name, full in (others or {}).items():
        if full not in methods:
            raise ValueError("command %s: the daemon has no method %s"
                             % (name, full))
        found[name] = methods[full]
    lacking = set(presentations) - set(found)
    if lacking:
        raise ValueError("presentations of methods the daemon lacks: %s"
                         % (", ".join(prefix + name
                                      for name in sorted(lacking)),))
    return [commandOf(name, found[name], presentations.get(name))
            for name in sorted(found)]
