"""Moving rows from the primary store into the columnar copy.

Rows travel as one JSON document per batch: msgspec writes it (JSON columns pass through as
the text the primary already holds, never parsed) and DuckDB's read_json reads it with the
column types given, which is several times faster than inserting row by row through the
driver. Python only shuttles bytes; both ends do the work in C.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

import duckdb
import msgspec
from sqlalchemy import Connection, Select, Table, Text, cast, select

from threadline.analytics.schema import JSON_COLUMNS, READ_TYPES
from threadline.analytics.shred import Shredded

_encoder = msgspec.json.Encoder()


def rows_select(table: Table) -> Select[Any]:
    """Every column of `table`, JSON columns as their text (so nothing parses them)."""
    json_columns = JSON_COLUMNS[table.name]
    return select(
        *(
            cast(column, Text).label(column.name) if column.name in json_columns else column
            for column in table.columns
        )
    )


def fetch(connection: Connection, statement: Select[Any]) -> list[Any]:
    return list(connection.execute(statement).all())


def _encode(table_name: str, rows: Sequence[Any]) -> bytes:
    names = list(READ_TYPES[table_name])
    json_columns = JSON_COLUMNS[table_name]
    documents = []
    for row in rows:
        document = {}
        for name, value in zip(names, row, strict=True):
            if name in json_columns and value is not None:
                value = msgspec.Raw(value.encode() if isinstance(value, str) else value)
            document[name] = value
        documents.append(document)
    return _encoder.encode(documents)


def insert(
    cursor: duckdb.DuckDBPyConnection,
    table_name: str,
    rows: Sequence[Any],
    shredded: Shredded,
) -> None:
    """Appends rows (tuples in the primary's column order) to the copy of table_name, with
    the shredded keys' columns filled from one parse of each JSON document."""
    if not rows:
        return
    payload = _encode(table_name, rows)
    names = list(READ_TYPES[table_name])
    types = ", ".join(f"{name}: '{kind}'" for name, kind in READ_TYPES[table_name].items())
    # The reader allocates buffers from maximum_object_size whatever the file's size (2 GiB for
    # 1 GiB): sized to this payload, a sync stays within THREADLINE_ANALYTICS_MEMORY_LIMIT.
    source = (
        f"read_json(?, format = 'array', columns = {{{types}}}, "
        f"maximum_object_size = {len(payload) + 1})"
    )
    extractions = shredded.extractions(table_name)
    if extractions:
        targets = names + [name for name, _ in shredded.columns(table_name)]
        values = [f"r.{name}" for name in names] + shredded.expressions(table_name, "r")
        source = f"(SELECT *, {', '.join(extractions)} FROM {source}) AS r"
    else:
        targets = values = names
    descriptor, path = tempfile.mkstemp(prefix="threadline-columnar-", suffix=".json")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(payload)
        cursor.execute(
            f"INSERT INTO {table_name} ({', '.join(targets)}) "
            f"SELECT {', '.join(values)} FROM {source}",
            [path],
        )
    finally:
        os.unlink(path)


def create_tables(cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
    """The copy's tables, made anew (what they held is dropped)."""
    for name, types in READ_TYPES.items():
        columns = [*types.items(), *shredded.columns(name)]
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
