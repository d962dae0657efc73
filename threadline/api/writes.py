"""The one path every write endpoint takes: authenticate, read, prepare, commit, answer.

Each endpoint only says how its decoded body becomes a writer job (`prepare`) and how the job's
result becomes its response (`answer`); authentication, the body limit, Idempotency-Key and the
commit-before-answer rule and the bound on writes in flight live here once. Deletes, which have
no body, go through `commit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from threadline.api.body import read_json
from threadline.api.idempotency import fingerprint, idempotent_write
from threadline.api.responses import JSONResponse, services
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


async def handle_write(request: Request, operation: WriteOperation) -> Response:
    ctx = services(request)
    principal = await ctx.auth.authenticate(request.headers.get("authorization"))
    request.state.project_id = principal.project_id  # for the request log
    # Every write accepts web keys: browser widgets write with their one web key (widget §6.2).
    principal.require(WEB)
    # Counted only once its body is in: a client sending its body slowly (or never) must not
    # hold one of the bounded slots; the body read has a deadline of its own (docs/decisions.md).
    body = await read_json(request, operation.body_type, ctx.settings)
    # Before anything is prepared or stored, so what a project redacts never reaches the disk,
    # the idempotency store or a log (threadline.privacy).
    redactor = await ctx.redaction.redactor(principal.project_id)
    if redactor is not None:
        body = redact_body(body, redactor)
    with ctx.writes.take(retry_after=ctx.settings.retry_after_seconds):
        return await _write(request, ctx, principal, body, operation)


async def commit(ctx: Services, job: Job[T]) -> T:
    """Run a bodiless write (a delete) through the writer, under the same bound on writes."""
    with ctx.writes.take(retry_after=ctx.settings.retry_after_seconds):
        return await ctx.writer.submit(job)


async def _write(
    request: Request, ctx: Services, principal: Principal, body: Any, operation: WriteOperation
) -> Response:
    job = operation.prepare(principal, body, ctx.settings)
    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(operation.answer(await ctx.writer.submit(job)))
    return await idempotent_write(
        ctx,
        principal=principal,
        key=key,
        request_fingerprint=fingerprint(request.url.path, body),
        job=job,
        answer=operation.answer,
    )
