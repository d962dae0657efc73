"""When to retry and how long to wait: shared by the sync and asyncio clients.

A retry is only ever safe because every write carries an Idempotency-Key (threadline replays the
first answer) and a client id (events and feedback are stored once per id).
"""

from __future__ import annotations

import dataclasses
import random
from email.utils import parsedate_to_datetime
from time import time

import httpx

# 408/429/503 ask for a retry; 502/504 are proxies in front of a restarting server; 409 is
# threadline's "a request with this Idempotency-Key is still in progress".
RETRY_STATUSES = frozenset({408, 409, 429, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, `Retry-After` taking precedence when the server sends
    one; `attempts` tries in all (None: until `give_up_after` seconds have passed)."""

    attempts: int | None = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After beyond this is capped (a misconfigured proxy must not park the client).
    max_retry_after: float = 120.0
    give_up_after: float = 300.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        if response is not None:
            advised = retry_after(response)
            if advised is not None:
                return min(advised, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return float(ceiling * random.uniform(0.5, 1.0))

    def allows(self, attempt: int, elapsed: float) -> bool:
        """Whether another attempt may follow attempt number `attempt`."""
        if self.attempts is not None and attempt >= self.attempts:
            return False
        return elapsed < self.give_up_after


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (either form, RFC 9110 §10.2.3), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES
