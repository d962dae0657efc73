"""The query operations (reference §7, §8): POST /query/<view> for conversations, events,
feedback and semantic threads, their CSV exports (/query/<view>/export), and property
discovery (/query/property-keys, /query/property-values). API keys only."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from threadline.api.body import read_json
from threadline.api.csv_response import CsvResponse
from threadline.api.reads import analytic_read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import Handler, route
from threadline.api.search import ranking
from threadline.auth import API_ONLY
from threadline.query.export import open_export
from threadline.query.properties import property_keys, property_values
from threadline.query.run import run_query
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
        body = await read_json(request, body_type, ctx.settings)
        ranked = await ranking(ctx, view, body, principal.project_id)
        data = await analytic_read(
            ctx, run_query, view=view, body=body, project_id=principal.project_id, ranking=ranked
        )
        return JSONResponse(QueryResponse(status="ok", data=data))

    query.__name__ = f"query_{view}"
    return query


async def export_response(
    ctx: Services, *, view: str, body: Any, project_id: str, filename: str
) -> CsvResponse:
    """The CSV of every row of the query, streamed; 503 when too many exports are running.
    The dashboard's downloads come through here too."""
    slot = ctx.exports.take(retry_after=ctx.settings.retry_after_seconds)
    try:
        ranked = await ranking(ctx, view, body, project_id)
        started = await run_in_threadpool(
            open_export,
            ctx.database.reader,
            view=view,
            body=body,
            project_id=project_id,
            retry_after=ctx.settings.retry_after_seconds,
            formula_guard=ctx.settings.csv_formula_guard,
            timeout=ctx.settings.query_timeout_seconds,
            ranking=ranked,
        )
    except BaseException:
        slot.release()
        raise
    # From here the response owns the slot and the export, and ends both however it ends.
    return CsvResponse(
        started, slot, filename=filename, send_timeout=ctx.settings.send_timeout_seconds
    )


def _export_handler(view: str, path: str) -> Handler:
    body_type = QUERY_TYPES[view].body
    filename = path.rsplit("/", 1)[-1] + ".csv"

    async def export(request: Request) -> Response:
        ctx, principal = await authorized(request, API_ONLY)
        body = await read_json(request, body_type, ctx.settings)
        return await export_response(
            ctx, view=view, body=body, project_id=principal.project_id, filename=filename
        )

    export.__name__ = f"export_{view}"
    return export


async def query_property_keys(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    body = await read_json(request, PropertyKeysQuery, ctx.settings)
    keys = await analytic_read(ctx, property_keys, body=body, project_id=principal.project_id)
    return JSONResponse(PropertyResults(results=keys))


async def query_property_values(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    body = await read_json(request, PropertyValuesQuery, ctx.settings)
    values = await analytic_read(ctx, property_values, body=body, project_id=principal.project_id)
    return JSONResponse(PropertyResults(results=values))


routes = [
    route("/query/property-keys", POST=query_property_keys),
    route("/query/property-values", POST=query_property_values),
    *[route(path, POST=_query_handler(view)) for view, path in PATHS.items()],
    *[route(f"{path}/export", POST=_export_handler(view, path)) for view, path in PATHS.items()],
]
