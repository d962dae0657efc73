"""GET /metrics: the process's metrics in the Prometheus text format (or OpenMetrics when the
scraper asks for it), behind THREADLINE_METRICS_TOKEN when one is set (docs/operations.md).

Not in /openapi.json: it is an operator's endpoint in Prometheus's own format, not part of the
API that SDKs are generated from (docs/decisions.md)."""

from __future__ import annotations

import hmac

from prometheus_client.exposition import choose_encoder
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.responses import services
from threadline.errors import Unauthorized


def _check_token(request: Request, token: str) -> None:
    scheme, _, presented = (request.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), token.encode()
    ):
        raise Unauthorized(
            "GET /metrics needs 'Authorization: Bearer <token>' with THREADLINE_METRICS_TOKEN."
        )


async def metrics(request: Request) -> Response:
    ctx = services(request)
    if ctx.settings.metrics_token:
        _check_token(request, ctx.settings.metrics_token)
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    # Off the event loop: a scrape reads the insight backlog from the database.
    body = await run_in_threadpool(encode, ctx.metrics.registry)
    return Response(body, headers={"Content-Type": content_type})


# Outside /openapi.json on purpose (docs/decisions.md); tests/api/test_openapi.py skips it.
routes = [Route("/metrics", metrics, methods=["GET"], include_in_schema=False)]
