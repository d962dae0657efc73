"""The search statistics: GET /query/top-search-queries (reference §8.3) and
GET /query/weekly-search-users (§8.4), over the key's project's search events."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.api.reads import analytic_read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import route
from threadline.auth import API_ONLY
from threadline.errors import BadRequest, FieldViolation
from threadline.query.search_stats import top_search_queries, weekly_search_users
from threadline.timestamps import to_us
from threadline.wire.common import Timestamp
from threadline.wire.search_stats import (
    TopSearchQueries,
    TopSearchQueriesData,
    TopSearchQuery,
    WeeklySearchUsers,
    WeeklySearchUsersData,
    WeeklySearchUsersRow,
)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A "+02:00" offset sent unencoded in a query string arrives as " 02:00" (form encoding).
_SPACED_OFFSET = re.compile(r"(.+:[0-9]{2}(?:\.[0-9]+)?) ([0-9]{2}:[0-9]{2})")


def _instant(raw: str) -> datetime | None:
    if _DATE.fullmatch(raw):
        try:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        except ValueError:
            return None
    # Date-times as request bodies take them: RFC 3339, with a timezone (reference §2.3).
    try:
        return msgspec.convert(_SPACED_OFFSET.sub(r"\1+\2", raw), Timestamp)
    except msgspec.ValidationError:
        return None


def after(request: Request) -> int | None:
    """`after` in microseconds: a date is its midnight UTC. Absent or empty: no lower bound.

    The format is undocumented (reference §11.14); anything else is a 400 naming `after`.
    """
    raw = request.query_params.get("after")
    if raw is None or raw == "":
        return None
    instant = _instant(raw)
    if instant is None:
        message = (
            "must be a date (2026-02-01) or a date-time with a timezone "
            f"(2026-02-01T00:00:00Z), got {raw[:40]!r}"
        )
        raise BadRequest(f"after {message}", violations=[FieldViolation("after", message)])
    return to_us(instant)


# `project_id` (reference §8.3) is not read: the key decides the project, and a project_id of
# another project answers the key's own statistics, never that project's (§10.6).


async def get_top_search_queries(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    rows, total = await analytic_read(
        ctx, top_search_queries, project_id=principal.project_id, after=after(request)
    )
    result = [TopSearchQuery(search_query=text, count=str(count)) for text, count in rows]
    return JSONResponse(TopSearchQueries(data=TopSearchQueriesData(result=result, total=total)))


async def get_weekly_search_users(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    weeks = await analytic_read(
        ctx, weekly_search_users, project_id=principal.project_id, after=after(request)
    )
    result = [WeeklySearchUsersRow(week=week, unique_users=str(users)) for week, users in weeks]
    return JSONResponse(
        WeeklySearchUsers(data=WeeklySearchUsersData(result=result, total=len(result)))
    )


routes = [
    route("/query/top-search-queries", GET=get_top_search_queries),
    route("/query/weekly-search-users", GET=get_weekly_search_users),
]
