"""Which Sql a connection needs: SQLite, PostgreSQL, or the columnar copy's DuckDB.

The dispatch lives here, above the dialect modules, so the base module (sql.py) never imports
one of its own subclasses.
"""

from __future__ import annotations

from sqlalchemy import Connection

from threadline.query.sql import PostgresSql, Sql, SqliteSql
from threadline.query.sql_duckdb import DuckDbSql


def sql_for(dialect_name: str) -> Sql:
    return PostgresSql() if dialect_name == "postgresql" else SqliteSql()


def sql_of(connection: Connection) -> Sql:
    """The SQL for this connection: on the columnar copy, knowing which JSON keys it shredded
    and whether it keeps rollups (the copy's engine carries both as execution options)."""
    if connection.dialect.name == "duckdb":
        options = connection.get_execution_options()
        rollups = options.get("threadline_rollups") is not None
        return DuckDbSql(
            options.get("threadline_shredded"), event_counts=rollups, kept_searches=rollups
        )
    return sql_for(connection.dialect.name)
