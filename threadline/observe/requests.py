"""Pure ASGI middleware: every request is counted and timed by route template and status
(metrics.py), and, with THREADLINE_ACCESS_LOG on, logged in one line.

The line holds the requestId, method, route template, status, duration and project, and
nothing else: never the raw path (it may carry an externalId or a user's id), the query string,
a header (the bearer key) or any part of a body. Outermost but for the proxy headers, so it sees
CORS preflights and the 500 that threadline.middleware makes of a crash.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.middleware import new_request_id
from threadline.observe.metrics import Metrics

log = logging.getLogger("threadline.access")

UNMATCHED = "unmatched"
# Nginx's number for a client that went away before any answer was sent.
CLIENT_CLOSED = 499


def route_template(scope: Scope) -> str:
    """The template of the route that answered ("/conversations/{id}"), with the paths of the
    mounts it is in; "unmatched" for a path no route took (a 404), so that made-up paths cannot
    grow the metrics' label values."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    # Starlette sets root_path to the mounts' paths on the way in (app_root_path: the server's).
    mounted = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
    if isinstance(route, Mount):  # a mount no route inside took, or static files
        return f"{mounted}/{{path}}"
    return f"{mounted}{getattr(route, 'path', '')}" or "/"


def request_fields(scope: Scope, status: int, seconds: float) -> dict[str, Any]:
    state = scope.get("state", {})
    return {
        "requestId": state.get("request_id"),
        "method": scope["method"],
        "route": route_template(scope),
        "status": status,
        "durationMs": round(seconds * 1000, 2),
        "project": state.get("project_id"),
    }


class ObserveRequests:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Made here so that preflights, answered outside threadline.middleware, have one too.
        scope.setdefault("state", {})["request_id"] = new_request_id()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = status or 500
            raise
        finally:
            self._record(scope, status or CLIENT_CLOSED, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        self.metrics.request(scope["method"], route, status, seconds)
        if status in (429, 503):
            reason = scope.get("state", {}).get("refusal") or "other"
            self.metrics.refusal(status, reason)
        if self.log_requests:
            fields = request_fields(scope, status, seconds)
            log.info(
                "%s %s %d %.1fms project=%s requestId=%s",
                fields["method"],
                route,
                status,
                seconds * 1000,
                fields["project"] or "-",
                fields["requestId"],
                extra={"fields": fields},
            )
