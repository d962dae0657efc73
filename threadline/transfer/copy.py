"""`threadline copy`: a whole installation from one database into an empty other one.

Every table the schema declares is streamed in batches (memory stays flat), in one target
transaction that commits only after each table's row count and checksum match the source's: a
copy that fails or does not verify leaves the target as empty as it was. The source is read in
one snapshot (SQLite's read transaction, PostgreSQL's REPEATABLE READ) and never written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Connection, Table, func, inspect, select, text
from sqlalchemy.engine import Row

from threadline.errors import BadRequest, Conflict
from threadline.store.engine import Database, describe_url, normalize_url, open_database
from threadline.store.migrate import head_revision, stored_revision, upgrade
from threadline.store.search_text import TRIGGER_KEPT_TABLES
from threadline.store.tables import changes, metadata, store_identity

BATCH_ROWS = 2_000
PROGRESS_ROWS = 200_000  # a line on stderr this often within a long table
# Each database keeps its own random identity: a columnar copy made from the source must not be
# taken for one made from the target (threadline.analytics rebuilds it from the target).
# The full-text index of messages and the map of their conversations are filled by the
# target's own triggers (store.search_text).
_NOT_COPIED = {store_identity.name, "alembic_version", *TRIGGER_KEPT_TABLES}
_CHECKSUM_MODULUS = 1 << 256
_encode = msgspec.json.Encoder(order="sorted").encode


@dataclasses.dataclass(frozen=True)
class TableReport:
    """One table's rows and checksum, as read from the source and from the target."""

    name: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_checksum) == (self.target_rows, self.target_checksum)


@dataclasses.dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    revision: str
    tables: list[TableReport]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(table.ok for table in self.tables)

    @property
    def rows(self) -> int:
        return sum(table.target_rows for table in self.tables)


class CopyMismatch(Conflict):
    """The target did not read back what was written (the copy was rolled back)."""

    def __init__(self, report: CopyReport) -> None:
        bad = ", ".join(t.name for t in report.tables if not t.ok)
        super().__init__(f"the copy did not verify ({bad}); nothing was committed")
        self.report = report


def copy_tables() -> list[Table]:
    """The tables copied, parents before children; `changes` last, after the tables whose
    triggers fill it on the target have been written (their entries are replaced by the
    source's own, so the change log is the same row for row)."""
    tables = [t for t in metadata.sorted_tables if t.name not in _NOT_COPIED and t is not changes]
    return [*tables, changes]


def copy_database(
    source_url: str,
    target_url: str,
    *,
    batch_rows: int = BATCH_ROWS,
    say: Callable[[str], None] = lambda _: None,
) -> CopyReport:
    """Copy everything in `source_url` into the empty `target_url` (migrated here if needed)."""
    _check_exists(source_url)
    source = open_database(source_url, read_pool_size=1)
    target = open_database(target_url, read_pool_size=1)
    try:
        if _same_database(source, target):
            raise BadRequest("--from and --to name the same database")
        revision = _check_source(source)
        _check_target_schema(target, revision)
        upgrade(target.writer)
        started = time.perf_counter()
        with _snapshot(source) as reading, target.writer.begin() as writing:
            _check_empty(writing)
            reports = [
                _copy_table(table, reading, writing, batch_rows, say) for table in copy_tables()
            ]
            if writing.dialect.name == "postgresql":
                _advance_sequences(writing)
            report = CopyReport(
                source=describe_url(source.url),
                target=describe_url(target.url),
                revision=revision,
                tables=reports,
                seconds=time.perf_counter() - started,
            )
            if not report.ok:
                raise CopyMismatch(report)  # leaving the block rolls the target back
        return report
    finally:
        source.dispose()
        target.dispose()


def _check_exists(url: str) -> None:
    """Opening a SQLite file that is not there would create it: a typo must change nothing."""
    parsed = normalize_url(url)
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:"):
        return
    if not Path(path).expanduser().is_file():
        raise BadRequest(f"--from {url}: no such file")


def _same_database(source: Database, target: Database) -> bool:
    def key(database: Database) -> tuple[str, Any, Any, Any]:
        url = database.url
        if url.get_backend_name() == "sqlite":
            path = url.database or ""
            return ("sqlite", str(Path(path).expanduser().resolve()) if path else "", None, None)
        return (url.get_backend_name(), url.host, url.port or 5432, url.database)

    return key(source) == key(target)


