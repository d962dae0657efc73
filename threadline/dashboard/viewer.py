"""Who is looking and what they asked for: the session, the timezone, the filters; and the query
behind each table, shared by the page that shows it and the CSV download of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from threadline.api.reads import analytic_read, indexed_read, read
from threadline.api.responses import services
from threadline.api.search import ranking
from threadline.dashboard import filters as f
from threadline.dashboard.data import (
    matching_conversation_ids,
    query_page,
    query_rows,
    searched_conversations,
)
from threadline.dashboard.insights_data import gaps_body, threads_body
from threadline.dashboard.period import Period, period_from
from threadline.dashboard.render import PAGE_ROWS, viewer_zone
from threadline.dashboard.session import Session, require_session
from threadline.query.search_stats import unclicked_search_queries
from threadline.query.text_search import Ranked
from threadline.services import Services


@dataclasses.dataclass(frozen=True)
class Viewer:
    ctx: Services
    session: Session
    filters: f.Filters

    @property
    def project_id(self) -> str:
        return self.session.project_id

    @property
    def period(self) -> Period:
        return self.filters.period

    async def table_page(self, view: str, body: Any) -> tuple[list[dict[str, Any]], int]:
        """The page of the filtered table this viewer is on, and how many rows match; a
        search over semantic threads is ranked by meaning, as the API ranks it."""
        ranked = await ranking(self.ctx, view, body, self.project_id)
        return await analytic_read(
            self.ctx,
            query_page,
            view=view,
            body=body,
            project_id=self.project_id,
            limit=PAGE_ROWS,
            offset=(self.filters.page - 1) * PAGE_ROWS,
            ranking=ranked,
        )


async def viewer(request: Request) -> Viewer:
    """The signed-in viewer (or Unauthorized) and the filters of the page's query string."""
    session = await require_session(request)
    period = period_from(request.query_params, viewer_zone(request))
    return Viewer(services(request), session, f.Filters.read(request.query_params, period))


def _rated(filters: f.Filters) -> str:
    return filters.feedback if filters.feedback in f.FEEDBACK_FILTERS else ""


async def _searched(v: Viewer, *, limit: int, offset: int) -> Ranked:
    """The conversations matching the text search and every other filter, best first."""
    return await indexed_read(
        v.ctx,
        searched_conversations,
        body=f.conversations_body(v.filters, None),
        project_id=v.project_id,
        text=v.filters.text,
        rated=_rated(v.filters),
        limit=limit,
        offset=offset,
    )


async def conversations_query(v: Viewer) -> tuple[str, Any]:
    """The conversations table's query (its CSV download): with a text search, its
    MAX_MATCHED_IDS best matches."""
    matched = None
    filters = v.filters
    if filters.text:
        matched = (await _searched(v, limit=f.MAX_MATCHED_IDS, offset=0)).ids
    elif _rated(filters):
        matched = await analytic_read(
            v.ctx,
            matching_conversation_ids,
            project_id=v.project_id,
            period=v.period,
            rated=_rated(filters),
            limit=f.MAX_MATCHED_IDS,
        )
    return "conversations", f.conversations_body(filters, matched)


async def conversations_table(v: Viewer) -> tuple[list[dict[str, Any]], int]:
    """The conversations page's rows and how many match. A text search picks the page's
    conversations on the primary store (its full-text index), best match first, out of every
    match; their rows are read from the primary store too, by primary key."""
    if not v.filters.text:
        view, body = await conversations_query(v)
        return await v.table_page(view, body)
    offset = (v.filters.page - 1) * PAGE_ROWS
    ranked = await _searched(v, limit=PAGE_ROWS, offset=offset)
    body = f.conversations_body(v.filters, ranked.ids, ranked=True)
    # 25 conversations by id are a few index lookups on the primary store (1-2 ms at 10M
    # events on PostgreSQL), where the copy, which has no index, scanned every conversation
    # and message for them (36-82 ms; docs/performance.md, issue 15 session 6).
    rows = await read(
        v.ctx,
        query_rows,
        view="conversations",
        body=body,
        project_id=v.project_id,
        limit=PAGE_ROWS,
        ranking=ranked.ids,
    )
    return rows, ranked.total


async def feedback_query(v: Viewer) -> tuple[str, Any]:
    return "feedback", f.feedback_body(v.filters)


async def events_query(v: Viewer) -> tuple[str, Any]:
    return "events", f.events_body(v.filters)


async def event_types_query(v: Viewer) -> tuple[str, Any]:
    return "events", f.count_by("events", "type", f.period_where("createdAt", v.period))


async def search_queries_query(v: Viewer) -> tuple[str, Any]:
    return "events", f.search_queries_body(v.period)


async def search_users_query(v: Viewer) -> tuple[str, Any]:
    return "events", f.search_users_body(v.period)


async def unclicked_query(v: Viewer) -> tuple[str, Any]:
    unclicked = await analytic_read(
        v.ctx,
        unclicked_search_queries,
        project_id=v.project_id,
        after=v.period.start_us,
        before=v.period.end_us,
    )
    return "events", f.unclicked_body(v.period, unclicked.texts[: f.MAX_MATCHED_IDS])


async def threads_query(v: Viewer) -> tuple[str, Any]:
    return "semantic_threads", threads_body(v.filters)


async def knowledge_gaps_query(v: Viewer) -> tuple[str, Any]:
    return "semantic_threads", gaps_body(v.filters)


# Every table with a CSV download: its name in /dashboard/export/<name>.csv and its query.
TABLES: dict[str, Callable[[Viewer], Awaitable[tuple[str, Any]]]] = {
    "conversations": conversations_query,
    "feedback": feedback_query,
    "events": events_query,
    "event-types": event_types_query,
    "search-queries": search_queries_query,
    "search-users": search_users_query,
    "unclicked-searches": unclicked_query,
    "threads": threads_query,
    "knowledge-gaps": knowledge_gaps_query,
}
