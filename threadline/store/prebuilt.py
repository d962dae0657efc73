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
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import JSON, Connection, Table

_ENCODE = msgspec.json.encode


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
    def sql(self, paramstyle: str) -> str:
        marker = "?" if paramstyle == "qmark" else "%s"
        names = ", ".join(f'"{name}"' for name in self.columns)
        values = ", ".join([marker] * len(self.columns))
        statement = f"INSERT INTO {self.table.name} ({names}) VALUES ({values})"
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
        statement = self.sql(connection.dialect.paramstyle)
        result = connection.exec_driver_sql(statement, list(rows) if len(rows) > 1 else rows[0])
        return int(result.rowcount)
