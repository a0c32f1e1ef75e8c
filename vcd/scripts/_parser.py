# -*- test-case-name: tests.test_clientcli,tests.test_clientcommands -*-
"""
The C{argparse} parser of every vcd tool: it raises instead of exiting,
suggests what was meant for an unknown option, and records its arguments
for the manual page (L{vcd.scripts._manpage}).
"""

import argparse
import difflib

from vcd.scripts._clienterrors import UsageError


class Finished(Exception):
    """
    Parsing ends early with text for standard output (help, version, man
    page, completion script) and exit code 0.
    """

    def __init__(self, text):
        Exception.__init__(self, text)
        self.text = text


class ShowText(argparse.Action):
    """
    An option that prints a text made from the tool and its parser, then
    ends the run: C{text(tool, parser)}.
    """

    def __init__(self, option_strings, dest, text, tool=None, help=None):
        argparse.Action.__init__(self, option_strings, dest, nargs=0,
                                 default=argparse.SUPPRESS, help=help)
        self.text = text
        self.tool = tool

    def __call__(self, parser, namespace, values, option_string=None):
        raise Finished(self.text(self.tool, parser))


class Parser(argparse.ArgumentParser):
    """
    An C{ArgumentParser} that raises L{UsageError} instead of exiting, and
    suggests the options close to an unknown one.
    """

    def __init__(self, *args, **kwargs):
        argparse.ArgumentParser.__init__(self, *args, **kwargs)
        self.optionStrings = []
        self.recorded = []

    def add_argument(self, *args, **kwargs):
        """
        See C{argparse.ArgumentParser.add_argument}; the action is also
        recorded (for the manual page) with its option strings.
        """
        action = argparse.ArgumentParser.add_argument(self, *args, **kwargs)
        self.optionStrings.extend(action.option_strings)
        self.recorded.append(action)
        return action

    def error(self, message):
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            message += suggest(message[len(prefix):].split()[0],
                               self.optionStrings)
        raise UsageError(message)


def suggest(word, candidates):
    """
    C{"; did you mean X?"} for the candidates close to C{word} (difflib),
    or C{""}.
    """
    close = difflib.get_close_matches(word, list(candidates), n=3,
                                      cutoff=0.6)
    if not close:
        return ""
    return "; did you mean %s?" % (", ".join(close),)


def helpOption(parser):
    """
    Add C{-h}/C{--help} to C{parser}: print its help, exit 0.
    """
    parser.add_argument("-h", "--help", action=ShowText,
                        text=lambda tool, p: p.format_help(),
                        help="show this help and exit")


def manOption(parser, page):
    """
    Add C{--man} to C{parser}: print C{page(parser)} (roff), exit 0.
    """
    parser.add_argument("--man", action=ShowText,
                        text=lambda tool, p: page(p),
                        help="print the manual page (roff) and exit")
