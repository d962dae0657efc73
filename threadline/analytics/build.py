"""Building the columnar copy from scratch: every row of a primary table, in large chunks.

A sync moves a few rows at a time (analytics.load); a build moves millions, and there the
cost per row is what counts (docs/performance.md "Building the columnar copy"). So a build
reads SQLite with the database driver itself (no SQLAlchemy Row per row) and hands DuckDB each
chunk as NumPy columns (it scans them in C, no text format in between); PostgreSQL's rows come
as CSV from COPY, which DuckDB parses itself (analytics.build_csv). The next chunk is read
while DuckDB inserts and shreds the last one on its own threads (it releases the GIL).
"""

from __future__ import annotations

import concurrent.futures
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import duckdb
from sqlalchemy import Connection, Table, bindparam

from threadline.analytics import build_csv, load
from threadline.analytics.schema import READ_TYPES
from threadline.analytics.shred import Shredded

CHUNK_ROWS = 50_000  # rows per fetch and per DuckDB insert (tens of MB of Python objects)
# Rows a build commits at a time. DuckDB keeps the Python objects of every chunk scanned from
# NumPy until the transaction ends (its strings point into them): a build in one transaction
# held ~1.3 GB per million events, whatever the memory limit (docs/performance.md, issue 15
# session 5).
COMMIT_ROWS = 250_000
# Rows per CSV file of a build from PostgreSQL (no Python objects: ~100 MB of text for events).
CSV_CHUNK_ROWS = 250_000


def _chunks(primary: Connection, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """Every row of `table` in seq order, CHUNK_ROWS at a time, as the driver's tuples."""
    statement = (
        load.rows_select(table)
        .where(table.c.seq > bindparam("last"))
        .order_by(table.c.seq)
        .limit(CHUNK_ROWS)
    )
    compiled = statement.compile(dialect=primary.dialect)
    cursor = primary.connection.driver_connection.cursor()  # type: ignore[union-attr]
    seq_at = list(READ_TYPES[table.name]).index("seq")
    last = 0
    try:
        while True:
            params = compiled.construct_params({"last": last})
            if compiled.positional:
                cursor.execute(str(compiled), [params[name] for name in compiled.positiontup or ()])
            else:
                cursor.execute(str(compiled), params)
            rows = cursor.fetchall()
            if rows:
                yield rows
            if len(rows) < CHUNK_ROWS:
                return
            last = rows[-1][seq_at]
    finally:
        cursor.close()


def _checkpoint(cursor: duckdb.DuckDBPyConnection) -> None:
    """Writes what the build committed to the copy's file. Without it DuckDB kept every
    committed row group of the table being appended to in its memory (its WAL's), and a
    50M-event build ran out of the default 1 GB limit at ~35M events (docs/performance.md,
    issue 15 sessions 5 and 6)."""
    cursor.execute("CHECKPOINT")


def copy_table(
    cursor: duckdb.DuckDBPyConnection,
    primary: Connection,
    table: Table,
    shredded: Shredded,
    *,
    seen: Callable[[list[int]], None] | None = None,
) -> int:
    """Copies every row of `table` into its (empty) copy, in the cursor's transaction, which
    is committed and begun again every COMMIT_ROWS rows; returns how many. DuckDB inserts one
    chunk on a thread of its own while the next is read: from PostgreSQL as CSV
    (analytics.build_csv), from SQLite as the driver's rows. `seen` is told the seqs of each
    chunk, ascending."""
    if primary.dialect.name == "postgresql":
        with tempfile.TemporaryDirectory(prefix="threadline-build-") as directory:
            files = build_csv.chunks(primary, table, Path(directory), CSV_CHUNK_ROWS)
            return _copy(cursor, table.name, files, shredded, seen)
    columns = (load.columns(table.name, rows) for rows in _chunks(primary, table))
    return _copy(cursor, table.name, columns, shredded, seen)


def _copy(
    cursor: duckdb.DuckDBPyConnection,
    table_name: str,
    chunks: Iterator[Any],
    shredded: Shredded,
    seen: Callable[[list[int]], None] | None,
) -> int:
    """Inserts each chunk on the inserting thread while the next is read; returns the rows."""
    copied = uncommitted = 0
    with concurrent.futures.ThreadPoolExecutor(1, "threadline-columnar-build") as inserter:
        pending: concurrent.futures.Future[list[int]] | None = None
        for chunk in chunks:
            if pending is not None:
                inserted = pending.result()
                copied, uncommitted = copied + len(inserted), uncommitted + len(inserted)
                if seen is not None:
                    seen(inserted)
            committing = uncommitted >= COMMIT_ROWS
            if committing:
                uncommitted = 0
            pending = inserter.submit(_insert, cursor, table_name, chunk, shredded, committing)
        if pending is not None:
            inserted = pending.result()
            copied += len(inserted)
            if seen is not None:
                seen(inserted)
    return copied


def _insert(
    cursor: duckdb.DuckDBPyConnection,
    table_name: str,
    chunk: Any,
    shredded: Shredded,
    committing: bool,
) -> list[int]:
    """One chunk (NumPy columns, or a CSV file) on the inserting thread, after committing (and
    checkpointing) the rows before it if `committing`: the reading thread meanwhile fetches
    the next chunk (a checkpoint took as long as two chunks' inserts). Returns the chunk's
    seqs, ascending."""
    if committing:
        cursor.commit()
        _checkpoint(cursor)
        cursor.begin()
    if isinstance(chunk, build_csv.Chunk):
        return build_csv.insert(cursor, table_name, chunk, shredded)
    load.insert_columns(cursor, table_name, chunk, shredded)
    return cast(list[int], chunk["seq"].tolist())
