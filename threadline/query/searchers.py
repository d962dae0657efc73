"""Searching users per week on the columnar copy, from its per-day sets of searchers
(analytics.rollups.SearcherDays): a week's people are the union of its days' sets, exact,
rather than a distinct count over every search of the range. A week with a day the range cuts
(a bound inside it: the viewer's midnight in another timezone, an `after` at a time of day) is
counted from the kept searches instead: the first and last weeks at most, a week of rows each.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection, distinct, func, select

from threadline.query.searches import SEARCHES, kept_conditions
from threadline.timestamps import DAY_US, WEEK_US, week_start

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
    cut = {week_start(low) for low, _ in parts}  # the first and last weeks, at most
    together: dict[int, list[Any]] = {}
    for day, (_, people) in sets.searcher_days(project_id, start, end).items():
        if week_start(day) not in cut:
            together.setdefault(week_start(day), []).append(people)
    weeks = {week: len(sets_[0].union(*sets_[1:])) for week, sets_ in together.items()}
    for week in cut:
        low = week if after is None else max(after, week)
        high = week + WEEK_US if before is None else min(before, week + WEEK_US)
        found = _counted(connection, project_id, low, high)
        if found is not None:
            weeks[week] = found
    return sorted(weeks.items())


def _counted(connection: Connection, project_id: str, low: int, high: int) -> int | None:
    """Distinct people searching in [low, high) (a week's part), from the kept searches; None
    when there was no search then."""
    kept = SEARCHES.c
    statement = select(func.count(), func.count(distinct(kept.who))).where(
        *kept_conditions(project_id, low, high, click=False)
    )
    searches, people = connection.execute(statement).one()
    return int(people) if searches else None
