"""Answering distinct users per day, week, month or range from the columnar copy's per-day
rollup (analytics.rollups) instead of scanning events: the same rows, rendered by the same
CompiledQuery, so the answer is byte for byte the SQL's.

A query qualifies when it asks only for the events' count and countDistinct of
userProperties.userId, optionally per createdAt day/week/month, filtered only to whole UTC days
of createdAt and to eventType values; anything else (a filter on another field, a range that
cuts a day, an order by a count) is answered by SQL as before.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, Protocol

from msgspec import UNSET

from threadline.query.compile import PAGE_SIZE, CompiledQuery
from threadline.query.filters import time_value
from threadline.timestamps import DAY_US, week_start

USERS_KEY = "countDistinct_userProperties.userId"
COUNT_KEYS = ("count", "count_id")
_NO_END = 1 << 62
# Rows a query may be answered with: larger ones (a page and a total) are left to SQL.
MAX_ROWS = PAGE_SIZE - 1


class UserSets(Protocol):
    """What analytics.rollups.UserDays offers readers."""

    def days(
        self, project_id: str, entity_types: frozenset[str] | None, start: int, end: int
    ) -> dict[int, tuple[int, Any]]: ...


class _Unanswerable(Exception):
    """The query needs SQL."""


class _Shape:
    """What a qualifying query asks: the bucket unit (None: one row), the day range, the entity
    types and the direction of the buckets."""

    def __init__(self, body: Any) -> None:
        self.unit: str | None = None
        self.start = 0
        self.end = _NO_END
        self.entity_types: frozenset[str] | None = None
        self.descending = False
        self._select(body)
        if body.groupBy not in (UNSET, None) and body.groupBy:
            raise _Unanswerable
        if body.where not in (UNSET, None):
            self._where(body.where)
        self._order(body)

    def _select(self, body: Any) -> None:
        selections = [] if body.select in (UNSET, None) else body.select
        users = False
        for selection in selections:
            kind = type(selection).__name__
            if kind.endswith("TimeSelection"):
                if self.unit is not None or selection.field not in (UNSET, "createdAt"):
                    raise _Unanswerable
                if selection.timeUnit not in ("day", "week", "month"):
                    raise _Unanswerable
                self.unit = selection.timeUnit
            elif kind.endswith("AggregationSelection"):
                users = users or self._aggregation(selection)
            else:
                raise _Unanswerable
        if not users:
            raise _Unanswerable  # plain counts: SQL answers them fast already

    @staticmethod
    def _aggregation(selection: Any) -> bool:
        """Whether it is the users' count (else the events' count, or unanswerable)."""
        name, field, path = selection.aggregation, selection.field, selection.path
        if name == "countDistinct" and field == "userProperties" and path == ["userId"]:
            return True
        if name == "count" and path is UNSET and field in (UNSET, "id"):
            return False
        raise _Unanswerable

    def _where(self, node: Any) -> None:
        if node.or_ is not UNSET:
            raise _Unanswerable
        if node.and_ is not UNSET:
            for child in node.and_:
                self._where(child)
            return
        condition = node.condition
        if condition is UNSET:
            raise _Unanswerable
        if condition.field == "createdAt":
            self._time(condition.operator, condition.value)
        elif condition.field == "eventType" and condition.operator in ("eq", "in"):
            values = [condition.value] if condition.operator == "eq" else condition.value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise _Unanswerable
            wanted = frozenset(values)
            self.entity_types = wanted if self.entity_types is None else self.entity_types & wanted
        else:
            raise _Unanswerable

    def _time(self, operator: str, value: Any) -> None:
        at = time_value(value, "$.where")
        bound = {"gte": at, "gt": at + 1, "lt": at, "lte": at + 1}.get(operator)
        if bound is None or bound % DAY_US:
            raise _Unanswerable  # another operator, or a bound inside a day
        if operator in ("gte", "gt"):
            self.start = max(self.start, bound)
        else:
            self.end = min(self.end, bound)

    def _order(self, body: Any) -> None:
        entries = [] if body.orderBy in (UNSET, None) else body.orderBy
        for entry in entries:
            if self.unit is None or entry.field != f"createdAt_{self.unit}":
                raise _Unanswerable
        if entries:
            self.descending = entries[0].direction == "desc"


def _bucket(day: int, unit: str) -> int:
    if unit == "day":
        return day
    if unit == "week":
        return week_start(day)
    moment = dt.datetime.fromtimestamp(day // 1_000_000, dt.UTC)
    return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0)) * 1_000_000


def answer(
    sets: UserSets, compiled: CompiledQuery, body: Any, project_id: str
) -> list[dict[str, Any]] | None:
    """The query's rows from the rollup, or None when it does not qualify."""
    if compiled.view.name != "events":
        return None
    try:
        shape = _Shape(body)
    except _Unanswerable:
        return None
    days = sets.days(project_id, shape.entity_types, shape.start, shape.end)
    buckets: dict[int | None, tuple[int, list[Any]]] = {}
    for day, (count, users) in days.items():
        key = None if shape.unit is None else _bucket(day, shape.unit)
        total, together = buckets.get(key, (0, []))
        together.append(users)
        buckets[key] = (total + count, together)
    if shape.unit is None and not buckets:
        buckets[None] = (0, [])  # an aggregate over no rows is one row of zeros
    if len(buckets) > MAX_ROWS:
        return None
    rows = []
    for key in sorted(buckets, key=lambda k: k or 0, reverse=shape.descending):
        count, together = buckets[key]
        users = len(together[0].union(*together[1:])) if together else 0
        rows.append(compiled.render(tuple(_value(o, key, count, users) for o in compiled.outputs)))
    return rows


def _value(output: Any, bucket: int | None, count: int, users: int) -> Any:
    if output.bucket:
        return bucket
    return users if output.key == USERS_KEY else count
