"""Hot INSERTs as plain SQL text run with tuples: no per-row work in SQLAlchemy.

SQLAlchemy's compiled inserts process every parameter of every row (type coercion, JSON
serialisation through a bind processor, dict-to-positional reshaping) and, for many rows with
RETURNING, build long multi-row statements that psycopg parses again each time. On the write
path those costs were larger than the database's own work (docs/performance.md, issue 14). Here
the SQL is built once per (table, dialect) and short enough for psycopg's prepared-statement
cache; rows are tuples in column order with JSON already encoded as text. It still runs through
`Connection.exec_driver_sql`, so driver errors are wrapped (and disconnects noticed) exactly as
for any other statement, and the writer's outage and retry rules hold unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import JSON, Connection, Table

_ENCODE = msgspec.json.encode
# Rows in one SQLite statement at most: 256 rows of the widest table (19 columns) bind 4,864
# values, well under SQLite's least limit (32,766 since 3.32).
MULTIROW_MAX = 256


@dataclasses.dataclass(frozen=True)
class PrebuiltInsert:
    """INSERT INTO table (columns) VALUES (…) [ON CONFLICT (keys) DO NOTHING], for executemany."""

    table: Table
    columns: tuple[str, ...]
    ignore_conflicts_on: tuple[str, ...] = ()

    @functools.cached_property
    def json_positions(self) -> tuple[int, ...]:
        # tables.Json is JSON with a JSONB variant: an instance of JSON on both backends.
        return tuple(
            i for i, name in enumerate(self.columns) if isinstance(self.table.c[name].type, JSON)
        )

    @functools.cache  # noqa: B019 -- two dialects at most; statements live as long as the process
    def sql(self, paramstyle: str, rows: int = 1) -> str:
        """The statement for `paramstyle`, with `rows` rows of values."""
        marker = "?" if paramstyle == "qmark" else "%s"
        names = ", ".join(f'"{name}"' for name in self.columns)
        row = f"({', '.join([marker] * len(self.columns))})"
        statement = f"INSERT INTO {self.table.name} ({names}) VALUES {', '.join([row] * rows)}"
        if self.ignore_conflicts_on:
            keys = ", ".join(self.ignore_conflicts_on)
            statement += f" ON CONFLICT ({keys}) DO NOTHING"
        return statement

    @functools.cached_property
    def _values(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        return operator.itemgetter(*self.columns)

    def parameters(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """The row's values in column order, JSON columns encoded."""
        values = list(self._values(row))
        # The text the engine's JSON serializer would have sent (store.engine encodes with
        # msgspec too); None stays SQL NULL, as the columns are none_as_null.
        for i in self.json_positions:
            value = values[i]
            if value is not None:
                values[i] = _ENCODE(value).decode()
        return tuple(values)

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert the rows (from `parameters`); how many were inserted (conflicts not counted)."""
        if not rows:
            return 0
        paramstyle = connection.dialect.paramstyle
        if paramstyle == "qmark" and len(rows) > 1:
            return self._execute_multirow(connection, rows)
        statement = self.sql(paramstyle)
        result = connection.exec_driver_sql(statement, list(rows) if len(rows) > 1 else rows[0])
        return int(result.rowcount)

    def _execute_multirow(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """SQLite: the rows in a few multi-row statements (powers of two, at most
        MULTIROW_MAX rows each), not an executemany. Python's sqlite3 lets go of the GIL
        around each step, once per row in an executemany, and while the event loop holds it
        the writer waited for it again after every row (docs/performance.md, issue 14 session
        4): one step per statement instead. Conflicts are skipped row by row within one
        statement as across statements, so the count inserted is the same."""
        inserted = 0
        start = 0
        while start < len(rows):
            size = min(MULTIROW_MAX, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start : start + size]
            values = tuple(itertools.chain.from_iterable(chunk))
            result = connection.exec_driver_sql(self.sql("qmark", size), values)
            inserted += int(result.rowcount)
            start += size
        return inserted
