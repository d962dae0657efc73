"""Search statistics over the project's `search` events (reference §8.3, §8.4).

Both are computed so that SQLite and PostgreSQL give the same answer: weeks are bucketed with
integer arithmetic on microseconds, and query texts are compared and ordered in Python, never
by a database collation or a database's idea of upper and lower case.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, distinct, func, select

from threadline.store.tables import events

TOP_QUERIES = 100
DAY_US = 86_400 * 1_000_000
WEEK_US = 7 * DAY_US
# 1970-01-01 was a Thursday: shifted three days on, every Monday 00:00 UTC is a multiple of a week.
_MONDAY_SHIFT_US = 3 * DAY_US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _searches(
    project_id: str, after: int | None, before: int | None = None
) -> list[ColumnElement[bool]]:
    """The project's search events at or after `after` and before `before` (microseconds),
    where given (the API takes `after` only; the dashboard's date ranges have an end too)."""
    conditions = [events.c.project_id == project_id, events.c.entity_type == "search"]
    if after is not None:
        conditions.append(events.c.created_at >= after)
    if before is not None:
        conditions.append(events.c.created_at < before)
    return conditions


def spelling(text: str) -> str:
    """The query as shown: outer whitespace trimmed, inner runs of whitespace made one space."""
    return " ".join(text.split())


@dataclasses.dataclass
class _Query:
    """One normalised query and the spellings it was searched with."""

    count: int = 0
    # spelling -> (times searched, first searched at): the shown one is the most searched.
    spellings: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)

    def add(self, text: str, count: int, first: int) -> None:
        self.count += count
        seen, earliest = self.spellings.get(text, (0, first))
        self.spellings[text] = (seen + count, min(earliest, first))

    def shown(self) -> str:
        # Most searched spelling; on a tie the one searched first, then the lowest text.
        return min(self.spellings, key=lambda s: (-self.spellings[s][0], self.spellings[s][1], s))


def _merge(rows: Iterable[Any]) -> dict[str, _Query]:
    """Group (text, count, first) rows by the query's case-folded spelling; skip blank ones."""
    queries: dict[str, _Query] = {}
    for text, count, first in rows:
        shown = spelling(text)
        if shown:
            queries.setdefault(shown.casefold(), _Query()).add(shown, count, first)
    return queries


def top_search_queries(
    connection: Connection,
    *,
    project_id: str,
    after: int | None,
    before: int | None = None,
    limit: int = TOP_QUERIES,
) -> tuple[list[tuple[str, int]], int]:
    """The `limit` most searched queries as (shown spelling, count), most searched first, ties
    by the case-folded text; and the number of distinct queries.

    "Install ", "install" and "INSTALL" are one query: the database groups exact texts, and the
    few spellings of each query are merged here, with Python's full Unicode case folding (SQLite's
    lower() folds ASCII only, PostgreSQL's follows the server's locale).
    """
    statement = (
        select(events.c.search_query, func.count(), func.min(events.c.created_at))
        .where(*_searches(project_id, after, before), events.c.search_query != "")
        .group_by(events.c.search_query)
    )
    # Streamed: one row per exact text, held only until merged.
    queries = _merge(connection.execute(statement, execution_options={"yield_per": 1000}))
    top = heapq.nsmallest(limit, queries.items(), key=lambda item: (-item[1].count, item[0]))
    return [(query.shown(), query.count) for _, query in top], len(queries)


def _user() -> ColumnElement[Any]:
    """userProperties.userId, else userProperties.id, as text (42 and "42" are one user);
    NULL when neither is set or both are empty."""
    # as_string() is JSON_EXTRACT on SQLite and ->> on PostgreSQL, both cast to text, so a
    # number compares as its decimal text on both.
    user_id = func.nullif(events.c.user_properties["userId"].as_string(), "")
    any_id = func.nullif(events.c.user_properties["id"].as_string(), "")
    return func.coalesce(user_id, any_id)


def _week_start() -> ColumnElement[int]:
    """The Monday 00:00 UTC (microseconds) starting the week of created_at.

    SQLite and PostgreSQL both truncate integer % toward zero; adding a week and taking % again
    keeps the offset in [0, week) for timestamps before 1970 too.
    """
    created = events.c.created_at
    into_week = ((created + _MONDAY_SHIFT_US) % WEEK_US + WEEK_US) % WEEK_US
    return created - into_week


def week_label(start_us: int) -> str:
    """YYYY-MM-DD of the week's Monday (which JavaScript's Date parses as UTC midnight)."""
    return (_EPOCH + timedelta(microseconds=start_us)).date().isoformat()


def weekly_search_users(
    connection: Connection, *, project_id: str, after: int | None, before: int | None = None
) -> list[tuple[str, int]]:
    """(week, distinct searching users) for each week with a search, oldest first.

    A search whose userProperties name no user counts for no one, but its week is listed (with
    0 users if no search that week named one). Weeks without any search are not listed.
    """
    searches = (
        select(_week_start().label("week"), _user().label("user_id"))
        .where(*_searches(project_id, after, before))
        .subquery()
    )
    # Grouped outside the subquery: PostgreSQL binds each literal of the bucket expression as its
    # own parameter, and would not see the SELECT and GROUP BY expressions as the same one.
    statement = (
        select(searches.c.week, func.count(distinct(searches.c.user_id)))
        .group_by(searches.c.week)
        .order_by(searches.c.week)
    )
    return [(week_label(week), users) for week, users in connection.execute(statement)]


def _is_click(event_type: str) -> bool:
    # The widget's search_result_clicked (inkeep-widget.md §5), and any client's *_clicked.
    return "click" in event_type.casefold()


@dataclasses.dataclass(frozen=True)
class UnclickedQueries:
    """Searched queries no result click followed: (shown spelling, searches), most searched
    first; how many such queries there are; and every exact text they were searched with."""

    top: list[tuple[str, int]]
    total: int
    texts: list[str]


def unclicked_search_queries(
    connection: Connection,
    *,
    project_id: str,
    after: int | None,
    before: int | None = None,
    limit: int = TOP_QUERIES,
) -> UnclickedQueries:
    """Queries searched between `after` and `before` with no click on a result of the same query
    (after case folding, as top_search_queries compares queries) in that time."""
    statement = (
        select(events.c.search_query, events.c.type, func.count(), func.min(events.c.created_at))
        .where(*_searches(project_id, after, before), events.c.search_query != "")
        .group_by(events.c.search_query, events.c.type)
    )
    searched: list[tuple[str, int, int]] = []
    clicked: set[str] = set()
    for text, event_type, count, first in connection.execute(statement):
        if _is_click(event_type):
            clicked.add(spelling(text).casefold())
        else:
            searched.append((text, count, first))
    queries = {key: q for key, q in _merge(searched).items() if key not in clicked}
    top = heapq.nsmallest(limit, queries.items(), key=lambda item: (-item[1].count, item[0]))
    texts = sorted({text for text, _, _ in searched if spelling(text).casefold() in queries})
    return UnclickedQueries([(q.shown(), q.count) for _, q in top], len(queries), texts)
