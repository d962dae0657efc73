"""Idempotency-Key records: the first answer to a write, stored in the write's own transaction.

Because the record and the write commit together, a retry finds either both or neither: it can
never see the write done but no answer to replay, or the reverse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, delete

from threadline.errors import Conflict
from threadline.store.dialect import insert_ignore, select_where, where
from threadline.store.tables import idempotency_keys
from threadline.timestamps import now_us

T = TypeVar("T")
_KEY = ("project_id", "key")


@dataclasses.dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int
    response: bytes


class AnsweredElsewhere(Conflict):
    """Another request with this key committed first (another instance, say): replay its answer."""


def find_answer(connection: Connection, project_id: str, key: str) -> StoredAnswer | None:
    row = (
        connection.execute(
            select_where(idempotency_keys, _KEY), where(project_id=project_id, key=key)
        )
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
    key: str
    fingerprint: str

    def __call__(self, connection: Connection) -> bytes:
        response = self.answer(self.job(connection))
        row: dict[str, Any] = {
            "project_id": self.project_id,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "status": 200,
            "response": response.decode(),
            "created_at": now_us(),
        }
        # RETURNING tells whether this insert happened (psycopg's rowcount here is -1).
        statement = insert_ignore(connection, idempotency_keys, _KEY)
        if connection.execute(statement, row).first() is None:
            # Raising rolls this write back; the caller replays what the other one stored.
            raise AnsweredElsewhere("Another request with this Idempotency-Key committed first.")
        return response


def forget_answers_before(connection: Connection, created_before: int) -> int:
    result = connection.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
    )
    return result.rowcount
