"""Moving rows from the primary store into the columnar copy.

Rows travel as NumPy columns that DuckDB scans in C (registered as a relation): text as object
arrays (JSON columns as the text the primary holds, never parsed in Python), integers and
booleans as int64 with a null mask where needed. Python only slices the driver's tuples into
columns; DuckDB casts, inserts and shreds. A sync (analytics.columnar) and a build
(analytics.build) both load this way; the sync's rows went through a JSON document and
read_json before, which cost the sync twice the CPU (docs/performance.md, issue 14 session 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import duckdb
import numpy as np
from sqlalchemy import Connection, Select, Table, Text, select
from sqlalchemy import cast as sql_cast

from threadline.analytics.schema import JSON_COLUMNS, READ_TYPES
from threadline.analytics.shred import Shredded

_INTEGERS = ("BIGINT", "BOOLEAN")


def rows_select(table: Table) -> Select[Any]:
    """Every column of `table`, JSON columns as their text (so nothing parses them)."""
    json_columns = JSON_COLUMNS[table.name]
    return select(
        *(
            sql_cast(column, Text).label(column.name) if column.name in json_columns else column
            for column in table.columns
        )
    )


def fetch(connection: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of a rows_select() statement as the driver's own tuples: none of their
    columns needs a result processor (integers, booleans, text; JSON as text), and NumPy
    turns tuples into columns in C, where it probes each SQLAlchemy Row slowly."""
    result = connection.execute(statement)
    try:
        return cast(list[tuple[Any, ...]], result.cursor.fetchall())
    finally:
        result.close()


def columns(table_name: str, rows: Sequence[Sequence[Any]]) -> dict[str, np.ndarray[Any, Any]]:
    """Rows (in the primary's column order) as NumPy columns DuckDB can scan: text as object
    arrays; integers and booleans as int64 (an object array of ints would be typed by DuckDB
    from a sample of its first values), with a `<name>__null` mask beside those that hold
    NULLs."""
    matrix = np.array(rows, dtype=object)
    found: dict[str, np.ndarray[Any, Any]] = {}
    for i, (name, kind) in enumerate(READ_TYPES[table_name].items()):
        values = matrix[:, i]
        if kind not in _INTEGERS:
            found[name] = values
            continue
        nulls = cast(Any, np.equal)(values, None)
        if nulls.any():
            found[f"{name}__null"] = nulls
            values = np.where(nulls, 0, values)
        found[name] = values.astype(np.int64)
    return found


def insert_columns(
    cursor: duckdb.DuckDBPyConnection,
    table_name: str,
    chunk: dict[str, np.ndarray[Any, Any]],
    shredded: Shredded,
) -> None:
    """Appends one chunk (from columns()) to the copy of table_name, shredded keys filled."""
    masked = frozenset(name for name in READ_TYPES[table_name] if f"{name}__null" in chunk)
    cursor.register("chunk", chunk)
    try:
        insert_from(cursor, table_name, "chunk", shredded, masked)
    finally:
        cursor.unregister("chunk")


def insert_from(
    cursor: duckdb.DuckDBPyConnection,
    table_name: str,
    relation: str,
    shredded: Shredded,
    masked: frozenset[str] = frozenset(),
) -> None:
    """Appends the rows of `relation` (SQL for a relation with the table's columns, under
    their names, of any type that casts to theirs) to the copy of table_name, shredded keys
    filled. `masked`: columns with a `<name>__null` mask beside them (columns())."""
    names = list(READ_TYPES[table_name])
    typed = []
    for name, kind in READ_TYPES[table_name].items():
        value = f"CAST({name} AS {kind})"
        if name in masked:
            value = f"CASE WHEN {name}__null THEN NULL ELSE {value} END"
        typed.append(f"{value} AS {name}")
    source = f"(SELECT {', '.join(typed)} FROM {relation})"
    extractions = shredded.extractions(table_name)
    if extractions:
        targets = names + [name for name, _ in shredded.columns(table_name)]
        values = [f"r.{name}" for name in names] + shredded.expressions(table_name, "r")
        source = f"(SELECT *, {', '.join(extractions)} FROM {source})"
    else:
        targets = values = names
    cursor.execute(
        f"INSERT INTO {table_name} ({', '.join(targets)}) "
        f"SELECT {', '.join(values)} FROM {source} AS r"
    )


def insert(
    cursor: duckdb.DuckDBPyConnection,
    table_name: str,
    rows: Sequence[Sequence[Any]],
    shredded: Shredded,
) -> None:
    """Appends rows (tuples in the primary's column order) to the copy of table_name, with
    the shredded keys' columns filled from one parse of each JSON document."""
    if rows:
        insert_columns(cursor, table_name, columns(table_name, rows), shredded)


def create_tables(cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
    """The copy's tables, made anew (what they held is dropped)."""
    for name, types in READ_TYPES.items():
        found = [*types.items(), *shredded.columns(name)]
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in found)})")
