"""Search statistics over the searches people made (reference §8.3, §8.4): query.searches
says which search events those are, keystrokes folded into the query typed.

All are computed so that SQLite and PostgreSQL give the same answer: weeks are bucketed with
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

from threadline.query.dialects import sql_of
from threadline.query.searchers import searcher_sets, weekly_searchers
from threadline.query.searches import clicked_queries, search_rows, searches_made
from threadline.timestamps import MONDAY_US, WEEK_US

TOP_QUERIES = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def _searched(
    connection: Connection, project_id: str, after: int | None, before: int | None
) -> list[tuple[str, int, int]]:
    """(exact text, searches, first searched at) of the searches people made; one row per
    exact text, far fewer than the searches."""
    made = searches_made(sql_of(connection), project_id, after, before)
    statement = select(made.c.text, func.count(), func.min(made.c.at)).group_by(made.c.text)
    return [(text, count, first) for text, count, first in connection.execute(statement)]


def _ranked(queries: dict[str, _Query], limit: int) -> list[tuple[str, int]]:
    """The `limit` most searched as (shown spelling, count), ties by the case-folded text."""
    top = heapq.nsmallest(limit, queries.items(), key=lambda item: (-item[1].count, item[0]))
    return [(query.shown(), query.count) for _, query in top]


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
    queries = _merge(_searched(connection, project_id, after, before))
    return _ranked(queries, limit), len(queries)


def _week_start(created: ColumnElement[int]) -> ColumnElement[int]:
    """The Monday 00:00 UTC (microseconds) starting the week of `created`.

    SQLite and PostgreSQL both truncate integer % toward zero; adding a week and taking % again
    keeps the offset in [0, week) for timestamps before 1970 too.
    """
    into_week = ((created - MONDAY_US) % WEEK_US + WEEK_US) % WEEK_US
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
    On the columnar copy the weeks are unions of its per-day sets of searchers.
    """
    sets = searcher_sets(connection)
    if sets is not None:
        weeks = weekly_searchers(connection, sets, project_id, after, before)
        return [(week_label(week), users) for week, users in weeks]
    # Keystrokes need no folding here: folding drops a person's prefixes, never the person.
    typed = search_rows(sql_of(connection), project_id, after, before)
    searches = select(
        _week_start(typed.c.at).label("week"), typed.c.who.label("user_id")
    ).subquery()
    # Grouped outside the subquery: PostgreSQL binds each literal of the bucket expression as its
    # own parameter, and would not see the SELECT and GROUP BY expressions as the same one.
    statement = (
        select(searches.c.week, func.count(distinct(searches.c.user_id)))
        .group_by(searches.c.week)
        .order_by(searches.c.week)
    )
    return [(week_label(week), users) for week, users in connection.execute(statement)]


@dataclasses.dataclass(frozen=True)
class UnclickedQueries:
    """Searched queries no result click followed: (shown spelling, searches), most searched
    first; how many such queries there are; and every exact text they were searched with."""

    top: list[tuple[str, int]]
    total: int
    texts: list[str]


def _clicked(
    connection: Connection, project_id: str, after: int | None, before: int | None
) -> set[str]:
    """The case-folded spellings of the queries a result was clicked for."""
    statement = clicked_queries(sql_of(connection), project_id, after, before)
    return {spelling(text).casefold() for text in connection.scalars(statement)}


def _unclicked(
    searched: list[tuple[str, int, int]], clicked: set[str], limit: int
) -> UnclickedQueries:
    queries = {key: q for key, q in _merge(searched).items() if key not in clicked}
    texts = sorted({text for text, _, _ in searched if spelling(text).casefold() in queries})
    return UnclickedQueries(_ranked(queries, limit), len(queries), texts)


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
    searched = _searched(connection, project_id, after, before)
    return _unclicked(searched, _clicked(connection, project_id, after, before), limit)


@dataclasses.dataclass(frozen=True)
class SearchPage:
    """Everything the dashboard's search page shows, as the functions above answer it."""

    top: list[tuple[str, int]]
    distinct: int
    weeks: list[tuple[str, int]]
    unclicked: UnclickedQueries


def search_page(
    connection: Connection,
    *,
    project_id: str,
    after: int | None,
    before: int | None = None,
    limit: int = TOP_QUERIES,
) -> SearchPage:
    """The top queries, searching users per week and queries with no click, in one read: the
    searches per text are counted once for both tables of queries."""
    searched = _searched(connection, project_id, after, before)
    queries = _merge(searched)
    return SearchPage(
        top=_ranked(queries, limit),
        distinct=len(queries),
        weeks=weekly_search_users(connection, project_id=project_id, after=after, before=before),
        unclicked=_unclicked(searched, _clicked(connection, project_id, after, before), limit),
    )
