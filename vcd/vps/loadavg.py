# -*- test-case-name: tests.test_loadavg -*-
"""
Per-VPS load averages, computed exactly as the kernel computes the host's
(kernel/sched/loadavg.c): every 5 seconds the number of runnable and
uninterruptible tasks is sampled and damped into 1, 5 and 15 minute
averages in 11-bit fixed point.
"""

from twisted.application.internet import TimerService
from twisted.logger import Logger

FSHIFT = 11
FIXED_1 = 1 << FSHIFT
#: exp(-5s/1min), exp(-5s/5min), exp(-5s/15min) in fixed point.
EXP_1, EXP_5, EXP_15 = 1884, 2014, 2037
SAMPLE_INTERVAL = 5.0


def calcLoad(load, exp, active):
    """
    One damping step, as the kernel's C{calc_load}.

    @param active: the sampled count in fixed point (tasks << FSHIFT).
    """
    newload = load * exp + active * (FIXED_1 - exp)
    if active >= load:
        newload += FIXED_1 - 1
    return newload // FIXED_1


def formatLoad(load):
    """
    Format a fixed-point load as /proc/loadavg does (rounded, 2 decimals).
    """
    load += FIXED_1 // 200
    return "%d.%02d" % (load >> FSHIFT,
                        ((load & (FIXED_1 - 1)) * 100) >> FSHIFT)


class LoadAverage:
    """
    The three damped averages of one VPS.
    """

    def __init__(self):
        self.averages = [0, 0, 0]

    def sample(self, tasks):
        """
        Fold in one sample of C{tasks} runnable or uninterruptible tasks.
        """
        active = tasks * FIXED_1
        self.averages = [calcLoad(load, exp, active) for load, exp in
                         zip(self.averages, (EXP_1, EXP_5, EXP_15))]

    def asStrings(self):
        """
        @return: C{{"1m", "5m", "15m"}} as strings, as vx.load returns.
        """
        return dict(zip(("1m", "5m", "15m"),
                        (formatLoad(x) for x in self.averages)))


class LoadTracker(TimerService):
    """
    Samples every running VPS every 5 seconds.

    @param sampler: a callable returning a Deferred firing with a dict from
        VPS name to its count of R and D tasks (running VPSes only).
    """

    log = Logger()

    def __init__(self, sampler, clock):
        TimerService.__init__(self, SAMPLE_INTERVAL, self._sample)
        self.clock = clock
        self.sampler = sampler
        self.loads = {}

    def _sample(self):
        d = self.sampler()
        d.addCallback(self._record)
        d.addErrback(lambda f: self.log.failure("load sampling failed", f))
        return d

    def _record(self, counts):
        for name in list(self.loads):
            if name not in counts:
                del self.loads[name]
        for name, tasks in counts.items():
            self.loads.setdefault(name, LoadAverage()).sample(tasks)

    def load(self, name):
        """
        @return: the load of VPS C{name} as strings (zeros if unknown).
        """
        return self.loads.get(name, LoadAverage()).asStrings()

    def forget(self, name):
        """
        Drop the history of a VPS (it stopped or was renamed).
        """
        self.loads.pop(name, None)
