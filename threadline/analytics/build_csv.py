"""Building the copy from PostgreSQL: each chunk of rows as CSV from COPY, read by DuckDB's own
CSV reader.

Rows handed over as NumPy columns of Python objects cost a build twice: the driver makes an
object per value, and DuckDB scans them holding the GIL, so the thread reading the next chunk
and the one inserting this one take turns rather than run together. PostgreSQL writes CSV in
its own process; Python only moves the bytes to a file, and DuckDB parses, casts and inserts
them in C without the GIL (docs/performance.md, issue 15 session 6). The values are those the
driver would have given: CSV keeps an empty text (quoted) apart from NULL (unquoted, nothing),
and JSON columns travel as their text (analytics.load.rows_select).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import duckdb
from sqlalchemy import Connection, Table, select

from threadline.analytics import load
from threadline.analytics.schema import READ_TYPES
from threadline.analytics.shred import Shredded

# CSV with control characters for delimiter and quote: JSON documents (most of a row) hold
# commas and quotes everywhere, which made PostgreSQL quote and double them and DuckDB undo it
# (a quarter of the insert's CPU); JSON escapes control characters, and a text that holds one
# is still quoted, so every value reads back as it was.
_FORMAT = "FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x01'"
# The longest CSV record DuckDB accepts (its default is 2 MB; a message can be longer).
MAX_RECORD_BYTES = 1 << 30


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A CSV file of the rows with seqs in (low, high] (high None: no bound)."""

    path: Path
    low: int
    high: int | None


def chunks(primary: Connection, table: Table, directory: Path, rows: int) -> Iterator[Chunk]:
    """Every row of `table` in seq order, `rows` at a time, each chunk a CSV file in
    `directory` (insert() deletes it)."""
    cursor = primary.connection.driver_connection.cursor()  # type: ignore[union-attr]
    low = 0
    try:
        for n in itertools.count():
            # The chunk's last seq, from the index alone: chunks of `rows` rows however sparse
            # the seqs are.
            high = primary.execute(
                select(table.c.seq)
                .where(table.c.seq > low)
                .order_by(table.c.seq)
                .offset(rows - 1)
                .limit(1)
            ).scalar()
            ranged = load.rows_select(table).where(table.c.seq > low)
            if high is not None:
                ranged = ranged.where(table.c.seq <= high)
            statement = ranged.order_by(table.c.seq).compile(
                dialect=primary.dialect, compile_kwargs={"literal_binds": True}
            )
            path = directory / f"{table.name}-{n}.csv"
            with (
                path.open("wb") as out,
                cursor.copy(f"COPY ({statement}) TO STDOUT ({_FORMAT})") as copy,
            ):
                out.writelines(copy)
            if path.stat().st_size:
                yield Chunk(path, low, None if high is None else int(high))
            else:
                path.unlink()
            if high is None:
                return
            low = int(high)
    finally:
        cursor.close()


def insert(
    cursor: duckdb.DuckDBPyConnection, table_name: str, chunk: Chunk, shredded: Shredded
) -> list[int]:
    """Appends the rows of a chunks() file to the copy of table_name, deletes the file, and
    returns their seqs, ascending."""
    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in READ_TYPES[table_name])
    quoted = str(chunk.path).replace("'", "''")
    relation = (
        f"read_csv('{quoted}', columns = {{{columns}}}, header = false, auto_detect = false, "
        "delim = chr(31), quote = chr(1), escape = chr(1), nullstr = '', "
        "allow_quoted_nulls = false, "
        f"strict_mode = true, max_line_size = {MAX_RECORD_BYTES})"
    )
    try:
        load.insert_from(cursor, table_name, relation, shredded)
    finally:
        chunk.path.unlink()
    bounds = "seq > ?" if chunk.high is None else "seq > ? AND seq <= ?"
    parameters = [chunk.low] if chunk.high is None else [chunk.low, chunk.high]
    found = cursor.execute(
        f"SELECT seq FROM {table_name} WHERE {bounds} ORDER BY seq", parameters
    ).fetchnumpy()["seq"]
    return cast(list[int], found.tolist())
