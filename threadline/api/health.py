"""GET /health (the process is alive) and GET /ready (the database answers too)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.responses import JSONResponse, services
from threadline.errors import Unavailable
from threadline.services import Services
from threadline.store.engine import Database

_READY_TIMEOUT_SECONDS = 3.0


async def health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _ping(database: Database) -> None:
    with database.reader.connect() as connection:
        connection.execute(text("SELECT 1"))


async def ready(request: Request) -> Response:
    ctx = services(request)
    try:
        await asyncio.wait_for(run_in_threadpool(_ping, ctx.database), _READY_TIMEOUT_SECONDS)
    except (SQLAlchemyError, TimeoutError, OSError) as exc:
        raise Unavailable(
            f"The database does not answer: {type(exc).__name__}",
            retry_after=ctx.settings.retry_after_seconds,
            reason="storage_unavailable",
        ) from None
    writer = ctx.writer
    return JSONResponse(
        {
            "status": "ready",
            "database": ctx.database.dialect,
            "writer": {
                "queued": writer.queued,
                "committedWrites": writer.jobs,
                "commits": writer.batches,
            },
            "analytics": _analytics(ctx),
            # CSV exports streaming now, of the most allowed at once (503 beyond).
            "exports": {"running": ctx.exports.running, "limit": ctx.exports.limit},
        }
    )


def _analytics(ctx: Services) -> dict[str, Any]:
    """Where analytic reads come from, and how far behind the columnar copy is."""
    copy = ctx.columnar
    answered = dict(ctx.analytic_reads)
    if copy is None:
        return {"readPath": "primary", "answered": answered}
    return {
        "readPath": "columnar" if copy.ready else "primary (columnar copy being built)",
        "columnarReady": copy.ready,
        # Seconds since the last completed sync began: data older than that is in the copy.
        "lagSeconds": round(time.monotonic() - copy.as_of, 3) if copy.ready else None,
        "syncs": copy.syncs,
        "failedSyncs": copy.failures,
        "answered": answered,
    }


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
]
