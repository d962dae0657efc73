"""Timestamps are stored as integer microseconds since the Unix epoch (UTC) and sent as RFC 3339.

Integers compare, index and bucket the same way on SQLite and PostgreSQL, which keeps the
query compiler dialect-neutral.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    # Millisecond precision, like the timestamps JavaScript clients send.
    return time.time_ns() // 1_000_000 * 1000


def to_us(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_iso(us: int) -> str:
    """RFC 3339 in UTC with Z, milliseconds like JavaScript's toISOString (reference §2.3);
    microseconds only where the client sent them."""
    value = _EPOCH + timedelta(microseconds=us)
    if value.microsecond % 1000:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
