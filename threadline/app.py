"""create_app(settings): routes, middleware, error handling, lifespan. No module-level state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from threadline.analytics.columnar import sweep_old_changes
from threadline.api import (
    batch,
    conversations,
    events,
    feedback,
    health,
    home,
    metrics,
    openapi,
    query,
    search_stats,
    users,
)
from threadline.api.ingest import WriteFront, WriteRoute
from threadline.auth import record_key_use, record_key_use_forever
from threadline.config import Settings
from threadline.dashboard.app import dashboard_app
from threadline.dashboard.session import sweep_old_sessions
from threadline.errors import ThreadlineError, error_for_status, problem_response
from threadline.maintenance.purger import purge_in_background
from threadline.middleware import RequestContextMiddleware, new_request_id
from threadline.observe.requests import RequestObserver
from threadline.services import Services
from threadline.store.idempotency import sweep_old_answers


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or new_request_id()


async def _threadline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ThreadlineError)
    request.state.refusal = getattr(exc, "reason", None)  # a 503's or 429's, for the metrics
    return problem_response(exc, instance=request.url.path, request_id=_request_id(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        detail = f"No such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = exc.detail
    error = error_for_status(exc.status_code, detail)
    error.headers.update(exc.headers or {})
    return problem_response(error, instance=request.url.path, request_id=_request_id(request))


def _proxy_middleware(settings: Settings) -> list[Middleware]:
    """X-Forwarded-For and X-Forwarded-Proto, believed from THREADLINE_TRUSTED_PROXIES only.

    Applied here rather than by uvicorn's own flag so that the app behaves the same under any
    ASGI server and in tests; outermost, so everything inside sees the client's scheme."""
    if not settings.trusted_proxies:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]


class ThreadlineApp(Starlette):
    """The Starlette app, with the write endpoints' POSTs taken by their own ASGI path first
    (api.ingest): the hot path skips Starlette's layers, which cost more than the write. That
    path reads neither the client's address nor the scheme, so the X-Forwarded-* middleware,
    which it also skips, changes nothing it answers."""

    front: WriteFront | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.front is not None and self.front.takes(scope):
            await self.front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


# POST on these paths goes through api.ingest; the Starlette routes answer everything else.
_WRITES = {
    "/events": events.LOG_EVENT,
    "/feedback": feedback.LOG_FEEDBACK,
    "/conversations": conversations.LOG_CONVERSATION,
    "/batch": batch.LOG_BATCH,
}


def _cors_options(settings: Settings) -> dict[str, Any]:
    return {
        "allow_origins": list(settings.cors_origins),
        "allow_methods": ["GET", "POST", "DELETE", "OPTIONS"],
        # "*" echoes what the browser asks for; Authorization is then named explicitly,
        # which a literal "*" would not cover (widget §3).
        "allow_headers": ["*"],
        "expose_headers": ["Retry-After", "X-Request-ID"],
        "max_age": 86_400,
    }


def create_app(settings: Settings, services: Services | None = None) -> ThreadlineApp:
    """The ASGI app. Pass `services` to share storage with the caller (tests, the CLI)."""
    owned = services is None
    ctx = services if services is not None else Services.create(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            ctx.start()
        sweepers = [
            asyncio.create_task(sweep_old_answers(ctx.writer, ctx.idempotency)),
            asyncio.create_task(sweep_old_changes(ctx.writer)),
            asyncio.create_task(sweep_old_sessions(ctx.writer, settings)),
            asyncio.create_task(record_key_use_forever(ctx.writer, ctx.auth)),
            # Projects' retention (docs/operations.md): at start, then hourly.
            asyncio.create_task(purge_in_background(ctx.writer)),
        ]
        try:
            yield
        finally:
            for sweeper in sweepers:
                sweeper.cancel()
            with contextlib.suppress(Exception):  # storage down at exit: those times are lost
                await record_key_use(ctx.writer, ctx.auth)
            if owned:
                # Drain: writes already queued are committed and answered before exit.
                ctx.stop()

    observer = RequestObserver(ctx.metrics, log_requests=settings.access_log)
    app = ThreadlineApp(
        routes=[
            *feedback.routes,
            *events.routes,
            *conversations.routes,
            *batch.routes,
            *query.routes,
            *search_stats.routes,
            *users.routes,
            *health.routes,
            *openapi.routes,
            # threadline's own, outside the Inkeep API: a page for people, and for Prometheus.
            *home.routes,
            *metrics.routes,
            # Server-rendered pages for people, with HTML errors of their own (docs/dashboard.md).
            Mount("/dashboard", app=dashboard_app(ctx)),
        ],
        middleware=[
            *_proxy_middleware(settings),
            Middleware(CORSMiddleware, **_cors_options(settings)),
            # Request ids, path-only redirects (never the client's Host), a problem+json 500;
            # each request counted, timed and (THREADLINE_ACCESS_LOG) logged once answered.
            Middleware(RequestContextMiddleware, observer=observer),
        ],
        exception_handlers={ThreadlineError: _threadline_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.services = ctx
    by_path = {getattr(r, "path", None): r for r in app.routes}
    app.front = WriteFront(
        ctx,
        {path: WriteRoute(operation, by_path[path]) for path, operation in _WRITES.items()},
        cors=CORSMiddleware(app.router, **_cors_options(settings)),
        observer=observer,
    )
    return app
