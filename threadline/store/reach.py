"""Reaching the database at start: one clear line when it cannot be reached, and a bounded wait
with back-off for containers that start the database and threadline together."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError

from threadline.store.engine import describe_url, open_database

# Waits between attempts: doubling from the first, never more than the last.
FIRST_PAUSE_SECONDS = 0.25
LONGEST_PAUSE_SECONDS = 5.0


class DatabaseUnreachable(Exception):
    """The database could not be reached; the message is one line naming it and the failure."""


def _reason(exc: BaseException) -> str:
    """The first line of what the driver said ("connection refused"), not a traceback."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def try_database(url: str) -> str | None:
    """None if a connection to the database opens and answers; else why not, in one line."""
    try:
        database = open_database(url, read_pool_size=1)
    except (OSError, ArgumentError, ValueError) as exc:  # a bad URL; a directory not made
        return _reason(exc)
    try:
        with database.reader.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (DBAPIError, OSError) as exc:
        return _reason(exc)
    finally:
        database.dispose()
    return None


def wait_for_database(
    url: str,
    seconds: float,
    *,
    on_retry: Callable[[str, float], None] = lambda _reason, _pause: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Returns once the database answers; tries again, pausing ever longer, until `seconds`
    have passed (0: one attempt); then raises DatabaseUnreachable. `on_retry(reason, pause)`
    is told of each failed attempt that will be retried."""
    deadline = clock() + seconds
    pause = FIRST_PAUSE_SECONDS
    attempts = 0
    while True:
        attempts += 1
        reason = try_database(url)
        if reason is None:
            return
        left = deadline - clock()
        if left <= 0:
            break
        on_retry(reason, min(pause, left))
        sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
    tried = f" (tried {attempts} times in {seconds:g} s)" if attempts > 1 else ""
    raise DatabaseUnreachable(f"cannot reach the database {_where(url)}: {reason}{tried}")


def _where(url: str) -> str:
    try:
        return describe_url(make_url(url))
    except (ArgumentError, ValueError):
        return "(its URL cannot be read)"
