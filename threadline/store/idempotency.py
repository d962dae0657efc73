"""Idempotency-Key records: the first answer to a write, stored in the write's own transaction,
and the process's bookkeeping of them (keys in flight, the sweep of old answers).

Because the record and the write commit together, a retry finds either both or neither: it can
never see the write done but no answer to replay, or the reverse. Records belong to the bearer
key that made the request (its id), not to its project: a project's public web key must not be
able to claim, and so replay or block, a header value its api key will send.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, delete

from threadline.errors import Conflict
from threadline.store.dialect import select_where, where
from threadline.store.prebuilt import PrebuiltInsert
from threadline.store.tables import idempotency_keys
from threadline.store.writer import Writer, lock_key
from threadline.timestamps import now_us

log = logging.getLogger(__name__)
T = TypeVar("T")
_KEY = ("key_id", "key")
_INSERT = PrebuiltInsert(
    idempotency_keys,
    ("project_id", "key_id", "key", "fingerprint", "status", "response", "created_at"),
    ignore_conflicts_on=_KEY,
)
_SWEEP_SECONDS = 600


@dataclasses.dataclass
class Idempotency:
    """The (key id, Idempotency-Key) pairs of this process's writes in flight, and how long
    answers are kept."""

    ttl_hours: float
    in_flight: set[tuple[str, str]] = dataclasses.field(default_factory=set)


@dataclasses.dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int
    response: bytes


class AnsweredElsewhere(Conflict):
    """Another request with this key committed first (another instance, say): replay its answer."""


def find_answer(connection: Connection, key_id: str, key: str) -> StoredAnswer | None:
    row = (
        connection.execute(select_where(idempotency_keys, _KEY), where(key_id=key_id, key=key))
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredAnswer(row["fingerprint"], row["status"], row["response"].encode())


@dataclasses.dataclass(frozen=True)
class RecordedWrite(Generic[T]):
    """A writer job that runs `job` and stores the answer it produced under the key."""

    job: Callable[[Connection], T]
    answer: Callable[[T], bytes]
    project_id: str
    key_id: str
    key: str
    fingerprint: str

    @property
    def lock_key(self) -> tuple[str, ...]:
        # The job's, so an idempotent post keeps its place in the batch's lock order.
        return lock_key(self.job)

    def __call__(self, connection: Connection) -> bytes:
        response = self.answer(self.job(connection))
        row: dict[str, Any] = {
            "project_id": self.project_id,
            "key_id": self.key_id,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "status": 200,
            "response": response.decode(),
            "created_at": now_us(),
        }
        if _INSERT.execute(connection, [_INSERT.parameters(row)]) == 0:
            # Raising rolls this write back; the caller replays what the other one stored.
            raise AnsweredElsewhere("Another request with this Idempotency-Key committed first.")
        return response


def forget_answers_before(connection: Connection, created_before: int) -> int:
    result = connection.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
    )
    return result.rowcount


async def sweep_old_answers(writer: Writer, idempotency: Idempotency) -> None:
    """Forever: delete answers older than the TTL, every few minutes (cancelled on shutdown)."""
    while True:
        await asyncio.sleep(_SWEEP_SECONDS)
        cutoff = now_us() - int(idempotency.ttl_hours * 3600 * 1_000_000)
        try:
            removed = await writer.submit(
                functools.partial(forget_answers_before, created_before=cutoff)
            )
            log.debug("forgot %d idempotency answers", removed)
        except Exception:  # a failed sweep is retried at the next tick; never stop the loop
            log.warning("idempotency sweep failed", exc_info=True)
