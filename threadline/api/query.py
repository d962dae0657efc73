"""The query operations (reference §7): POST /query/<view> for conversations, events, feedback
and semantic threads, and their CSV exports (/query/<view>/export). API keys only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.body import read_json
from threadline.api.reads import read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import Handler, route
from threadline.auth import API_ONLY
from threadline.query.run import run_query
from threadline.wire.query import QUERY_TYPES, QueryResponse

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
        data = await read(ctx, run_query, view=view, body=body, project_id=principal.project_id)
        return JSONResponse(QueryResponse(status="ok", data=data))

    query.__name__ = f"query_{view}"
    return query


routes = [route(path, POST=_query_handler(view)) for view, path in PATHS.items()]
