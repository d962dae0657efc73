"""Counting events from the columnar copy's rollup of event counts (analytics.rollups
EventCounts: events per project, quarter hour, entity type, type and integration) instead of
the events themselves: ten or more events are one row there.

A query may be counted so when everything it filters and groups on is kept in the rollup:
eventType, type, integrationId, projectId/organizationId, and createdAt compared with bounds on
a quarter hour (so each quarter hour is wholly in or out; buckets of an hour, a day, a week or
a month are whole quarter hours too). The compiler then reads the same columns from the rollup
and sums its counts instead of counting rows (query.compile); answers are the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msgspec import UNSET
from sqlalchemy import BigInteger, Column, ColumnElement, MetaData, String, Table
from sqlalchemy.sql.visitors import iterate, replacement_traverse

from threadline.query.filters import time_value
from threadline.store.tables import events

QUARTER_US = 15 * 60 * 1_000_000
# The events' columns the rollup keeps, under the same names; created_at is the start of the
# quarter hour, `events` how many there were (deltas: analytics.rollups compacts them).
EVENT_COUNTS = Table(
    "rollup_event_counts",
    MetaData(),
    Column("project_id", String),
    Column("entity_type", String),
    Column("type", String),
    Column("integration_id", String),
    Column("created_at", BigInteger),
    Column("events", BigInteger),
)
# The same per (project, quarter hour) alone, for a query that filters and groups on nothing
# else (all of a project's events per day, their total): tens of times fewer rows.
EVENT_TOTALS = Table(
    "rollup_event_totals",
    MetaData(),
    Column("project_id", String),
    Column("created_at", BigInteger),
    Column("events", BigInteger),
)
# Messages per (project, quarter hour of created_at): the dashboard's messages series.
MESSAGE_COUNTS = Table(
    "rollup_message_counts",
    MetaData(),
    Column("project_id", String),
    Column("created_at", BigInteger),
    Column("messages", BigInteger),
)
_KEPT_FIELDS = frozenset({"type", "eventType", "integrationId", "projectId", "organizationId"})
_TIME_BOUNDS = {"gte": 0, "lt": 0, "gt": 1, "lte": 1}  # operator -> what makes the bound


def countable(body: Any, *, grouped: bool) -> bool:
    """Whether the rollup can count this events query's rows (grouped: and its groups)."""
    if body.where not in (UNSET, None) and not _filter_kept(body.where):
        return False
    if not grouped:
        return True
    selections = [] if body.select in (UNSET, None) else body.select
    group_by = [] if body.groupBy in (UNSET, None) else body.groupBy
    return all(_selection_kept(s) for s in selections) and all(
        g.field in _KEPT_FIELDS and g.path is UNSET for g in group_by
    )


def _selection_kept(selection: Any) -> bool:
    kind = type(selection).__name__
    if kind.endswith("TimeSelection"):
        return selection.field in (UNSET, "createdAt")
    if kind.endswith("AggregationSelection"):
        # count(id) is the rows' count: an event always has an id.
        counts_rows = selection.field in (UNSET, "id") and selection.path is UNSET
        return bool(selection.aggregation == "count" and counts_rows)
    return bool(selection.field in _KEPT_FIELDS and selection.path is UNSET)


def _filter_kept(node: Any) -> bool:
    for children in (node.and_, node.or_):
        if children is not UNSET:
            return all(_filter_kept(child) for child in children)
    condition = node.condition
    if condition is UNSET:
        return False
    if condition.field in _KEPT_FIELDS:
        return True
    if condition.field != "createdAt" or condition.operator not in _TIME_BOUNDS:
        return False
    try:
        bound = time_value(condition.value, "$") + _TIME_BOUNDS[condition.operator]
    except Exception:  # the compiler reports a bad value; this only declines
        return False
    return bound % QUARTER_US == 0


def counts_table(expressions: Iterable[ColumnElement[Any]]) -> Table:
    """The rollup that can count rows with these conditions and groups: the totals when they
    read nothing but the project and the time, else the counts by type and integration."""
    read = {
        element.name
        for expression in expressions
        for element in iterate(expression)
        if isinstance(element, Column) and element.table is events
    }
    return EVENT_TOTALS if read <= {"project_id", "created_at"} else EVENT_COUNTS


def on_counts(expression: ColumnElement[Any], rollup: Table = EVENT_COUNTS) -> ColumnElement[Any]:
    """`expression` over the events, said over the rollup's columns of the same names."""

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, Column) and element.table is events:
            return rollup.c[element.name]
        return None

    replaced: ColumnElement[Any] = replacement_traverse(expression, {}, replace)
    return replaced
