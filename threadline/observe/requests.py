"""Each answered request counted and timed by route template and status (metrics.py), and,
with THREADLINE_ACCESS_LOG on, logged in one line. threadline.middleware calls it, and so does
the write endpoints' own path (threadline.api.ingest), so it sees the 500 made of a crash; CORS
preflights, answered before it, are neither counted nor logged.

The line holds the requestId, method, route template, status, duration and project, and
nothing else: never the raw path (it may carry an externalId or a user's id), the query string,
a header (the bearer key) or any part of a body.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.routing import Mount
from starlette.types import Scope

from threadline.observe.metrics import Metrics

log = logging.getLogger("threadline.access")

UNMATCHED = "unmatched"


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


class RequestObserver:
    """Called by threadline.middleware once each request is answered: counts and times it, and
    logs it when asked to (THREADLINE_ACCESS_LOG)."""

    def __init__(self, metrics: Metrics, *, log_requests: bool) -> None:
        self.metrics = metrics
        self.log_requests = log_requests

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        self.metrics.requests.add(scope["method"], route, status, seconds)
        if status == 429 or status == 503:
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
