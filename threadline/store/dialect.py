"""Prebuilt statements, including the few whose SQL differs between SQLite and PostgreSQL.

Statements are built once and executed with parameters: building one per row (`.values(**row)`)
costs more than the insert itself (coercion and cache keys, ~0.5 ms; see docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite


def _insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@functools.cache
def _insert_ignore(dialect: str, table: Table, keys: tuple[str, ...], returning: bool) -> Any:
    statement = _insert(dialect, table).on_conflict_do_nothing(index_elements=list(keys))
    return statement.returning(*table.c) if returning else statement


def insert_ignore(
    connection: Connection, table: Table, keys: Iterable[str], *, returning: bool = True
) -> Any:
    """INSERT … ON CONFLICT (keys) DO NOTHING [RETURNING *]; execute it with the row."""
    return _insert_ignore(connection.dialect.name, table, tuple(keys), returning)


@functools.cache
def _insert_or_update(
    dialect: str, table: Table, keys: tuple[str, ...], update: frozenset[str]
) -> Any:
    statement = _insert(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: statement.excluded[column] for column in sorted(update)},
    ).returning(*table.c)


def insert_or_update(
    connection: Connection, table: Table, keys: Iterable[str], update: Iterable[str]
) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET <update columns from the new row> RETURNING *."""
    return _insert_or_update(connection.dialect.name, table, tuple(keys), frozenset(update))


@functools.cache
def update_where(table: Table, where: tuple[str, ...], columns: frozenset[str]) -> Any:
    """UPDATE table SET <columns> WHERE <where columns> = :w_<name> RETURNING *."""
    conditions = [table.c[name] == bindparam(f"w_{name}") for name in where]
    values: dict[str, Any] = {name: bindparam(name) for name in sorted(columns)}
    return table.update().where(*conditions).values(values).returning(*table.c)


@functools.cache
def select_where(table: Table, where: tuple[str, ...], order_by: str | None = None) -> Any:
    """SELECT * FROM table WHERE <where columns> = :w_<name> [ORDER BY order_by]."""
    statement = select(table).where(*(table.c[name] == bindparam(f"w_{name}") for name in where))
    return statement.order_by(table.c[order_by]) if order_by else statement


def where(**values: Any) -> dict[str, Any]:
    """Parameters for update_where / select_where."""
    return {f"w_{name}": value for name, value in values.items()}
