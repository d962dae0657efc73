"""Hot statements as plain SQL text run with tuples: no per-row work in SQLAlchemy.

SQLAlchemy's compiled inserts process every parameter of every row (type coercion, JSON
serialisation through a bind processor, dict-to-positional reshaping) and, for many rows with
RETURNING, build long multi-row statements that psycopg parses again each time. On the write
path those costs were larger than the database's own work (docs/performance.md, issue 14). Here
the SQL is built once per (table, dialect) and short enough for psycopg's prepared-statement
cache; rows are tuples in column order with JSON already encoded as text. They run on the
connection's own DBAPI cursor (`_execute`): `Connection.exec_driver_sql` built a result and its
metadata from the cursor's description on every call, 25 µs of a 30 µs read on SQLite and half
of one on PostgreSQL (docs/performance.md, issue 14 session 5). A driver error still goes
through the connection's own handler, so it is wrapped (and a disconnect noticed) exactly as for
any other statement, and the writer's outage and retry rules hold unchanged; the engine's
cursor events still see every statement.

Rows read back (`fetch_rows`: a RETURNING, a lock, the widget's re-posted messages) come as
dicts by column name with JSON columns decoded as SQLAlchemy's JSON type decodes them: psycopg
does it itself with the engine's deserializer (SQLAlchemy registers it as the connection's JSONB
loader), SQLite hands back the stored text, decoded here with the same msgspec decoder.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import JSON, Connection, Table
from sqlalchemy.exc import NoResultFound

_ENCODE = msgspec.json.encode
_DECODE = msgspec.json.decode
# Rows in one SQLite statement at most: 256 rows of the widest table (19 columns) bind 4,864
# values, well under SQLite's least limit (32,766 since 3.32).
MULTIROW_MAX = 256
# PostgreSQL: from this many rows on, psycopg's pipelined executemany costs the client less CPU
# than one multi-row statement (measured at 1, 2, 4, 8, 32 rows: issue 14 session 5).
PIPELINE_FROM = 3


@dataclasses.dataclass(frozen=True)
class PrebuiltInsert:
    """INSERT INTO table (columns) VALUES (…) [ON CONFLICT (keys) DO NOTHING], for executemany."""

    table: Table
    columns: tuple[str, ...]
    ignore_conflicts_on: tuple[str, ...] = ()
    # RETURNING these columns (`insert_returning`); one row at a time then.
    returning: tuple[str, ...] = ()

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
        if self.returning:
            returned = ", ".join(f'"{name}"' for name in self.returning)
            statement += f" RETURNING {returned}"
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

    def insert_returning(
        self, connection: Connection, row: tuple[Any, ...]
    ) -> dict[str, Any] | None:
        """Insert one row (from `parameters`); the `returning` columns of it as inserted, or
        None when a conflict skipped it."""
        statement = self.sql(connection.dialect.paramstyle)
        found = fetch_rows(connection, self.table, statement, row, self.returning)
        return found[0] if found else None

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert the rows (from `parameters`); how many were inserted (conflicts not counted)."""
        if not rows:
            return 0
        paramstyle = connection.dialect.paramstyle
        if len(rows) > 1 and (paramstyle == "qmark" or len(rows) < PIPELINE_FROM):
            return self._execute_multirow(connection, paramstyle, rows)
        statement = self.sql(paramstyle)
        if len(rows) > 1:
            return _execute(connection, statement, list(rows), many=True).rowcount
        return _execute(connection, statement, rows[0]).rowcount

    def _execute_multirow(
        self, connection: Connection, paramstyle: str, rows: Sequence[tuple[Any, ...]]
    ) -> int:
        """The rows in a few multi-row statements (powers of two, at most MULTIROW_MAX rows
        each), not an executemany. SQLite: Python's sqlite3 lets go of the GIL around each
        step, once per row in an executemany, and while the event loop holds it the writer
        waited for it again after every row (docs/performance.md, issue 14 session 4): one
        step per statement instead. PostgreSQL, a widget post's two new messages: psycopg's
        executemany enters and leaves pipeline mode, twice the client CPU of one statement
        (issue 14 session 5). Conflicts are skipped row by row within one statement as across
        statements, so the count inserted is the same."""
        inserted = 0
        start = 0
        while start < len(rows):
            size = min(MULTIROW_MAX, 1 << ((len(rows) - start).bit_length() - 1))
            chunk = rows[start : start + size]
            values = tuple(itertools.chain.from_iterable(chunk))
            inserted += _execute(connection, self.sql(paramstyle, size), values).rowcount
            start += size
        return inserted


class _Outcome(NamedTuple):
    rows: list[tuple[Any, ...]]
    rowcount: int


