"""The one path every read takes: a store query on a pooled reader connection, off the event loop.

An unreachable database becomes 503 + Retry-After (store.engine.reading). Analytic reads go to
the columnar copy (threadline.analytics) when it has caught up with this process's writes; each
holds one of THREADLINE_MAX_CONCURRENT_QUERIES slots (none free: 503 + Retry-After) and is
stopped at THREADLINE_QUERY_TIMEOUT_SECONDS (422, store.deadline) on either store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from threadline.analytics.columnar import ColumnarCopy
from threadline.analytics.concurrent import Part, concurrently
from threadline.query.sql_duckdb import NotColumnar
from threadline.services import Services
from threadline.store.deadline import bounded
from threadline.store.engine import reading

# Seconds an analytic read waits for the columnar copy to catch up with this process's own
# writes before the primary store answers it instead.
FRESHNESS_WAIT = 1.0

T = TypeVar("T")


def _run(
    ctx: Services, query: Callable[..., T], arguments: dict[str, Any], timeout: float = 0.0
) -> T:
    retry_after = ctx.settings.retry_after_seconds
    with (
        reading(ctx.database.reader, retry_after=retry_after) as connection,
        bounded(connection, timeout),
    ):
        return query(connection, **arguments)


async def read(ctx: Services, query: Callable[..., T], /, **arguments: Any) -> T:
    """query(connection, **arguments) in a threadpool, holding one of the process's read slots
    (none free: 503 at once). The caller renders its answer right after, before any other
    request runs on the event loop, so the slots bound the rows and answers held at once: a
    public web key asking for one large conversation many times over cannot fill memory."""
    with ctx.reads.take(retry_after=ctx.settings.retry_after_seconds):
        return await run_in_threadpool(_run, ctx, query, arguments)


def _run_columnar(
    ctx: Services,
    copy: ColumnarCopy,
    query: Callable[..., T],
    arguments: dict[str, Any],
    timeout: float,
) -> T:
    retry_after = ctx.settings.retry_after_seconds
    with copy.reading(timeout=timeout, retry_after=retry_after) as connection:
        return query(connection, **arguments)


async def _fresh(ctx: Services, copy: ColumnarCopy) -> bool:
    """Whether the copy holds every write this process acknowledged; waits a little for a
    sync if it does not yet (a write is usually followed within milliseconds)."""
    if not copy.ready:
        return False
    needed = ctx.writer.last_commit_at
    if copy.as_of >= needed:
        return True
    return await run_in_threadpool(copy.wait_until, needed, FRESHNESS_WAIT)


async def analytic_read(ctx: Services, query: Callable[..., T], /, **arguments: Any) -> T:
    """Like read(), for analytic queries (counts, groupings, scans over many rows): served from
    the columnar copy when it is up to date, from the primary store otherwise. query must be
    portable SQLAlchemy Core (JSON access through threadline.query.dialects.sql_of). One slot and
    one deadline for all its statements."""
    timeout = ctx.settings.query_timeout_seconds
    # One slot for the whole read: none free is a 503 at once (threadline.slots).
    with ctx.queries.take(retry_after=ctx.settings.retry_after_seconds):
        copy = ctx.columnar
        if copy is not None and await _fresh(ctx, copy):
            try:
                result = await run_in_threadpool(
                    _run_columnar, ctx, copy, query, arguments, timeout
                )
            except NotColumnar:
                pass  # an operator the copy cannot answer exactly: the primary store answers
            else:
                ctx.analytic_reads["columnar"] += 1
                return result
        ctx.analytic_reads["primary"] += 1
        return await run_in_threadpool(_run, ctx, query, arguments, timeout)


async def analytic_reads(ctx: Services, *parts: Part) -> list[Any]:
    """Several analytic reads of one page as one: one slot, one deadline, each part(connection)
    answered in order; on the columnar copy they run at once (analytics.concurrent)."""
    return await analytic_read(ctx, concurrently, parts=list(parts))


async def indexed_read(ctx: Services, query: Callable[..., T], /, **arguments: Any) -> T:
    """Like analytic_read(), for a read that needs an index only the primary store has (the
    full-text index of messages, query.text_search): one slot and one deadline, as there."""
    timeout = ctx.settings.query_timeout_seconds
    with ctx.queries.take(retry_after=ctx.settings.retry_after_seconds):
        return await run_in_threadpool(_run, ctx, query, arguments, timeout)
