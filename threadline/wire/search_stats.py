"""Responses of the search statistics, GET /query/top-search-queries and
GET /query/weekly-search-users (reference §8.3, §8.4): snake_case keys, counts as strings."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

# Counts are numeric text on this wire, unlike the query language's numbers (reference §10.16).
CountText = Annotated[str, Meta(pattern="^[0-9]+$", description="A count, as decimal text.")]


class TopSearchQuery(Struct, kw_only=True):
    """One search query and how often it was searched."""

    search_query: str
    count: CountText


class TopSearchQueriesData(Struct, kw_only=True):
    result: list[TopSearchQuery]
    # Distinct queries matching, of which `result` holds the 100 most searched.
    total: int


class TopSearchQueries(Struct, kw_only=True):
    """200 body of GET /query/top-search-queries; no `status` key (reference §8.3)."""

    data: TopSearchQueriesData


class WeeklySearchUsersRow(Struct, kw_only=True):
    """Distinct searching users in one week (Monday 00:00 UTC to the next Monday)."""

    week: Annotated[str, Meta(description="The week's Monday, YYYY-MM-DD (UTC).")]
    unique_users: CountText


class WeeklySearchUsersData(Struct, kw_only=True):
    result: list[WeeklySearchUsersRow]
    # The number of weeks in `result`.
    total: int


class WeeklySearchUsers(Struct, kw_only=True):
    """200 body of GET /query/weekly-search-users; no `status` key (reference §8.4)."""

    data: WeeklySearchUsersData
