"""Running retention: now (`threadline retention run`) or in the background of `serve`.

In `serve` the batches are writer jobs, queued behind the writes waiting to be acknowledged and
committed between them, with a short pause after each, so ingest keeps the writer (the p99 of a
single write during a large purge is in docs/operations.md). Several instances on one PostgreSQL
database: a session advisory lock lets one of them purge at a time; the others skip the round.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

from threadline.maintenance.retention import Policy, Purged, policies, purge_batch, purge_project
from threadline.store.writer import Writer
from threadline.timestamps import now_us

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0
# Rest between two batches in serve: the writer's time goes to ingest first.
PAUSE_SECONDS = 0.02
# Any constant works; it only has to be the same for every threadline process (and differ from
# the migration lock's).
_PG_LOCK_KEY = 0x74726574656E74


class PurgeLock:
    """One purging instance per PostgreSQL database (a session lock on a connection of its own);
    SQLite needs none (one writer per file, and a second purge of the same rows is harmless)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        # acquire() and release() may run in different threads; release waits for acquire.
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True
        with self._mutex:
            connection = self._engine.connect()
            query = text("SELECT pg_try_advisory_lock(:k)")
            got = bool(connection.execute(query, {"k": _PG_LOCK_KEY}).scalar())
            connection.commit()
            if got:
                self._connection = connection
            else:
                connection.close()
            return got

    def release(self) -> None:
        with self._mutex:
            if self._connection is None:
                return
            try:
                query = text("SELECT pg_advisory_unlock(:k)")
                self._connection.execute(query, {"k": _PG_LOCK_KEY})
                self._connection.commit()
            finally:
                self._connection.close()  # closing the session releases it in any case
                self._connection = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    policy: Policy
    purged: Purged


def _policies(engine: Engine, project: str | None) -> list[Policy]:
    with engine.connect() as connection:
        return policies(connection, project)


def run_now(writer: Engine, reader: Engine, project: str | None = None) -> list[Outcome] | None:
    """Purges every project with a retention (or `project`), each batch a transaction of its
    own on `writer` (the lock and the policies on `reader`); None when another instance is
    purging."""
    lock = PurgeLock(reader)
    if not lock.acquire():
        return None
    try:
        now = now_us()

        def run_batch(job: Callable[[Connection], Purged]) -> Purged:
            with writer.begin() as connection:
                return job(connection)

        return [
            Outcome(policy, purge_project(run_batch, policy.project_id, policy.cutoff(now)))
            for policy in _policies(reader, project)
        ]
    finally:
        lock.release()


async def purge_once(writer: Writer, reader: Engine, *, pause: float = PAUSE_SECONDS) -> int:
    """One round in serve: every project's old rows, through the writer; rows deleted, or -1
    when another instance holds the lock."""
    lock = PurgeLock(reader)
    try:
        if not await asyncio.to_thread(lock.acquire):
            return -1
        deleted = 0
        now = now_us()
        for policy in await asyncio.to_thread(_policies, reader, None):
            cutoff = policy.cutoff(now)
            while True:
                job = functools.partial(purge_batch, project_id=policy.project_id, cutoff=cutoff)
                purged = await writer.submit(job)
                if purged.total == 0:
                    break
                deleted += purged.total
                await asyncio.sleep(pause)
    except asyncio.CancelledError:
        # Shutdown, perhaps while acquire() still runs in its thread: release() waits for it,
        # so the lock's connection is never left open.
        threading.Thread(target=lock.release, name="threadline-purge-unlock").start()
        raise
    await asyncio.to_thread(lock.release)
    if deleted:
        log.info("retention: deleted %d rows older than their projects' retention", deleted)
    return deleted


async def purge_in_background(
    writer: Writer, reader: Engine, interval: float = INTERVAL_SECONDS
) -> None:
    """Forever: a round at start, then every `interval` seconds (cancelled on shutdown)."""
    while True:
        try:
            await purge_once(writer, reader)
        except asyncio.CancelledError:
            raise
        except Exception:  # retried at the next round; never stop the loop
            log.warning("retention purge failed", exc_info=True)
        await asyncio.sleep(interval)
