"""Searching users per week on the columnar copy, from its per-day sets of searchers
(analytics.rollups.SearcherDays): a week's people are the union of its days' sets, exact,
rather than a distinct count over every search of the range. A day the range cuts (a bound
inside it: the viewer's midnight in another timezone, an `after` at a time of day) is read from
the kept searches instead, its people coded as the sets code them.
"""

from __future__ import annotations

from typing import Any, Protocol

from pyroaring import FrozenBitMap
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, select

from threadline.query.searches import SEARCHES, kept_conditions
from threadline.timestamps import DAY_US, week_start

# The copy's dictionary of people (analytics.rollups): one integer code per distinct text.
CODES = Table("rollup_user_codes", MetaData(), Column("user_id", String), Column("code", Integer))
_NO_BOUND = 1 << 62


class SearcherSets(Protocol):
    """What analytics.rollups.Rollups offers readers."""

    def searcher_days(
        self, project_id: str, start: int, end: int
    ) -> dict[int, tuple[int, Any]]: ...


def searcher_sets(connection: Connection) -> SearcherSets | None:
    """The copy's sets, when the connection reads a copy that keeps them."""
    if connection.dialect.name != "duckdb":
        return None
    sets: SearcherSets | None = connection.get_execution_options().get("threadline_rollups")
    return sets


def _cut_days(after: int | None, before: int | None) -> tuple[int, int, list[tuple[int, int]]]:
    """The whole UTC days in [after, before), as [start, end), and the parts of days the
    bounds cut, each within one day (the range is not empty)."""
    if after is not None and before is not None and after // DAY_US == (before - 1) // DAY_US:
        whole_day = after % DAY_US == 0 and before - after == DAY_US
        return (after, before, []) if whole_day else (0, 0, [(after, before)])
    parts = []
    start, end = -_NO_BOUND, _NO_BOUND
    if after is not None:
        start = -(-after // DAY_US) * DAY_US  # the first midnight at or after it
        if after < start:
            parts.append((after, start))
    if before is not None:
        end = before // DAY_US * DAY_US  # the last midnight at or before it
        if end < before:
            parts.append((end, before))
    return start, end, parts


def weekly_searchers(
    connection: Connection,
    sets: SearcherSets,
    project_id: str,
    after: int | None,
    before: int | None,
) -> list[tuple[int, int]]:
    """(week start, distinct people searching) of each week with a search in the range,
    oldest first: query.search_stats.weekly_search_users on the copy."""
    if after is not None and before is not None and after >= before:
        return []
    start, end, parts = _cut_days(after, before)
    weeks: dict[int, list[Any]] = {}
    for day, (_, people) in sets.searcher_days(project_id, start, end).items():
        weeks.setdefault(week_start(day), []).append(people)
    for low, high in parts:
        found = _part(connection, project_id, low, high)
        if found is not None:
            weeks.setdefault(week_start(low), []).append(found)
    return [
        (week, len(together[0].union(*together[1:]))) for week, together in sorted(weeks.items())
    ]


def _part(connection: Connection, project_id: str, low: int, high: int) -> Any:
    """The people (their codes, as a set of the rollup's kind) searching in [low, high),
    within one day; None when nobody searched then."""
    kept = SEARCHES.c
    statement = (
        select(CODES.c.code)
        .select_from(SEARCHES.outerjoin(CODES, CODES.c.user_id == kept.who))
        .where(*kept_conditions(project_id, low, high, click=False))
        .distinct()
    )
    codes = list(connection.scalars(statement))
    if not codes:
        return None
    return FrozenBitMap(code for code in codes if code is not None)
