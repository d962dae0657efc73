"""Bulk loading of prepared rows, bypassing the writer thread: for `threadline demo` and bench/.

SQLite gets plain executemany on one connection with load-time pragmas (no fsync, a large
cache), restored to threadline's own when the load ends; PostgreSQL gets COPY. Rows are tuples
in the order of the columns named, JSON columns already encoded as text.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select

from threadline.store.engine import Database
from threadline.store.search_text import CONVERSATION_INDEX
from threadline.store.tables import (
    api_keys,
    conversations,
    events,
    feedback,
    idempotency_keys,
    insight_subjects,
    insights_queue,
    integrations,
    messages,
    project_settings,
    projects,
    semantic_threads,
    thread_vectors,
)

_BATCH = 50_000
# During the load only: a crash mid-load loses the load, which is simply run again.
_SQLITE_LOAD_PRAGMAS = (
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-524288",  # 512 MiB: the indexes being filled stay in memory
    "PRAGMA temp_store=MEMORY",
)
# threadline's settings (store/engine.py), put back on the pooled connection afterwards.
_SQLITE_SERVE_PRAGMAS = ("PRAGMA synchronous=FULL", "PRAGMA cache_size=-2000")


class BulkWriter:
    """Writes rows into tables through one raw driver connection."""

    def __init__(self, driver_connection: Any, dialect: str) -> None:
        self._connection = driver_connection
        self._dialect = dialect

    def write(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        if self._dialect == "postgresql":
            return self._copy(table, columns, rows)
        return self._insert(table, columns, rows)

    def _insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        written = 0
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, _BATCH)):
            self._connection.execute("BEGIN")
            self._connection.executemany(statement, batch)
            self._connection.execute("COMMIT")
            written += len(batch)
        return written

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        quoted = ", ".join(f'"{name}"' for name in columns)
        written = 0
        with (
            self._connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                written += 1
        self._connection.commit()
        return written


@contextlib.contextmanager
def bulk_writer(database: Database) -> Iterator[BulkWriter]:
    """A BulkWriter on the writer engine's connection; afterwards SQLite's pragmas are restored
    and its WAL checkpointed, PostgreSQL's new tables vacuumed and analysed (as autovacuum
    would do after such a load, so the first queries get good plans), and its conversation
    documents rewritten: each message loaded appended to its conversation's document through
    the trigger of migration 0018, leaving two dead row versions of three in a heap that a
    text search's count reads whole (docs/performance.md, i-pgsearch)."""
    raw = database.writer.raw_connection()
    driver: Any = raw.driver_connection
    try:
        if database.dialect == "postgresql":
            yield BulkWriter(driver, "postgresql")
            driver.autocommit = True
            try:
                driver.execute(f"VACUUM FULL {CONVERSATION_INDEX}")
                driver.execute("VACUUM ANALYZE")
            finally:
                driver.autocommit = False
        else:
            for pragma in _SQLITE_LOAD_PRAGMAS:
                driver.execute(pragma)
            try:
                yield BulkWriter(driver, "sqlite")
            finally:
                for pragma in _SQLITE_SERVE_PRAGMAS:
                    driver.execute(pragma)
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


# Children before parents, for deleting a project.
_PROJECT_TABLES = (
    # The insight pipeline's own state of the project (tests/demo checks every table with a
    # project_id is here: a --reset must not leave vectors, subjects or a queue behind).
    thread_vectors,
    insight_subjects,
    insights_queue,
    project_settings,
    semantic_threads,
    idempotency_keys,
    events,
    feedback,
    messages,
    conversations,
    api_keys,
    integrations,
)


def find_project(connection: Connection, name: str) -> str | None:
    return connection.execute(select(projects.c.id).where(projects.c.name == name)).scalar()


def event_count(connection: Connection, project_id: str) -> int:
    query = select(func.count()).select_from(events).where(events.c.project_id == project_id)
    return int(connection.execute(query).scalar() or 0)


def has_threads(connection: Connection, project_id: str) -> bool:
    """Whether the insight pipeline has labelled any of the project's conversations."""
    query = select(semantic_threads.c.id).where(semantic_threads.c.project_id == project_id)
    return connection.execute(query.limit(1)).first() is not None


def newest_updates_since(connection: Connection, project_id: str, newest: int) -> int | None:
    """The updated_at of the project's `newest`-th most recently updated conversation (None
    when it has fewer): labelling from there on covers at most `newest` conversations."""
    c = conversations.c
    query = (
        select(c.updated_at)
        .where(c.project_id == project_id)
        .order_by(c.updated_at.desc())
        .offset(newest - 1)
        .limit(1)
    )
    found = connection.execute(query).scalar()
    return None if found is None else int(found)


def delete_project(connection: Connection, project_id: str) -> None:
    """The project, its keys and integrations, and every row it owns."""
    for table in _PROJECT_TABLES:
        connection.execute(delete(table).where(table.c.project_id == project_id))
    connection.execute(delete(projects).where(projects.c.id == project_id))
