"""Idempotency-Key on every write: a retry gets the first answer replayed, never a second write.

- same key, same body: the stored answer, byte for byte, with `Idempotent-Replayed: true`;
- same key, another body: 422 (the key is being reused for something else);
- same key while the first request is still being written: 409 (retry once it is answered).

Answers are kept at least `idempotency_ttl_hours` (default 24). The in-flight check is per
process; across instances sharing PostgreSQL, the record's primary key makes the second writer
roll back and replay the first one's answer instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.responses import Response

from threadline.api.reads import read
from threadline.auth import Principal
from threadline.errors import BadRequest, Conflict, Unprocessable
from threadline.store.idempotency import (
    AnsweredElsewhere,
    RecordedWrite,
    StoredAnswer,
    find_answer,
    forget_answers_before,
)
from threadline.store.writer import Job, Writer
from threadline.timestamps import now_us

if TYPE_CHECKING:  # services.py builds an Idempotency from this module
    from threadline.services import Services

log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 255
_SWEEP_SECONDS = 600


@dataclasses.dataclass
class Idempotency:
    """The keys of this process's writes in flight, and how long answers are kept."""

    ttl_hours: float
    in_flight: set[tuple[str, str]] = dataclasses.field(default_factory=set)


def fingerprint(path: str, body: Any) -> str:
    # The decoded body, re-encoded: whitespace or key order alone does not make another request.
    return hashlib.sha256(path.encode() + b"\n" + msgspec.json.encode(body)).hexdigest()


def _replay(stored: StoredAnswer, expected: str) -> Response:
    if stored.fingerprint != expected:
        raise Unprocessable(
            "This Idempotency-Key was already used for another request body; use a new key."
        )
    return Response(
        stored.response,
        status_code=stored.status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotent_write(
    ctx: Services,
    *,
    principal: Principal,
    key: str,
    request_fingerprint: str,
    job: Job[Any],
    answer: Callable[[Any], Any],
) -> Response:
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    slot = (principal.project_id, key)
    idempotency = ctx.idempotency
    if slot in idempotency.in_flight:
        raise Conflict("A request with this Idempotency-Key is still in progress; retry later.")
    idempotency.in_flight.add(slot)
    try:
        stored = await read(ctx, find_answer, project_id=principal.project_id, key=key)
        if stored is None:
            recorded = RecordedWrite(
                job=job,
                answer=lambda result: msgspec.json.encode(answer(result)),
                project_id=principal.project_id,
                key=key,
                fingerprint=request_fingerprint,
            )
            try:
                response: bytes = await ctx.writer.submit(recorded)
                return Response(response, media_type="application/json")
            except AnsweredElsewhere:
                stored = await read(ctx, find_answer, project_id=principal.project_id, key=key)
                assert stored is not None
        return _replay(stored, request_fingerprint)
    finally:
        idempotency.in_flight.discard(slot)


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
