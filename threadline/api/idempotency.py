"""Idempotency-Key on every write, the HTTP side: a retry gets the first answer replayed, never a
second write.

- same key, same body: the stored answer, byte for byte, with `Idempotent-Replayed: true`;
- same key, another body: 422 (the key is being reused for something else);
- same key while the first request is still being written: 409 (retry once it is answered).

Keys are scoped to the bearer key that sends them (store.idempotency). Answers are kept at least
`idempotency_ttl_hours` (default 24). The in-flight check is per process; across instances
sharing PostgreSQL, the record's primary key makes the second writer roll back and replay the
first one's answer instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

from threadline.api.reads import read
from threadline.api.responses import Answer
from threadline.auth import Principal
from threadline.errors import BadRequest, Conflict, Unprocessable
from threadline.services import Services
from threadline.store.idempotency import AnsweredElsewhere, RecordedWrite, StoredAnswer, find_answer
from threadline.store.writer import Job

MAX_KEY_LENGTH = 255


def fingerprint(path: str, body: Any) -> str:
    # The decoded body, re-encoded: whitespace or key order alone does not make another request.
    return hashlib.sha256(path.encode() + b"\n" + msgspec.json.encode(body)).hexdigest()


def _replay(stored: StoredAnswer, expected: str) -> Answer:
    if stored.fingerprint != expected:
        raise Unprocessable(
            "This Idempotency-Key was already used for another request body; use a new key."
        )
    return Answer(stored.response, status=stored.status, replayed=True)


async def idempotent_write(
    ctx: Services,
    *,
    principal: Principal,
    key: str,
    request_fingerprint: str,
    job: Job[Any],
    answer: Callable[[Any], Any],
) -> Answer:
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    slot = (principal.key_id, key)
    idempotency = ctx.idempotency
    if slot in idempotency.in_flight:
        raise Conflict("A request with this Idempotency-Key is still in progress; retry later.")
    idempotency.in_flight.add(slot)
    try:
        stored = await read(ctx, find_answer, key_id=principal.key_id, key=key)
        if stored is None:
            recorded = RecordedWrite(
                job=job,
                answer=lambda result: msgspec.json.encode(answer(result)),
                project_id=principal.project_id,
                key_id=principal.key_id,
                key=key,
                fingerprint=request_fingerprint,
            )
            try:
                response: bytes = await ctx.writer.submit(recorded)
                return Answer(response)
            except AnsweredElsewhere:
                stored = await read(ctx, find_answer, key_id=principal.key_id, key=key)
                assert stored is not None
        return _replay(stored, request_fingerprint)
    finally:
        idempotency.in_flight.discard(slot)