def _check_source(source: Database) -> str:
    with source.reader.connect() as connection:
        revision = stored_revision(connection)
        names = set(inspect(connection).get_table_names())
    head = head_revision()
    if revision is None:
        raise BadRequest(f"{describe_url(source.url)} holds no threadline schema to copy")
    if revision != head:
        raise BadRequest(
            f"the source's schema is at revision {revision}, this threadline's at {head}: "
            "migrate the source first (threadline migrate --database-url SOURCE), "
            "or copy with the threadline version that wrote it"
        )
    unknown = names - {t.name for t in metadata.sorted_tables} - _NOT_COPIED
    if unknown:
        raise BadRequest(f"the source has tables this threadline does not know: {sorted(unknown)}")
    return revision


@contextlib.contextmanager
def _snapshot(source: Database) -> Iterator[Connection]:
    """A connection reading the source as of one moment, for the whole copy."""
    with source.reader.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin() as transaction:
            if postgres:
                connection.execute(text("SET TRANSACTION READ ONLY"))
            yield connection
            transaction.rollback()


def _check_target_schema(target: Database, revision: str) -> None:
    """A target with a schema must be at the source's revision: migrating it first and then
    refusing it for holding data would change a database the copy was not allowed to fill."""
    with target.writer.connect() as connection:
        held = stored_revision(connection)
        if held is not None and held != revision:
            raise Conflict(
                f"the target's schema is at revision {held}, the source's at {revision}: "
                "copy into an empty database (createdb, or a new SQLite file)"
            )
        if held is not None:
            _check_empty(connection)


def _check_empty(connection: Connection) -> None:
    held = {}
    for table in copy_tables():
        rows = connection.execute(select(func.count()).select_from(table)).scalar_one()
        if rows:
            held[table.name] = rows
    if held:
        listed = ", ".join(f"{name}: {rows:,} rows" for name, rows in held.items())
        raise Conflict(
            f"the target already holds data ({listed}); copy only fills an empty database: "
            "create a new one (createdb, or a new SQLite file) and copy into that"
        )


def _copy_table(
    table: Table,
    reading: Connection,
    writing: Connection,
    batch_rows: int,
    say: Callable[[str], None],
) -> TableReport:
    started = time.perf_counter()
    if table is changes:
        # The target's triggers logged the rows just copied; the source's log replaces that.
        writing.execute(changes.delete())
    source_rows, source_sum = 0, 0
    for batch in _batches(reading, table, batch_rows):
        values = [row._asdict() for row in batch]
        writing.execute(table.insert(), values)
        source_rows += len(values)
        source_sum = _add(source_sum, batch)
        if source_rows % PROGRESS_ROWS < len(values):
            say(f"  {table.name}: {source_rows:,} rows ...")
    target_rows, target_sum = 0, 0
    for batch in _batches(writing, table, batch_rows):
        target_rows += len(batch)
        target_sum = _add(target_sum, batch)
    seconds = time.perf_counter() - started
    say(f"  {table.name}: {source_rows:,} rows in {seconds:.1f} s")
    return TableReport(
        table.name,
        source_rows,
        target_rows,
        _hex(source_sum, source_rows),
        _hex(target_sum, target_rows),
    )


def _batches(connection: Connection, table: Table, size: int) -> Iterable[Sequence[Row[Any]]]:
    statement = select(*table.columns).order_by(*table.primary_key.columns)
    # On the statement, not the connection: a connection's options would stay on it and turn
    # the target's inserts into server-side cursors too.
    result = connection.execute(statement.execution_options(yield_per=size))
    yield from result.partitions()


def _add(total: int, rows: Sequence[Row[Any]]) -> int:
    """The checksum is the sum of the rows' SHA-256 values: independent of row order, which
    differs between backends for text keys (PostgreSQL's collation, SQLite's bytes)."""
    for row in rows:
        digest = hashlib.sha256(_encode(list(row))).digest()
        total = (total + int.from_bytes(digest, "big")) % _CHECKSUM_MODULUS
    return total


def _hex(total: int, rows: int) -> str:
    return f"{total:064x}"[:16] if rows else "-"


def _advance_sequences(connection: Connection) -> None:
    """Explicit ids do not move PostgreSQL's sequences: start them after the copied rows."""
    for table in copy_tables():
        column = table.autoincrement_column
        if column is None:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f"(SELECT COALESCE(MAX({column.name}), 0) FROM {table.name}) + 1, false)"
            )
        )


def format_report(report: CopyReport) -> str:
    """The verification table `threadline copy` prints."""
    width = max(len(t.name) for t in report.tables)
    lines = [
        f"{'table':<{width}}  {'source rows':>11}  {'target rows':>11}  {'checksum':<16}  verified",
    ]
    for t in report.tables:
        lines.append(
            f"{t.name:<{width}}  {t.source_rows:>11,}  {t.target_rows:>11,}  "
            f"{t.target_checksum:<16}  {'ok' if t.ok else 'MISMATCH'}"
        )
    lines.append(f"schema revision: {report.revision} (both)")
    return "\n".join(lines)
