"""A read's parts run at once on the columnar copy (DuckDB cursors, one per thread), one after
another on the primary store's connection; either way in order, under the read's deadline.

Concurrency is shown with a barrier both parts must reach while the other is still running:
run one after another, the first would wait at it alone and the barrier would break."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, text

from threadline.analytics.concurrent import concurrently
from threadline.errors import QueryTimeout
from threadline.store.deadline import bounded, deadline_of


def _number(n: int) -> Callable[[Connection], int]:
    def part(connection: Connection) -> int:
        return int(connection.execute(text(f"SELECT {n}")).scalar_one())

    return part


def test_answers_come_in_order(read_engine: Engine) -> None:
    with read_engine.connect() as connection:
        assert concurrently(connection, [_number(n) for n in range(7)]) == list(range(7))


def test_on_duckdb_the_parts_run_at_once_elsewhere_one_after_another(read_engine: Engine) -> None:
    barrier = threading.Barrier(2, timeout=10.0)
    used: list[Connection] = []

    def part(connection: Connection) -> bool:
        used.append(connection)
        connection.execute(text("SELECT 1")).all()
        if connection.dialect.name != "duckdb":
            return False
        barrier.wait()  # BrokenBarrierError unless the other part is running too
        return True

    with read_engine.connect() as connection:
        at_once = concurrently(connection, [part, part])
    if read_engine.dialect.name == "duckdb":
        assert at_once == [True, True]
        # The first part on the read's own connection, the other on one of its own.
        assert used[0] is not used[1] and connection in used
    else:
        assert at_once == [False, False]
        assert used == [connection, connection]


def test_the_parts_share_the_reads_deadline(read_engine: Engine) -> None:
    # Each part's statement would run for minutes unless the read's deadline stops it.
    long = {
        "duckdb": "SELECT count(*) FROM range(1000000000000000)",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT count(*) FROM c",
        "postgresql": "SELECT pg_sleep(600)",
    }[read_engine.dialect.name]

    def part(connection: Connection) -> None:
        connection.execute(text(long)).all()

    with read_engine.connect() as connection:
        with pytest.raises(QueryTimeout), bounded(connection, 0.2):
            assert deadline_of(connection) is not None
            concurrently(connection, [part, part])
        assert deadline_of(connection) is None
