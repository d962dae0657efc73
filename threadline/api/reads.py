"""The one path every read takes: a store query on a pooled reader connection, off the event loop.

An unreachable database becomes 503 + Retry-After (store.engine.reading).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool

from threadline.store.engine import reading

if TYPE_CHECKING:  # services.py imports api.idempotency, which reads through this module
    from threadline.services import Services

T = TypeVar("T")


def _run(ctx: Services, query: Callable[..., T], arguments: dict[str, Any]) -> T:
    with reading(ctx.database.reader, retry_after=ctx.settings.retry_after_seconds) as connection:
        return query(connection, **arguments)


async def read(ctx: Services, query: Callable[..., T], /, **arguments: Any) -> T:
    """query(connection, **arguments) in a threadpool."""
    return await run_in_threadpool(_run, ctx, query, arguments)


async def analytic_read(ctx: Services, query: Callable[..., T], /, **arguments: Any) -> T:
    """Like read(), for analytic queries (counts, groupings, scans over many rows): served from
    the columnar copy when it is up to date, from the primary store otherwise. query must be
    portable SQLAlchemy Core (JSON access through threadline.query.sql.sql_for)."""
    return await run_in_threadpool(_run, ctx, query, arguments)
