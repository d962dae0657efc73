"""The one path every write endpoint takes: authenticate, read, prepare, commit, answer.

Each endpoint only says how its decoded body becomes a writer job (`prepare`) and how the job's
result becomes its response (`answer`); authentication, the body limit, Idempotency-Key and the
commit-before-answer rule and the bound on writes in flight live here once. `write` needs no
Request: the write endpoints' ASGI path (api.ingest) hands it the few headers it reads, and the
Starlette routes (`handle_write`) do the same. Deletes, which have no body, go through `commit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.api.body import decode_json
from threadline.api.idempotency import fingerprint, idempotent_write
from threadline.api.responses import Answer, answer_response, services
from threadline.auth import WEB, Principal
from threadline.config import Settings
from threadline.privacy.redact import redact_body
from threadline.services import Services
from threadline.store.writer import Job

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class WriteOperation:
    body_type: Any
    # The writer job for a decoded body; it may refuse the body against the settings' limits.
    prepare: Callable[[Principal, Any, Settings], Job[Any]]
    answer: Callable[[Any], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class WriteHead:
    """All a write reads of its request but the body: the path and five headers."""

    path: str
    authorization: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    content_length: str | None = None
    idempotency_key: str | None = None


async def write(
    ctx: Services,
    operation: WriteOperation,
    head: WriteHead,
    chunks: AsyncIterator[bytes],
    state: dict[str, Any],
) -> Answer:
    """The write `head` and its body's `chunks` ask for, committed; `state` (the request's)
    gets the caller's project, for the request log."""
    principal = await ctx.auth.authenticate(head.authorization)
    state["project_id"] = principal.project_id
    # Every write accepts web keys: browser widgets write with their one web key (widget §6.2).
    principal.require(WEB)
    # Counted only once its body is in: a client sending its body slowly (or never) must not
    # hold one of the bounded slots; the body read has a deadline of its own (docs/decisions.md).
    body = await decode_json(
        chunks,
        content_type=head.content_type,
        content_encoding=head.content_encoding,
        content_length=head.content_length,
        type_=operation.body_type,
        settings=ctx.settings,
    )
    # Before anything is prepared or stored, so what a project redacts never reaches the disk,
    # the idempotency store or a log (threadline.privacy).
    redactor = await ctx.redaction.redactor(principal.project_id)
    if redactor is not None:
        body = redact_body(body, redactor)
    with ctx.writes.take(retry_after=ctx.settings.retry_after_seconds):
        job = operation.prepare(principal, body, ctx.settings)
        key = head.idempotency_key
        if key is None:
            return Answer(msgspec.json.encode(operation.answer(await ctx.writer.submit(job))))
        return await idempotent_write(
            ctx,
            principal=principal,
            key=key,
            request_fingerprint=fingerprint(head.path, body),
            job=job,
            answer=operation.answer,
        )


async def handle_write(request: Request, operation: WriteOperation) -> Response:
    """`write` for a Starlette route."""
    headers = request.headers
    head = WriteHead(
        path=request.url.path,
        authorization=headers.get("authorization"),
        content_type=headers.get("content-type"),
        content_encoding=headers.get("content-encoding"),
        content_length=headers.get("content-length"),
        idempotency_key=headers.get("idempotency-key"),
    )
    state = request.scope.setdefault("state", {})
    return answer_response(await write(services(request), operation, head, request.stream(), state))


async def commit(ctx: Services, job: Job[T]) -> T:
    """Run a bodiless write (a delete) through the writer, under the same bound on writes."""
    with ctx.writes.take(retry_after=ctx.settings.retry_after_seconds):
        return await ctx.writer.submit(job)
