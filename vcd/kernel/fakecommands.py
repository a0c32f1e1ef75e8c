# -*- test-case-name: tests.test_kernel_interface -*-
"""
The commands of the VPSes of L{vcd.kernel.fake.FakeKernel}: a small
busybox, each a function C{f(kernel, vps, argv, env)} returning C{(status,
output)} or a Deferred firing with it.

  - C{echo ARG...}, C{true}, C{false}, C{env} (prints the environment it
    was given), C{sleep N} (takes N seconds of the kernel's reactor);
  - C{cat FILE...}: the files are C{/proc/sys/kernel/domainname} and
    C{hostname} (see L{vcd.kernel.fake.FakeKernel.setDomainName} and
    C{setHostName}) and
    L{vcd.kernel.fake.FakeVPS.files}; without a file it reads standard
    input, which is /dev/null;
  - C{sh -c SCRIPT}: simple commands separated by C{;} or newlines,
    redirections ignored (output is combined anyway), C{exit N} and
    C{kill -SIG $$};
  - C{kill [-SIG] VPID...};
  - C{halt}, C{poweroff}, C{reboot}: as busybox's, a signal to init
    (SIGUSR1, SIGUSR2, SIGTERM); see L{vcd.kernel.fake.FakeKernel.kill}.
"""

import shlex
import signal

from twisted.internet import defer


def _echo(kernel, vps, argv, env):
    return 0, " ".join(argv[1:]) + "\n"


def _sleep(kernel, vps, argv, env):
    try:
        seconds = float(argv[1])
    except (IndexError, ValueError):
        return 1, "sleep: invalid number\n"
    d = defer.Deferred(lambda d: call.cancel())
    call = kernel.reactor.callLater(seconds, d.callback, (0, ""))
    return d


def _cat(kernel, vps, argv, env):
    files = dict(vps.files)
    files["/proc/sys/kernel/domainname"] = vps.domainname + "\n"
    files["/proc/sys/kernel/hostname"] = vps.hostname + "\n"
    output, status = [], 0
    for path in argv[1:]:
        if path in files:
            output.append(files[path])
        else:
            output.append("cat: can't open '%s': No such file or directory\n"
                          % (path,))
            status = 1
    return status, "".join(output)


def _signalNumber(text):
    text = text.lstrip("-").upper()
    if text.isdigit():
        return int(text)
    return int(getattr(signal, text if text.startswith("SIG")
                       else "SIG" + text))


def _kill(kernel, vps, argv, env, inScript=False):
    args = argv[1:]
    signum = signal.SIGTERM
    if args and args[0].startswith("-"):
        signum = _signalNumber(args.pop(0))
    for arg in args:
        if arg == "$$" and inScript:
            return defer.fail(_Signalled(signum))
        process = vps.processes.get(int(arg)) if arg.isdigit() else None
        if process is None:
            return 1, "kill: can't kill pid %s: No such process\n" % (arg,)
        kernel.deliver(vps, process, signum)
    return 0, ""


class _Signalled(Exception):
    """
    A C{sh -c} script signalled itself.
    """

    def __init__(self, signum):
        Exception.__init__(self, signum)
        self.signum = signum


def _initSignal(signum):
    def command(kernel, vps, argv, env):
        kernel.deliver(vps, vps.init, signum)
        return 0, ""
    return command


@defer.inlineCallbacks
def _sh(kernel, vps, argv, env):
    if len(argv) < 3 or argv[1] != "-c":
        return 2, "sh: the fake runs only sh -c SCRIPT\n"
    output, status = [], 0
    for line in argv[2].replace("\n", ";").split(";"):
        words = [w for w in shlex.split(line)
                 if w not in (">&2", "2>&1", "1>&2")]
        if not words:
            continue
        if words[0] == "exit":
            if len(words) > 1:
                status = int(words[1])
            return status, "".join(output)
        if words[0] == "kill":
            try:
                status, text = yield _kill(kernel, vps, words, env,
                                           inScript=True)
            except _Signalled as e:
                return -e.signum, "".join(output)
        elif kernel.command(words[0]) is not None:
            status, text = yield kernel.command(words[0])(kernel, vps,
                                                          words, env)
        else:
            status, text = 127, "sh: %s: not found\n" % (words[0],)
        output.append(text)
    return status, "".join(output)


#: The commands of a busybox VPS (see the module's docstring).
COMMANDS = {
    "echo": _echo,
    "true": lambda kernel, vps, argv, env: (0, ""),
    "false": lambda kernel, vps, argv, env: (1, ""),
    "env": lambda kernel, vps, argv, env: (0, "".join(e + "\n" for e in env)),
    "sleep": _sleep,
    "cat": _cat,
    "sh": _sh,
    "kill": _kill,
    "halt": _initSignal(signal.SIGUSR1),
    "poweroff": _initSignal(signal.SIGUSR2),
    "reboot": _initSignal(signal.SIGTERM),
}
