"""The columnar copy's tables: the primary's columns, under the same names, without constraints
or indexes (DuckDB scans columns; keys only slow its loads down). The query compiler's
statements, built on threadline.store.tables, therefore run on the copy unchanged."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column

from threadline.store import tables

# Followed through the `changes` log (they are updated and deleted); events only grow.
CHANGING = {
    t.name: t
    for t in (tables.conversations, tables.messages, tables.feedback, tables.semantic_threads)
}
MIRRORED = (*CHANGING.values(), tables.events)

# Where the copy is: how far it has followed each primary table, and which database it is a
# copy of. Updated in the same DuckDB transaction as the rows, so the two never disagree.
STATE_DDL = "CREATE TABLE IF NOT EXISTS columnar_state (name VARCHAR PRIMARY KEY, value VARCHAR)"


def _duckdb_type(column: Column[object]) -> str:
    kind = column.type
    if isinstance(kind, JSON):
        return "JSON"
    if isinstance(kind, Boolean):
        return "BOOLEAN"
    return "BIGINT" if kind.python_type is int else "VARCHAR"


# Each copied table's columns and their DuckDB types, in the primary's order: the copy's DDL,
# and the types the rows handed over as numpy columns are cast to (analytics.load), so DuckDB
# neither guesses them nor parses JSON columns.
READ_TYPES = {table.name: {c.name: _duckdb_type(c) for c in table.columns} for table in MIRRORED}
# The copied columns, as kept in the copy's state: a copy made before a migration changed them
# is rebuilt rather than followed (it has no place for a new column's values).
COLUMNS = ";".join(f"{name}:{','.join(types)}" for name, types in READ_TYPES.items())
JSON_COLUMNS = {
    table.name: frozenset(c.name for c in table.columns if isinstance(c.type, JSON))
    for table in MIRRORED
}
