"""Running retention: now (`threadline retention run`) or in the background of `serve`.

In `serve` the batches are writer jobs, queued behind the writes waiting to be acknowledged and
committed between them, with a short pause after each, so ingest keeps the writer (the p99 of a
single write during a large purge is in docs/operations.md). Several instances on one PostgreSQL
database: each batch takes a transaction-level advisory lock first (retention.purge_batch), so
one instance purges at a time; one that finds it taken leaves the round to the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from threadline.maintenance.retention import Policy, Purged, policies, purge_batch, purge_project
from threadline.store.writer import Writer
from threadline.timestamps import now_us

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0
# Rest between two batches in serve: the writer's time goes to ingest first.
PAUSE_SECONDS = 0.02


@dataclasses.dataclass(frozen=True)
class Outcome:
    policy: Policy
    purged: Purged


def _policies(engine: Engine, project: str | None) -> list[Policy]:
    with engine.connect() as connection:
        return policies(connection, project)


def run_now(writer: Engine, reader: Engine, project: str | None = None) -> list[Outcome] | None:
    """Purges every project with a retention (or `project`), each batch a transaction of its
    own on `writer` (the policies read on `reader`); None when another instance is purging."""
    now = now_us()

    def run_batch(job: Callable[[Connection], Purged | None]) -> Purged | None:
        with writer.begin() as connection:
            return job(connection)

    outcomes = []
    for policy in _policies(reader, project):
        purged = purge_project(run_batch, policy.project_id, policy.cutoff(now))
        if purged is None:
            return None
        outcomes.append(Outcome(policy, purged))
    return outcomes


async def purge_once(writer: Writer, *, pause: float = PAUSE_SECONDS) -> int:
    """One round in serve: every project's old rows, through the writer; rows deleted, or -1
    when another instance was purging (this one leaves the round to it)."""
    deleted = 0
    now = now_us()
    # Read by the writer too: no thread or connection of its own to outlive a shutdown.
    for policy in await writer.submit(policies):
        cutoff = policy.cutoff(now)
        while True:
            job = functools.partial(purge_batch, project_id=policy.project_id, cutoff=cutoff)
            purged = await writer.submit(job)
            if purged is None:
                return -1
            if purged.total == 0:
                break
            deleted += purged.total
            await asyncio.sleep(pause)
    if deleted:
        log.info("retention: deleted %d rows older than their projects' retention", deleted)
    return deleted


async def purge_in_background(writer: Writer, interval: float = INTERVAL_SECONDS) -> None:
    """Forever: a round at start, then every `interval` seconds (cancelled on shutdown)."""
    while True:
        try:
            await purge_once(writer)
        except asyncio.CancelledError:
            raise
        except Exception:  # retried at the next round; never stop the loop
            log.warning("retention purge failed", exc_info=True)
        await asyncio.sleep(interval)
