"""The dashboard as an ASGI app mounted at /dashboard: its routes, its static files, and its
errors, which are HTML pages (or the sign-in page) rather than problem+json."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from threadline.dashboard.conversations import conversations_page, transcript_page
from threadline.dashboard.events import events_page
from threadline.dashboard.export import export_table
from threadline.dashboard.feedback import feedback_page
from threadline.dashboard.overview import overview_page
from threadline.dashboard.render import Renderer, renderer
from threadline.dashboard.search import search_page
from threadline.dashboard.session import SessionKeys
from threadline.dashboard.signin import sign_in, sign_in_form, sign_out
from threadline.errors import ThreadlineError, Unauthorized, error_for_status
from threadline.services import Services

log = logging.getLogger(__name__)
PREFIX = "/dashboard"


def _error_page(request: Request, error: ThreadlineError) -> Response:
    response = renderer(request).page(
        request,
        "error.html",
        session=getattr(request.state, "session", None),
        status=error.status,
        error=error,
    )
    response.headers.update(error.headers)
    return response


async def _threadline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ThreadlineError)
    if isinstance(exc, Unauthorized) and request.method in ("GET", "HEAD"):
        # Signed out (or the key was revoked): sign in, then come back here.
        target = PREFIX + request.url.path.removeprefix(PREFIX)
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target, safe='/')}", status_code=303)
    return _error_page(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = (
        "There is no such page in the dashboard." if exc.status_code == 404 else str(exc.detail)
    )
    return _error_page(request, error_for_status(exc.status_code, detail))


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("dashboard error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, error_for_status(500, "Something went wrong on our side."))


def dashboard_app(ctx: Services) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", overview_page, methods=["GET"]),
            Route("/sign-in", sign_in_form, methods=["GET"]),
            Route("/sign-in", sign_in, methods=["POST"]),
            Route("/sign-out", sign_out, methods=["POST"]),
            Route("/conversations", conversations_page, methods=["GET"]),
            Route("/conversations/{id:path}", transcript_page, methods=["GET"]),
            Route("/feedback", feedback_page, methods=["GET"]),
            Route("/search", search_page, methods=["GET"]),
            Route("/events", events_page, methods=["GET"]),
            Route("/export/{table}.csv", export_table, methods=["GET"]),
            Mount("/static", StaticFiles(packages=[("threadline.dashboard", "static")])),
        ],
        exception_handlers={
            ThreadlineError: _threadline_error,
            HTTPException: _http_error,
            500: _crash,
        },
    )
    app.state.services = ctx
    app.state.session_keys = SessionKeys(ctx.settings.session_secret)
    app.state.renderer = Renderer()
    return app
