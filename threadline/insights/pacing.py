"""How long the insight worker rests after each step, so that ingest keeps its speed.

The worker beside `threadline serve` works THREADLINE_INSIGHTS_CPU_SHARE of the time while it has
a backlog (0.5 by default), resting in proportion after each step. That alone cost single-event
ingest 3-21 % on two cores when wrk, the server and the worker all wanted them (docs/insights.md,
"Quiet figures on the merged code"). So the child also watches the server that started it: while
the server has used at least BUSY_CORES of CPU since the last step, the worker drops to
MIN_CPU_SHARE, giving the server back its cores. It never stops: a backlog still shrinks under
a long burst, only more slowly, and a quiet server gets the full share again at the next step.

The server's CPU is read from /proc (Linux). Where there is none, or for `threadline insights
work`, which has no server of its own to watch, the share stays as configured.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

# The least share of its time a worker works (THREADLINE_INSIGHTS_CPU_SHARE below it is read
# as this), and its share while the server is busy: rests stay a few times a step's length.
MIN_CPU_SHARE = 0.1
# The server counts as busy when it used this many cores on average since the last step: an
# idle server and one answering a dashboard now and then stay far below; one taking ingest as
# fast as it can uses about one.
BUSY_CORES = 0.5

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def rest_after(worked: float, cpu_share: float) -> float:
    """Seconds to rest after `worked` seconds of work, to work `cpu_share` of the time."""
    return worked * (1.0 - cpu_share) / cpu_share


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (its threads included), or None where
    /proc does not tell (not Linux, or the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class Pacing:
    """The rest after each step: `cpu_share` of the time while the watched server is quiet,
    MIN_CPU_SHARE while it is busy."""

    def __init__(
        self,
        cpu_share: float,
        server_pid: int | None = None,
        *,
        server_cpu: Callable[[int], float | None] = process_cpu_seconds,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cpu_share = min(max(cpu_share, MIN_CPU_SHARE), 1.0)
        self._server_pid = server_pid
        self._server_cpu = server_cpu
        self._clock = clock
        self._last: tuple[float, float] | None = self._sample()

    def _sample(self) -> tuple[float, float] | None:
        if self._server_pid is None:
            return None
        used = self._server_cpu(self._server_pid)
        return None if used is None else (self._clock(), used)

    def server_busy(self) -> bool:
        """Whether the server used BUSY_CORES or more since the last look (and looks again)."""
        before, now = self._last, self._sample()
        self._last = now
        if before is None or now is None or now[0] <= before[0]:
            return False
        return (now[1] - before[1]) / (now[0] - before[0]) >= BUSY_CORES

    def idled(self) -> None:
        """The worker waited with nothing to do: the server's use meanwhile does not count."""
        self._last = self._sample()

    def rest_after(self, worked: float) -> float:
        """Seconds to rest after a step of `worked` seconds."""
        share = MIN_CPU_SHARE if self.server_busy() else self.cpu_share
        return rest_after(worked, share)
