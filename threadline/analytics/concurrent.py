"""Running a read's independent statements at once on the columnar copy.

A dashboard page is 8-21 statements, each a few to tens of milliseconds on the copy; one after
another they add up (docs/performance.md). DuckDB runs statements of several cursors (one per
thread) at the same time and releases the GIL while it works, so on the copy the parts are
shared out between a few connections, each in a thread of its own. SQLite and PostgreSQL answer
one statement at a time per connection, and a read holds one: there the parts run one after
another.

Each cursor reads the copy as of its own first statement: a sync that commits while a page runs
may be in some of its parts and not in others (a chart and a table of one page a few events
apart, for a moment). Accepted: the copy is a second behind the primary anyway, and a page that
must agree with itself to the event (an export, a transcript) reads the primary store.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from threadline.store.deadline import deadline_of

# Cursors one read runs its parts on at once, each taking its share of the parts one after
# another. As many as the machine's cores: with 4 a 20-statement page was slower than one after
# another (threads and DuckDB's own workers outnumbered 2 cores; docs/performance.md).
WIDTH = 2

Part = Callable[[Connection], Any]


def _run_share(connection: Connection, parts: Sequence[Part]) -> list[Any]:
    """Parts one after another on a connection of their own from the same engine (the copy's
    execution options come with it), bounded by the read's deadline."""
    deadline = deadline_of(connection)
    with connection.engine.connect() as own, contextlib.ExitStack() as stack:
        if deadline is not None:
            shared = stack.enter_context(deadline.joined(own))
            stack.enter_context(shared.running())
        return [part(own) for part in parts]


def concurrently(connection: Connection, parts: Sequence[Part]) -> list[Any]:
    """part(connection) of each part, in order: on the columnar copy WIDTH cursors at once, each
    taking every WIDTH-th part (the first share on `connection` itself, so a read holds WIDTH
    cursors of the copy's pool, not WIDTH + 1); one after another on `connection` elsewhere.
    An error of any part is raised (after the others have ended)."""
    if connection.dialect.name != "duckdb" or len(parts) < 2:
        return [part(connection) for part in parts]
    width = min(WIDTH, len(parts))
    answers: list[Any] = [None] * len(parts)
    with concurrent.futures.ThreadPoolExecutor(width - 1, "threadline-read") as pool:
        futures = [pool.submit(_run_share, connection, parts[i::width]) for i in range(1, width)]
        # On leaving the block the pool waits for the other shares, also when this one raised.
        answers[0::width] = [part(connection) for part in parts[0::width]]
    for first, future in enumerate(futures, start=1):
        answers[first::width] = future.result()
    return answers
