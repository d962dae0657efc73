"""Running a read's independent statements at once on the columnar copy.

A dashboard page is 8-21 statements, each a few to tens of milliseconds on the copy; one after
another they add up (docs/performance.md). DuckDB runs statements of several cursors (one per
thread) at the same time and releases the GIL while it works, so on the copy each part runs on
a connection of its own, in a thread of its own. SQLite and PostgreSQL answer one statement
at a time per connection, and a read holds one: there the parts run one after another.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from threadline.store.deadline import deadline_of

# Most parts of one read running at once: each holds a pooled DuckDB cursor, and a few reads
# (THREADLINE_MAX_CONCURRENT_QUERIES) may fan out at the same time.
WIDTH = 4

Part = Callable[[Connection], Any]


def _run_part(connection: Connection, part: Part) -> Any:
    """One part on a connection of its own from the same engine (the copy's execution options
    come with it), bounded by the read's deadline."""
    deadline = deadline_of(connection)
    with connection.engine.connect() as own, contextlib.ExitStack() as stack:
        if deadline is not None:
            shared = stack.enter_context(deadline.joined(own))
            stack.enter_context(shared.running())
        return part(own)


def concurrently(connection: Connection, parts: Sequence[Part]) -> list[Any]:
    """part(connection) of each part, in order: at once on the columnar copy, one after another
    on `connection` elsewhere. An error of any part is raised (after the others have ended)."""
    if connection.dialect.name != "duckdb" or len(parts) < 2:
        return [part(connection) for part in parts]
    width = min(WIDTH, len(parts))
    with concurrent.futures.ThreadPoolExecutor(width, "threadline-read") as pool:
        futures = [pool.submit(_run_part, connection, part) for part in parts]
        concurrent.futures.wait(futures)
    return [future.result() for future in futures]
