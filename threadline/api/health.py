"""GET /health (the process is alive) and GET /ready (the database answers too)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.responses import JSONResponse, services
from threadline.errors import Unavailable
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
        }
    )


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
]
