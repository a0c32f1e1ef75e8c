# -*- test-case-name: tests.test_kernel_interface,tests.test_loadavg -*-
"""
What /proc says about the processes of a VPS: a VPS is the set of
processes in its init's PID namespace (the host sees them all, as the
manual's spectator context did). All functions are blocking and cheap;
the daemon runs them on its kernel thread pool.
"""

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Task:
    """
    One process of a VPS.

    @ivar pid: its pid on the host.
    @ivar vpid: its pid inside the VPS.
    @ivar states: the state letter of each of its threads (R, S, D, T...).
    """

    def __init__(self, pid, vpid, states):
        self.pid = pid
        self.vpid = vpid
        self.states = states


def pidNamespace(pid, proc="/proc"):
    """
    @return: the identity of the PID namespace of C{pid}, or None if it is
        gone.
    """
    try:
        return os.readlink("%s/%d/ns/pid" % (proc, pid))
    except OSError:
        return None


def _innermostPid(pid, proc):
    try:
        with open("%s/%d/status" % (proc, pid)) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def _threadStates(pid, proc):
    states = []
    try:
        threads = os.listdir("%s/%d/task" % (proc, pid))
    except OSError:
        return states
    for tid in threads:
        try:
            with open("%s/%d/task/%s/stat" % (proc, pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        states.append(stat[stat.rfind(")") + 2])
    return states


def tasksByNamespace(namespaces, proc="/proc"):
    """
    Scan /proc once and group the processes of the given PID namespaces.

    @param namespaces: PID namespace identities (see L{pidNamespace}).
    @return: a dict from namespace to a list of L{Task}.
    """
    wanted = set(namespaces)
    found = {ns: [] for ns in wanted}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        pid = int(entry)
        ns = pidNamespace(pid, proc)
        if ns not in wanted:
            continue
        vpid = _innermostPid(pid, proc)
        if vpid is None:
            continue
        states = _threadStates(pid, proc)
        if states:  # else it exited meanwhile: not counted at all
            found[ns].append(Task(pid, vpid, states))
    return found


def vpsTasks(initPid, proc="/proc"):
    """
    @return: the L{Task}s of the VPS whose init has host pid C{initPid}.
    """
    ns = pidNamespace(initPid, proc)
    if ns is None:
        return []
    return tasksByNamespace([ns], proc)[ns]


def processUptime(pid, proc="/proc"):
    """
    @return: how many seconds ago process C{pid} started, or 0 if it is
        gone.
    """
    try:
        with open("%s/%d/stat" % (proc, pid)) as f:
            stat = f.read()
        with open("%s/uptime" % (proc,)) as f:
            now = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    fields = stat[stat.rfind(")") + 2:].split()
    started = int(fields[19]) / CLOCK_TICKS
    return max(0, int(now - started))


def threadCounts(tasks):
    """
    Count the threads of some tasks by state, as the original's vx.status
    did.

    @return: a dict with C{thr_total}, C{thr_running} (R), C{thr_unintr}
        (D) and C{thr_onhold} (stopped: T or t).
    """
    states = [s for task in tasks for s in task.states]
    return {
        "thr_total": len(states),
        "thr_running": states.count("R"),
        "thr_unintr": states.count("D"),
        "thr_onhold": states.count("T") + states.count("t"),
    }
