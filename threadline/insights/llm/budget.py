"""How many threads the LLM labeller may send: a rate (requests per sliding minute) and a cost
cap (threads per UTC day). Beyond either, the thread is labelled locally instead; nothing waits."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

DAY_SECONDS = 86_400


class Budget:
    """Counts requests in this process. `clock` is wall time in seconds (injectable for tests)."""

    def __init__(
        self,
        *,
        per_minute: int,
        per_day: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self._clock = clock
        self._recent: collections.deque[float] = collections.deque()
        self._day = -1
        self._today = 0
        self._lock = threading.Lock()

    def take(self) -> str | None:
        """Spends one request and answers None, or answers why it may not be spent
        ("rate_limit" or "daily_cap") and spends nothing. A limit of 0 means no limit."""
        with self._lock:
            now = self._clock()
            day = int(now // DAY_SECONDS)
            if day != self._day:
                self._day, self._today = day, 0
            if self.per_day and self._today >= self.per_day:
                return "daily_cap"
            while self._recent and self._recent[0] <= now - 60:
                self._recent.popleft()
            if self.per_minute and len(self._recent) >= self.per_minute:
                return "rate_limit"
            self._recent.append(now)
            self._today += 1
            return None
