"""One Route per path whatever its methods, so a 405 names every allowed method in `Allow`.

Starlette answers 405 from the first route whose path matches; two Routes for one path (GET and
DELETE /feedback/{id}) would make it name only the first one's methods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.errors import NotFound

Handler = Callable[[Request], Awaitable[Response]]


def route(path: str, **handlers: Handler) -> Route:
    """route("/feedback", GET=list_feedback, POST=log_feedback)."""

    async def endpoint(request: Request) -> Response:
        if any("\x00" in value for value in request.path_params.values()):
            # No stored id holds U+0000 (bodies refuse it), and PostgreSQL cannot compare it.
            raise NotFound(f"Nothing is stored at {request.url.path!r}.")
        # Starlette adds HEAD wherever GET is allowed.
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, endpoint, methods=list(handlers), name=path)
