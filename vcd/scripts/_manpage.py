# -*- test-case-name: tests.test_clientcli -*-
"""
Manual pages in roff, generated from the same parsers the tools use:
C{vcc --man > vcc.1}, C{vxpasswd --man > vxpasswd.8}.

A parser is a L{vcd.scripts._commandline.Parser}, which records its
arguments as they are added (L{Parser.recorded}).
"""

import argparse

import vcd
from vcd.scripts._clientsettings import CONFIG_PATHS, PASSWORD_VARIABLE


def escape(text):
    """
    C{text} safe as roff: backslashes and hyphens escaped, no line
    starting with a control character.
    """
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line
                     for line in text.split("\n"))


def _header(name, section, summary):
    first, _, rest = summary.partition("\n\n")
    title = first.split(":", 1)[-1].strip().replace("\n", " ")
    return [".TH %s %d \"\" \"vcd %s\"" % (name.upper(), section,
                                           vcd.__version__),
            ".SH NAME", "%s \\- %s" % (escape(name), escape(title))], rest


def _arguments(parser):
    lines = []
    for action in parser.recorded:
        if action.help in (None, argparse.SUPPRESS):
            continue
        if action.option_strings:
            names = ", ".join("\\fB%s\\fR" % (escape(o),)
                              for o in action.option_strings)
            if action.nargs != 0 and action.metavar:
                names += " \\fI%s\\fR" % (escape(action.metavar),)
        else:
            names = "\\fI%s\\fR" % (escape(action.metavar or action.dest),)
        lines += [".TP", names, escape(action.help)]
    return lines


def parserPage(parser, name, section, summary, extra=()):
    """
    The manual page of a tool with one parser: name, synopsis (its
    usage), description (C{summary} after its first paragraph), options
    and arguments, then C{extra} roff lines.
    """
    lines, description = _header(name, section, summary)
    usage = parser.format_usage().replace("usage: ", "", 1).strip()
    lines += [".SH SYNOPSIS", escape(usage), ".SH DESCRIPTION",
              escape(description.strip()), ".SH OPTIONS"]
    lines += _arguments(parser)
    lines += list(extra)
    return "\n".join(lines) + "\n"


def toolPage(tool, parser):
    """
    The manual page (section 1) of a client L{Tool}: its options, every
    command with its arguments, exit status, environment and files.
    """
    commands = [".SH COMMANDS"]
    for command in tool.commands.values():
        commands += [".TP", "\\fB%s\\fR" % (escape(command.usage()),),
                     escape(command.help)]
        for argument in command.arguments:
            if argument.help:
                commands += [".RS", ".TP", "\\fI%s\\fR" % (argument.name,),
                             escape(argument.help), ".RE"]
    extra = commands + [
        ".SH EXIT STATUS",
        escape("0 success; 1 the daemon answered a fault (printed as NAME"
               " (code): message); 2 a usage, configuration or connection"
               " error; 141 standard output was closed. vcc exec exits with"
               " the status of the command it ran, 255 if it could not run"
               " it."),
        ".SH ENVIRONMENT", ".TP", "\\fB%s\\fR" % (PASSWORD_VARIABLE,),
        "The password; it wins over the configuration file's.",
        ".SH FILES"]
    for path in CONFIG_PATHS:
        extra += [".TP", "\\fI%s\\fR" % (escape(path),),
                  "Client configuration, section [vcc]: host, port, user,"
                  " pass (mode 600)."]
    return parserPage(parser, tool.prog, 1, tool.summary, extra)
