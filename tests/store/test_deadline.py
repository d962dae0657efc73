"""Read deadlines stop a statement inside the database (SQLite, PostgreSQL, DuckDB) and leave the
connection as it was: the next statement on it runs, unbounded. Each long statement below only
ends early if the deadline stops it, so nothing here depends on how fast the machine is."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from threadline.errors import QueryTimeout
from threadline.store.deadline import Deadline, bounded
from threadline.store.engine import Database

# Minutes of work each (if nothing stopped them, the test would fail on pytest's timeout).
LONG = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(600)",
    "duckdb": "SELECT count(*) FROM range(1000000000000000)",
}
# Tens of milliseconds of VM work: stopped if a handler or watchdog were left behind.
MEDIUM = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(0.1)",
    "duckdb": "SELECT count(*) FROM range(100000000) WHERE range % 7 = 3",
}
# Rows one at a time, forever (on both primary backends): for a fetch stopped after the first
# rows came.
ENDLESS_ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"


def test_a_statement_past_its_deadline_is_stopped_and_the_connection_still_works(
    read_engine: Engine,
) -> None:
    with read_engine.connect() as connection:
        backend = connection.dialect.name
        with pytest.raises(QueryTimeout) as raised, bounded(connection, 0.05):
            connection.execute(text(LONG[backend])).all()
        assert raised.value.status == 422
        assert "0.05 s" in raised.value.detail
        connection.rollback()
        # The deadline passed long ago: nothing of it may stop this one.
        assert connection.execute(text(MEDIUM[backend])).all()
        if backend == "postgresql":
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"


def test_a_read_that_starts_a_statement_after_its_deadline_is_stopped_before_it(
    read_engine: Engine,
) -> None:
    with read_engine.connect() as connection, Deadline(connection, 1e-9) as deadline:
        with pytest.raises(QueryTimeout), deadline.running():
            connection.execute(text("SELECT 1"))
        assert deadline.fired


def test_a_fetch_is_stopped_after_the_first_rows_came(db: Database) -> None:
    with db.reader.connect() as connection, Deadline(connection, 0.05) as deadline:
        streaming = connection.execution_options(stream_results=True, yield_per=100)
        with deadline.running():
            result = streaming.execute(text(ENDLESS_ROWS))
            first = result.fetchmany(100)
        assert [row[0] for row in first] == list(range(1, 101))
        with pytest.raises(QueryTimeout), deadline.running():
            while result.fetchmany(100_000):
                pass
    with db.reader.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_no_limit_installs_nothing(db: Database) -> None:
    with db.reader.connect() as connection, bounded(connection, 0):
        assert connection.execute(text(MEDIUM[connection.dialect.name])).all()
