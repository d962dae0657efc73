"""The dashboard's errors are pages, not problem+json: the same ThreadlineError tree, rendered
as HTML; a signed-out visitor is sent to the sign-in page; anything unexpected is a logged 500
page."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.dashboard.render import renderer
from threadline.errors import InternalError, ThreadlineError, Unauthorized, error_for_status

log = logging.getLogger("threadline.dashboard")
PREFIX = "/dashboard"


def error_page(request: Request, error: ThreadlineError) -> Response:
    response = renderer(request).page(
        request,
        "error.html",
        session=getattr(request.state, "session", None),
        status=error.status,
        error=error,
    )
    response.headers.update(error.headers)
    return response


async def threadline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ThreadlineError)
    request.state.refusal = getattr(exc, "reason", None)  # a 503's or 429's, for the metrics
    if isinstance(exc, Unauthorized) and request.method in ("GET", "HEAD"):
        # Signed out (or the key was revoked): sign in, then come back here.
        target = PREFIX + request.url.path.removeprefix(PREFIX)
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target, safe='/')}", 303)
    return error_page(request, exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = "There is no such page in the dashboard." if exc.status_code == 404 else exc.detail
    return error_page(request, error_for_status(exc.status_code, detail))


class UnexpectedErrors:
    """Pure ASGI middleware: an exception no handler took becomes a logged 500 page.

    Starlette's last-resort handler answers and then re-raises, so every layer above would log
    the same error again; this one answers and stops there (as threadline.middleware does for
    the API)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request_id = scope.get("state", {}).get("request_id", "")
            method, path = scope["method"], scope["path"]
            log.exception("unhandled error on %s %s (requestId=%s)", method, path, request_id)
            if started:
                raise
            error = InternalError("Something went wrong on our side; it has been logged.")
            await error_page(Request(scope), error)(scope, receive, send)
