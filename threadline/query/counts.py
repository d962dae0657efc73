"""Counting events from the columnar copy's rollup of event counts (analytics.rollups
CountDeltas: events per project, quarter hour, entity type, type and integration) instead of
the events themselves: ten or more events are one row there.

A query may be counted so when everything it filters and groups on is kept in the rollup:
eventType, type, integrationId, projectId/organizationId, and createdAt compared with bounds on
a quarter hour (so each quarter hour is wholly in or out; buckets of an hour, a day, a week or
a month are whole quarter hours too). The compiler then reads the same columns from the rollup
and sums its counts instead of counting rows (query.compile); answers are the same rows.

A query that reads nothing but the project and the time (all of a project's events per day, or
their total) sums EVENT_TOTALS instead: the same counts per (project, quarter hour) alone.

A second rollup (SEARCH_COUNTS) keeps the searchQuery too, per UTC day: the top search queries
(and counts filtered on a query's text) over whole days read ~14 times fewer rows than the
search events at 10M (docs/performance.md, issue 15 session 5). A query is counted from the
first rollup that keeps what it asks for.

A third (user_counts_table) counts each user's events for all time, by the shredded userId's
JSON type and text: the total of "this user's events" (`jsonContains {"userId": ...}`) is a
sum over its rows. It is used when every compiled condition reads only the columns it keeps
(reads_only): each of its rows stands for events alike in all of them, so a condition holds for
all of a row's events or for none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from msgspec import UNSET
from sqlalchemy import BigInteger, Column, ColumnElement, MetaData, String, Table
from sqlalchemy.sql.expression import ColumnClause, FromClause
from sqlalchemy.sql.visitors import iterate, replacement_traverse

from threadline.query.filters import time_value
from threadline.store.tables import events
from threadline.timestamps import DAY_US
from threadline.wire.query import TIME_UNITS

QUARTER_US = 15 * 60 * 1_000_000
ALL_TIME = 1 << 62  # the user counts' one period: created_at // ALL_TIME is 0 for any event
USER_KEY = "userId"  # of userProperties: whose events the user counts count
_KEPT = ("project_id", "entity_type", "type", "integration_id")


def _counts_table(name: str, *kept: str) -> Table:
    """The events' columns a rollup keeps, under the same names; created_at is the start of
    its period, `events` how many there were (deltas: analytics.rollups compacts them)."""
    return Table(
        name,
        MetaData(),
        *(Column(column, String) for column in kept),
        Column("created_at", BigInteger),
        Column("events", BigInteger),
    )


EVENT_COUNTS = _counts_table("rollup_event_counts", *_KEPT)  # per quarter hour
SEARCH_COUNTS = _counts_table("rollup_search_counts", *_KEPT, "search_query")  # per UTC day
# EVENT_COUNTS per (project, quarter hour) alone, for a query that filters and groups on nothing
# else (all of a project's events per day, their total): tens of times fewer rows.
EVENT_TOTALS = _counts_table("rollup_event_totals", "project_id")
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


@dataclasses.dataclass(frozen=True)
class _Rollup:
    table: Table
    fields: frozenset[str]  # the query fields it keeps
    period: int  # µs: time bounds must fall on one
    units: frozenset[str]  # the time buckets made of whole periods

    def counts(self, body: Any, *, grouped: bool) -> bool:
        """Whether it can count this events query's rows (grouped: and its groups)."""
        if body.where not in (UNSET, None) and not self._filter_kept(body.where):
            return False
        if not grouped:
            return True
        selections = [] if body.select in (UNSET, None) else body.select
        group_by = [] if body.groupBy in (UNSET, None) else body.groupBy
        return all(self._selection_kept(s) for s in selections) and all(
            g.field in self.fields and g.path is UNSET for g in group_by
        )

    def _selection_kept(self, selection: Any) -> bool:
        kind = type(selection).__name__
        if kind.endswith("TimeSelection"):
            return selection.field in (UNSET, "createdAt") and selection.timeUnit in self.units
        if kind.endswith("AggregationSelection"):
            # count(id) is the rows' count: an event always has an id.
            counts_rows = selection.field in (UNSET, "id") and selection.path is UNSET
            return bool(selection.aggregation == "count" and counts_rows)
        return bool(selection.field in self.fields and selection.path is UNSET)

    def _filter_kept(self, node: Any) -> bool:
        for children in (node.and_, node.or_):
            if children is not UNSET:
                return all(self._filter_kept(child) for child in children)
        condition = node.condition
        if condition is UNSET:
            return False
        if condition.field in self.fields:
            return True
        if condition.field != "createdAt" or condition.operator not in _TIME_BOUNDS:
            return False
        try:
            bound = time_value(condition.value, "$") + _TIME_BOUNDS[condition.operator]
        except Exception:  # the compiler reports a bad value; this only declines
            return False
        return bound % self.period == 0


_ROLLUPS = (
    _Rollup(EVENT_COUNTS, _KEPT_FIELDS, QUARTER_US, frozenset(TIME_UNITS)),
    # Weeks start on a Monday, months on their first day: whole UTC days.
    _Rollup(
        SEARCH_COUNTS, _KEPT_FIELDS | {"searchQuery"}, DAY_US, frozenset({"day", "week", "month"})
    ),
)


def counting_table(body: Any, *, grouped: bool) -> Table | None:
    """The rollup that can count this events query's rows (grouped: and its groups), if any."""
    return next((r.table for r in _ROLLUPS if r.counts(body, grouped=grouped)), None)


def narrowest(table: Table, expressions: Iterable[ColumnElement[Any]]) -> Table:
    """EVENT_TOTALS in place of EVENT_COUNTS when the query's conditions and groups
    (`expressions`) read nothing of the events but the project and the time."""
    if table is not EVENT_COUNTS:
        return table
    read = {
        element.name
        for expression in expressions
        for element in iterate(expression)
        if isinstance(element, ColumnClause) and element.table is events
    }
    return EVENT_TOTALS if read <= {"project_id", "created_at"} else table


def user_counts_table(kind: str, text: str) -> Table:
    """Events per project and user: `kind` and `text` name the copy's shredded columns of the
    userId's JSON type and text (analytics.shred)."""
    return _counts_table("rollup_user_counts", "project_id", kind, text)


def counts_rows_only(body: Any, *, grouped: bool) -> bool:
    """Whether the query counts rows and nothing else: its rows' total, or one count."""
    if not grouped:
        return True
    selections = [] if body.select in (UNSET, None) else body.select
    group_by = [] if body.groupBy in (UNSET, None) else body.groupBy
    return not group_by and all(
        type(s).__name__.endswith("AggregationSelection")
        and s.aggregation == "count"
        and s.field in (UNSET, "id")
        and s.path is UNSET
        for s in selections
    )


def reads_only(expression: ColumnElement[Any], table: Table) -> bool:
    """Whether `expression` reads no column but those of the events that `table` keeps under
    the same names (created_at aside: the period's start is not the event's time)."""
    kept = {c.name for c in table.columns} - {"created_at", "events"}
    return all(
        element.table is events and element.name in kept
        for element in iterate(expression)
        if isinstance(element, ColumnClause)
    ) and not any(isinstance(element, FromClause) for element in iterate(expression))


def on_counts(expression: ColumnElement[Any], table: Table) -> ColumnElement[Any]:
    """`expression` over the events, said over the rollup's columns of the same names (a
    shredded column too: it is a ColumnClause of the events)."""

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, ColumnClause) and element.table is events:
            return table.c[element.name]
        return None

    replaced: ColumnElement[Any] = replacement_traverse(expression, {}, replace)
    return replaced