def _execute(
    connection: Connection,
    statement: str,
    parameters: Any,
    *,
    many: bool = False,
    fetch: bool = False,
) -> _Outcome:
    """Run a statement on the connection's DBAPI cursor: its rows (if `fetch`) and rowcount.
    Errors are the connection's to handle, as in its own execute."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        connection.dispatch.before_cursor_execute(
            connection, cursor, statement, parameters, None, many
        )
        if many:
            cursor.executemany(statement, parameters)
        else:
            cursor.execute(statement, parameters)
        # Not the cursor's description: psycopg builds an object per column for it, a fifth of
        # a widget post's writer CPU on PostgreSQL; the caller knows the columns it asked for.
        rows = list(cursor.fetchall()) if fetch else []
        return _Outcome(rows, int(cursor.rowcount))
    except BaseException as exc:
        connection._handle_dbapi_exception(exc, statement, parameters, cursor, None)
    finally:
        cursor.close()


def marker(connection: Connection) -> str:
    """The connection's driver's placeholder for one parameter."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


@functools.cache
def _names(table: Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.c)


@functools.cache
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(column.name for column in table.c if isinstance(column.type, JSON))


def scalar(connection: Connection, statement: str, parameters: Sequence[Any]) -> Any:
    """The first column of a statement's one row (written with the driver's placeholders)."""
    return _execute(connection, statement, tuple(parameters), fetch=True).rows[0][0]


def fetch_rows(
    connection: Connection,
    table: Table,
    statement: str,
    parameters: Sequence[Any],
    names: tuple[str, ...],
) -> list[dict[str, Any]]:
    """The rows of a statement on `table` (written with the driver's placeholders) that reads
    the columns `names`, in that order, as dicts by column name, JSON columns decoded as the
    engine's JSON type would decode them."""
    found = _execute(connection, statement, tuple(parameters), fetch=True)
    rows = [dict(zip(names, row, strict=True)) for row in found.rows]
    if connection.dialect.name != "sqlite":  # psycopg has decoded JSONB already
        return rows
    decoded = [name for name in names if name in _json_columns(table)]
    for row in rows:
        for name in decoded:
            value = row[name]
            if value is not None:
                row[name] = _DECODE(value)
    return rows


@dataclasses.dataclass(frozen=True)
class PrebuiltUpdate:
    """UPDATE table SET <columns> WHERE <keys> = … RETURNING *, one statement per set of columns."""

    table: Table
    keys: tuple[str, ...]

    @functools.cache  # noqa: B019 -- a few column sets per dialect; they live as long as the process
    def sql(self, placeholder: str, columns: tuple[str, ...]) -> str:
        values = ", ".join(f'"{name}" = {placeholder}' for name in columns)
        keys = " AND ".join(f'"{name}" = {placeholder}' for name in self.keys)
        returned = ", ".join(f'"{name}"' for name in _names(self.table))
        return f"UPDATE {self.table.name} SET {values} WHERE {keys} RETURNING {returned}"

    def execute(
        self, connection: Connection, changes: Mapping[str, Any], key: Sequence[Any]
    ) -> dict[str, Any]:
        """Apply `changes` (column: value, JSON columns as Python values) to the row `key`
        names; the row as it now is (NoResultFound, as `.one()`, if there is none)."""
        columns = tuple(sorted(changes))
        json_columns = _json_columns(self.table)
        values = [
            _ENCODE(value).decode() if name in json_columns and value is not None else value
            for name, value in ((name, changes[name]) for name in columns)
        ]
        statement = self.sql(marker(connection), columns)
        found = fetch_rows(connection, self.table, statement, [*values, *key], _names(self.table))
        if not found:
            raise NoResultFound(f"no {self.table.name} row to update")
        return found[0]


@dataclasses.dataclass(frozen=True)
class PrebuiltSelect:
    """SELECT * FROM table WHERE <keys> = … [AND <among> IN (…)], with FOR UPDATE on PostgreSQL
    when `lock` (SQLite's writer holds the whole database already)."""

    table: Table
    keys: tuple[str, ...]
    among: str | None = None
    lock: bool = False

    @functools.cache  # noqa: B019 -- per dialect and IN-list length; bounded by the post cap
    def sql(self, placeholder: str, dialect: str, among: int = 0) -> str:
        columns = ", ".join(f'"{name}"' for name in _names(self.table))
        conditions = [f'"{name}" = {placeholder}' for name in self.keys]
        if self.among is not None:
            conditions.append(f'"{self.among}" IN ({", ".join([placeholder] * among)})')
        statement = f"SELECT {columns} FROM {self.table.name} WHERE {' AND '.join(conditions)}"
        return statement + " FOR UPDATE" if self.lock and dialect == "postgresql" else statement

    def rows(
        self, connection: Connection, key: Sequence[Any], among: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """The rows with these key values (and, with `among`, one of those values)."""
        if self.among is not None and not among:
            return []
        statement = self.sql(marker(connection), connection.dialect.name, len(among))
        return fetch_rows(connection, self.table, statement, [*key, *among], _names(self.table))
