"""The feedback operations: POST /feedback (seed 000, reference §6.1), GET /feedback (§6.3),
GET and DELETE /feedback/{id} (§6.4, §6.5)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.api.paging import page
from threadline.api.reads import read
from threadline.api.responses import JSONResponse, authorized
from threadline.api.routing import route
from threadline.api.writes import WriteOperation, commit, handle_write
from threadline.auth import API_ONLY, Principal
from threadline.config import Settings
from threadline.errors import NotFound, Unprocessable
from threadline.store.feedback import (
    FeedbackContext,
    delete_feedback,
    get_feedback,
    list_feedback,
    upsert_feedback,
)
from threadline.store.writer import Job, locking
from threadline.timestamps import to_iso
from threadline.wire.common import Deleted
from threadline.wire.feedback import FeedbackIn, FeedbackList, FeedbackOut, FeedbackWithContext
from threadline.wire.stored import conversation_out, message_out


def feedback_out(row: Mapping[Any, Any]) -> FeedbackOut:
    return FeedbackOut(
        id=row["id"],
        type=row["type"],
        messageId=row["message_id"],
        createdAt=to_iso(row["created_at"]),
        updatedAt=to_iso(row["updated_at"]),
        reasons=row["reasons"],
        details=row["details"],
        properties=row["properties"],
        userProperties=row["user_properties"],
        sources=row["sources"],
    )


def prepare_feedback(
    principal: Principal, body: FeedbackIn, _settings: Settings
) -> Job[Mapping[Any, Any]]:
    job = functools.partial(
        upsert_feedback,
        project_id=principal.project_id,
        integration_id=principal.integration_id,
        key_kind=principal.kind,
        body=body,
    )
    # Its one lock is the feedback's row (feedback without an id is a new row).
    return locking(job, "feedback", principal.project_id, body.id) if body.id else job


LOG_FEEDBACK = WriteOperation(FeedbackIn, prepare_feedback, feedback_out)


async def log_feedback(request: Request) -> Response:
    # Web keys too: the seed says API keys, but browser widgets send thumbs up/down with their
    # one web key (reference §11.1, widget §6.2).
    return await handle_write(request, LOG_FEEDBACK)


def feedback_with_context_out(context: FeedbackContext) -> FeedbackWithContext:
    """Feedback with its rated message and conversation (reference §6.2); both must be stored."""
    if context.message is None or context.conversation is None:
        raise Unprocessable(
            f"Feedback {context.feedback['id']!r} rates message "
            f"{context.feedback['message_id']!r}, which is not stored in this project; it can be "
            "counted but not shown with its conversation."
        )
    kind = context.conversation.conversation["type"]
    return FeedbackWithContext(
        **msgspec.structs.asdict(feedback_out(context.feedback)),
        conversation=conversation_out(context.conversation),
        message=message_out(kind, context.message),
    )


async def get_all_feedback(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    asked = page(request, default_limit=10)
    totals, pages = await read(
        ctx, list_feedback, project_id=principal.project_id, limit=asked.limit, offset=asked.offset
    )
    return JSONResponse(
        FeedbackList(
            positiveFeedbackCount=totals["positive"],
            negativeFeedbackCount=totals["negative"],
            positiveFeedback=[feedback_with_context_out(c) for c in pages["positive"]],
            negativeFeedback=[feedback_with_context_out(c) for c in pages["negative"]],
        )
    )


async def get_feedback_by_id(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    feedback_id = request.path_params["id"]
    context = await read(
        ctx, get_feedback, project_id=principal.project_id, feedback_id=feedback_id
    )
    if context is None:
        raise NotFound(f"No feedback {feedback_id!r} in this project.")
    return JSONResponse(feedback_with_context_out(context))


async def delete_feedback_by_id(request: Request) -> Response:
    ctx, principal = await authorized(request, API_ONLY)
    feedback_id = request.path_params["id"]
    job = functools.partial(
        delete_feedback, project_id=principal.project_id, feedback_id=feedback_id
    )
    if not await commit(ctx, job):
        raise NotFound(f"No feedback {feedback_id!r} in this project.")
    return JSONResponse(Deleted(success=True, message="Feedback deleted successfully"))


routes = [
    route("/feedback", POST=log_feedback, GET=get_all_feedback),
    route("/feedback/{id}", GET=get_feedback_by_id, DELETE=delete_feedback_by_id),
]
