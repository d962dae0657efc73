"""POST /batch: events, feedback and conversations in one request, answered item by item.

A threadline extension (Inkeep has no batch ingest). Up to 1,000 items and the usual body limit.
Every item is checked against its own endpoint's schema; the good ones commit together in one
transaction before the answer, the bad ones are answered with their problem, in item order.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.conversations import LOG_CONVERSATION
from threadline.api.events import LOG_EVENT
from threadline.api.feedback import LOG_FEEDBACK
from threadline.api.writes import WriteOperation, handle_write
from threadline.auth import Principal
from threadline.config import Settings
from threadline.errors import ThreadlineError, problem_body
from threadline.store.batch import BatchWrite, Item
from threadline.store.events import prepare_event
from threadline.timestamps import now_us
from threadline.wire.batch import BatchIn, BatchOut, BatchResultOut
from threadline.wire.decode import decode_part

_OPERATIONS: dict[str, WriteOperation] = {
    "event": LOG_EVENT,
    "feedback": LOG_FEEDBACK,
    "conversation": LOG_CONVERSATION,
}


@dataclasses.dataclass(frozen=True)
class _Batch:
    """The writer job, carrying each item's kind along so each answer is encoded by its kind."""

    kinds: list[str]
    write: BatchWrite

    def __call__(self, connection: Connection) -> tuple[list[str], list[Any]]:
        return self.kinds, self.write(connection)


def _prepare(principal: Principal, batch: BatchIn, settings: Settings) -> _Batch:
    items: list[Item] = []
    # One clock reading for the batch: its events arrived together (and to_iso of one value
    # is then computed once per batch, not once per event, when they are answered).
    now = now_us()
    for item in batch.items:
        operation = _OPERATIONS[item.kind]
        try:
            # read_json decoded the whole body first, so each item is decode_part's to take.
            body = decode_part(item.body, operation.body_type)
            if operation is LOG_EVENT:  # the common item: prepared without the indirection
                items.append(
                    prepare_event(
                        project_id=principal.project_id,
                        integration_id=principal.integration_id,
                        body=body,
                        now=now,
                    )
                )
            else:
                items.append(operation.prepare(principal, body, settings))
        except ThreadlineError as exc:  # the body's schema, or a limit (messages per post)
            items.append(exc)
    return _Batch(kinds=[item.kind for item in batch.items], write=BatchWrite(items))


def _answer(result: tuple[list[str], list[Any]]) -> BatchOut:
    kinds, outcomes = result
    results = []
    for index, (kind, outcome) in enumerate(zip(kinds, outcomes, strict=True)):
        if isinstance(outcome, ThreadlineError):
            error = problem_body(outcome, instance=f"/batch#/items/{index}")
            results.append(BatchResultOut(status=outcome.status, error=error))
        else:
            results.append(BatchResultOut(status=200, body=_OPERATIONS[kind].answer(outcome)))
    accepted = sum(1 for r in results if r.status == 200)
    return BatchOut(results=results, accepted=accepted, rejected=len(results) - accepted)


LOG_BATCH = WriteOperation(BatchIn, _prepare, _answer)


async def log_batch(request: Request) -> Response:
    return await handle_write(request, LOG_BATCH)


routes = [Route("/batch", log_batch, methods=["POST"])]
