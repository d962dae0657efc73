"""The query operations (reference §7, §8): POST /query/<view> for conversations, events,
feedback and semantic threads, their CSV exports (/query/<view>/export), and property
discovery (/query/property-keys, /query/property-values). API keys only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from threadline.api.body import read_json
from threadline.api.reads import analytic_read, read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import Handler, route
from threadline.auth import API_ONLY
from threadline.errors import Unavailable
from threadline.query.export import CsvExport, open_export
from threadline.query.properties import property_keys, property_values
from threadline.query.run import run_query
from threadline.query.semantic import rank_threads, search_text
from threadline.services import Services
from threadline.wire.query import (
    QUERY_TYPES,
    PropertyKeysQuery,
    PropertyResults,
    PropertyValuesQuery,
    QueryResponse,
)

# The wire path of each view (semantic_threads is spelled with a hyphen in URLs).
PATHS = {
    "conversations": "/query/conversations",
    "events": "/query/events",
    "feedback": "/query/feedback",
    "semantic_threads": "/query/semantic-threads",
}


def _query_handler(view: str) -> Handler:
    body_type = QUERY_TYPES[view].body

    async def query(request: Request) -> Response:
        ctx, principal = await authorized(request, API_ONLY)
        body = await read_json(request, body_type, ctx.settings.max_body_bytes)
        ranking = await _ranking(ctx, view, body, principal.project_id)
        data = await analytic_read(
            ctx, run_query, view=view, body=body, project_id=principal.project_id, ranking=ranking
        )
        return JSONResponse(QueryResponse(status="ok", data=data))

    query.__name__ = f"query_{view}"
    return query


async def _ranking(ctx: Services, view: str, body: Any, project_id: str) -> list[str] | None:
    """The semantic search's threads, most similar first (query.semantic); None when the body
    has no `query` text."""
    if view != "semantic_threads" or search_text(body) is None:
        return None
    return await read(ctx, rank_threads, body=body, project_id=project_id, embed=_embed)


def _embed(text: str) -> Any:
    # Loaded on the first search, then kept (the model is ~100 MB in memory).
    from threadline.insights.embed import shared

    return shared().embed_one(text)


async def _stream(ctx: Services, export: CsvExport) -> AsyncIterator[bytes]:
    try:
        while (chunk := await run_in_threadpool(export.next_chunk)) is not None:
            yield chunk
    finally:
        await run_in_threadpool(export.close)
        ctx.exports_running -= 1


async def export_response(
    ctx: Services, *, view: str, body: Any, project_id: str, filename: str
) -> StreamingResponse:
    """The CSV of every row of the query, streamed; 503 when too many exports are running.
    The dashboard's downloads come through here too."""
    if ctx.exports_running >= ctx.settings.max_concurrent_exports:
        raise Unavailable(
            "Too many exports are running; retry shortly.",
            retry_after=ctx.settings.retry_after_seconds,
        )
    ctx.exports_running += 1
    try:
        ranking = await _ranking(ctx, view, body, project_id)
        started = await run_in_threadpool(
            open_export,
            ctx.database.reader,
            view=view,
            body=body,
            project_id=project_id,
            retry_after=ctx.settings.retry_after_seconds,
            ranking=ranking,
        )
    except BaseException:
        ctx.exports_running -= 1
        raise
    return StreamingResponse(
        _stream(ctx, started),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _export_handler(view: str, path: str) -> Handler:
    body_type = QUERY_TYPES[view].body
    filename = path.rsplit("/", 1)[-1] + ".csv"

    async def export(request: Request) -> Response:
        ctx, principal = await authorized(request, API_ONLY)
        body = await read_json(request, body_type, ctx.settings.max_body_bytes)
        return await export_response(
            ctx, view=view, body=body, project_id=principal.project_id, filename=filename
        )

    export.__name__ = f"export_{view}"
    return export


async def query_property_keys(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    body = await read_json(request, PropertyKeysQuery, ctx.settings.max_body_bytes)
    keys = await analytic_read(ctx, property_keys, body=body, project_id=principal.project_id)
    return JSONResponse(PropertyResults(results=keys))


async def query_property_values(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    body = await read_json(request, PropertyValuesQuery, ctx.settings.max_body_bytes)
    values = await analytic_read(ctx, property_values, body=body, project_id=principal.project_id)
    return JSONResponse(PropertyResults(results=values))


routes = [
    route("/query/property-keys", POST=query_property_keys),
    route("/query/property-values", POST=query_property_values),
    *[route(path, POST=_query_handler(view)) for view, path in PATHS.items()],
    *[route(f"{path}/export", POST=_export_handler(view, path)) for view, path in PATHS.items()],
]
