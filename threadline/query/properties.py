"""Property discovery for filter pickers (reference §8.1, §8.2): the keys seen in a JSON field,
and the values seen under one key, across the views asked for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from msgspec import UNSET
from sqlalchemy import Connection

from threadline.errors import Unprocessable
from threadline.query.catalogue import VIEWS_BY_WIRE_NAME, View
from threadline.query.compile import QueryCompiler, normalize_json_text
from threadline.query.dialects import sql_of
from threadline.query.filters import refuse
from threadline.wire.query import PropertyKeysQuery, PropertyValuesQuery

MAX_KEYS = 1000
# Distinct values read per view before merging; the most frequent come first.
MAX_VALUES_PER_VIEW = 10_000


def _fields_named(node: Any) -> Iterator[str]:
    if node.condition is not UNSET:
        yield node.condition.field
    for child in [*(node.and_ or ()), *(node.or_ or ())]:
        yield from _fields_named(child)


def _compilers(
    connection: Connection, body: PropertyKeysQuery | PropertyValuesQuery, project_id: str
) -> Iterator[tuple[View, QueryCompiler]]:
    """A compiler per view asked for (all four by default) that has every field the filter
    names: `where` may mention fields of one view only (reference §8.1)."""
    names = dict.fromkeys(body.views) if body.views else VIEWS_BY_WIRE_NAME
    where = None if body.where is UNSET else body.where
    needed = set() if where is None else set(_fields_named(where))
    sql = sql_of(connection)
    usable = [VIEWS_BY_WIRE_NAME[n] for n in names if needed <= set(VIEWS_BY_WIRE_NAME[n].fields)]
    if not usable:
        raise refuse(
            Unprocessable,
            "$.where",
            "no view asked for has every field this filter names: " + ", ".join(sorted(needed)),
        )
    for view in usable:
        yield view, QueryCompiler(view, sql, body, project_id)


def property_keys(connection: Connection, *, body: PropertyKeysQuery, project_id: str) -> list[str]:
    keys: set[str] = set()
    for view, compiler in _compilers(connection, body, project_id):
        field = view.field(body.field)
        statement = compiler.object_keys(field).limit(MAX_KEYS + len(field.undiscovered_keys))
        keys.update(set(connection.execute(statement).scalars()) - field.undiscovered_keys)
    return sorted(keys)[:MAX_KEYS]


def property_values(
    connection: Connection, *, body: PropertyValuesQuery, project_id: str
) -> list[str]:
    """The most frequent values first (ties in code-point order), at most body.limit."""
    counts: Counter[str] = Counter()
    for view, compiler in _compilers(connection, body, project_id):
        statement = compiler.key_values(view.field(body.field), body.key)
        statement = statement.order_by(statement.selected_columns.rows.desc()).limit(
            MAX_VALUES_PER_VIEW
        )
        for value, rows in connection.execute(statement):
            counts[normalize_json_text(value)] += rows
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked[: body.limit]]
