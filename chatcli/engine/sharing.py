"""Sharing the CPU: how many threads a reply should use, from what else is running now.

llama.cpp's OpenMP threads spin at the barriers between operations. With more runnable
threads than free cores every barrier waits for a time slice and generation collapses
(measured on 2 cores: two `chatcli ask` at 2 threads each ~22 tokens/s instead of ~110 alone,
and a reply beside one CPU-bound process a few tokens/s; with one thread each, ~99). So every
LOOK_EVERY_S the reply looks at how much CPU the rest of the machine used since the last look
(all cores' busy time from /proc/stat, less this process's own) and uses the cores left over,
at least one. Two chatcli replies settle at a share each; a lone reply uses every core.

The looks go by the clock, asked at every token: counted in tokens (one per 32, before), two
replies started together could spend 14 s at 2 tokens/s before their first look.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

LOOK_EVERY_S = 0.25
"""Time between two looks at the machine's load (a look costs ~30 µs; asking, a clock read).

Much shorter is too coarse: /proc/stat counts in ticks of 10 ms."""
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_s() -> float | None:
    """CPU seconds all cores have spent busy since boot (None where /proc/stat is missing)."""
    try:
        with open("/proc/stat", "rb") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / _TICKS


def own_cpu_s() -> float:
    """CPU seconds this process has used (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuShare:
    """Picks a reply's thread count from the CPU the other processes used lately."""

    cores: int
    """The most threads to use (the cores this process may run on)."""
    _last: tuple[float, float, float] | None = field(default=None, repr=False)
    _chosen: int = field(default=0, repr=False)

    def threads(self) -> int:
        """The cores the other processes left free since the last look (all of them at first)."""
        wall = time.monotonic()
        last = self._last
        if last is not None and wall - last[0] < LOOK_EVERY_S:
            return self._chosen
        busy = machine_busy_s()
        if busy is None:
            return self.cores
        now = (wall, busy, own_cpu_s())
        self._last = now
        if last is None:
            self._chosen = self.cores
        else:
            others = ((now[1] - last[1]) - (now[2] - last[2])) / (now[0] - last[0])
            self._chosen = max(1, min(self.cores, int(self.cores - max(0.0, others) + 0.5)))
        return self._chosen
