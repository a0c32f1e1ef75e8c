# -*- test-case-name: tests.test_clients -*-
"""
The vocabulary of the clients' command tables.

A client's subcommands are data: each L{Command} names its subcommand, the
XML-RPC method it calls and its positional L{Argument}s in the method's
order.  L{Command.bind} turns the words typed after the subcommand into
the method's argument struct, converting each word with its argument's
kind (L{string}, L{integer}, L{uint64}, L{boolean}).
"""

from vcd.scripts._clienterrors import UsageError


# Argument kinds: each converts one command-line word to the value sent,
# raising ValueError with a readable message.

def string(word):
    """
    A string argument, sent as it is.
    """
    return word


def integer(word):
    """
    An int argument (XML-RPC C{<int>}).
    """
    try:
        return int(word, 10)
    except ValueError:
        raise ValueError("expected an integer, got %r" % (word,))


def uint64(word):
    """
    An unsigned 64-bit argument, sent as a decimal string (the manual's
    convention, since XML-RPC has no 64-bit integer).
    """
    if not word.isdigit() or int(word) >= 2 ** 64:
        raise ValueError("expected an unsigned 64-bit number, got %r" % (word,))
    return str(int(word))


_BOOLEANS = {"1": True, "true": True, "yes": True,
             "0": False, "false": False, "no": False}


def boolean(word):
    """
    A bool argument given as 0/1, true/false or yes/no.
    """
    try:
        return _BOOLEANS[word.lower()]
    except KeyError:
        raise ValueError("expected 0/1, true/false or yes/no, got %r" % (word,))


#: The default of an argument that must be given.
REQUIRED = object()


def sameAs(other):
    """
    A default that copies the value bound to the argument C{other}.
    """
    return lambda values: values[other]


class Argument:
    """
    One positional argument of a subcommand.

    @ivar name: the member name in the method's argument struct.
    @ivar kind: converter from the word to the value (L{string}, ...).
    @ivar default: L{REQUIRED}, a value, or a callable taking the values
        bound so far (see L{sameAs}).
    @ivar rest: if true, this argument takes all remaining words (at least
        one), joined with single spaces.
    """

    def __init__(self, name, kind=string, default=REQUIRED, rest=False):
        self.name = name
        self.kind = kind
        self.default = default
        self.rest = rest

    @property
    def optional(self):
        """
        Whether the argument may be left out.
        """
        return self.default is not REQUIRED

    def usage(self):
        """
        The argument as shown in a usage line, without the brackets that
        mark it optional.
        """
        if self.rest:
            return "<%s> [<args>...]" % (self.name,)
        return "<%s>" % (self.name,)

    def defaultFor(self, values):
        """
        The value of the argument when left out.
        """
        if callable(self.default):
            return self.default(values)
        return self.default


def required(name, kind=string):
    """
    A positional argument that must be given.
    """
    return Argument(name, kind)


def optional(name, default="", kind=string):
    """
    A positional argument that may be left out; C{""} by default, the
    manual's "this value may be empty".
    """
    return Argument(name, kind, default)


def rest(name):
    """
    The trailing words, joined with spaces into one string argument.
    """
    return Argument(name, rest=True)


class Command:
    """
    One subcommand: the words a user types and the method call they make.

    @ivar name: the subcommand.
    @ivar method: the XML-RPC method name, or C{None} for an C{action}.
    @ivar arguments: the L{Argument}s; optional ones come last.
    @ivar help: a one-line description.
    @ivar action: instead of a call, a callable C{(tool, settings, values,
        io)} returning the exit code.
    """

    def __init__(self, name, method, arguments=(), help="", action=None):
        self.name = name
        self.method = method
        self.arguments = tuple(arguments)
        self.help = help
        self.action = action
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
        Convert the positional words into the method's argument struct.

        @raise UsageError: missing, surplus or malformed words.
        """
        values = {}
        for index, argument in enumerate(self.arguments):
            if argument.rest:
                if index >= len(words):
                    raise UsageError("missing <%s>" % (argument.name,))
                values[argument.name] = " ".join(words[index:])
                return values
            if index < len(words):
                try:
                    values[argument.name] = argument.kind(words[index])
                except ValueError as e:
                    raise UsageError("<%s>: %s" % (argument.name, e))
            elif argument.optional:
                values[argument.name] = argument.defaultFor(values)
            else:
                raise UsageError("missing <%s>" % (argument.name,))
        if len(words) > len(self.arguments):
            raise UsageError("too many arguments")
        return values


def namespaced(prefix):
    """
    A factory of L{Command}s whose method is C{prefix} + the subcommand.
    """
    def command(name, arguments=(), help=""):
        return Command(name, prefix + name, arguments, help)
    return command
