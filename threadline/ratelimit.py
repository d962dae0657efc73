"""Per-key rate limits: one token bucket per key, held in this process's memory.

Buckets are not shared, so with N instances behind a load balancer each enforces its own: a key
may make up to N times the configured rate in total.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from threadline.errors import TooManyRequests

# Buckets kept at most, least recently used forgotten first. A forgotten bucket comes back full,
# which is what the bucket of a key idle that long would have refilled to anyway.
_MAX_KEYS = 100_000


class RateLimiter:
    """`per_second` requests per key on average, up to `burst` at once (0: a second's worth)."""

    def __init__(
        self,
        per_second: float,
        burst: int = 0,
        *,
        max_keys: int = _MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive; without a limit, use no RateLimiter")
        self.per_second = per_second
        self.burst = burst if burst > 0 else max(1, math.ceil(per_second))
        self._max_keys = max_keys
        self._clock = clock
        # key -> (tokens left, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        # The event loop calls this, but so may worker threads; the OrderedDict must not tear.
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Takes a token from `key`'s bucket: 0.0 if it had one, else the seconds until it will."""
        with self._lock:
            now = self._clock()
            tokens, counted = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - counted) * self.per_second)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.per_second  # a refused request takes nothing
            self._buckets[key] = (tokens, now)  # re-inserted last: the most recently used
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return wait

    def check(self, key: str) -> None:
        """Passes, or raises TooManyRequests with Retry-After in whole seconds (at least 1)."""
        wait = self.take(key)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"This key is limited to {self.per_second:g} requests per second (bursts of "
                f"{self.burst}); retry in {retry_after} s.",
                retry_after=retry_after,
            )
