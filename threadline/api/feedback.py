"""POST /feedback (seed 000, reference §6.1)."""

from __future__ import annotations

import functools

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.writes import WriteOperation, handle_write
from threadline.auth import Principal
from threadline.store.feedback import upsert_feedback
from threadline.store.writer import Job
from threadline.timestamps import to_iso
from threadline.wire.feedback import FeedbackIn, FeedbackOut


def feedback_out(row: RowMapping) -> FeedbackOut:
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


def prepare_feedback(principal: Principal, body: FeedbackIn) -> Job[RowMapping]:
    return functools.partial(
        upsert_feedback,
        project_id=principal.project_id,
        integration_id=principal.integration_id,
        body=body,
    )


LOG_FEEDBACK = WriteOperation(FeedbackIn, prepare_feedback, feedback_out)


async def log_feedback(request: Request) -> Response:
    # Web keys too: the seed says API keys, but browser widgets send thumbs up/down with their
    # one web key (reference §11.1, widget §6.2).
    return await handle_write(request, LOG_FEEDBACK)


routes = [Route("/feedback", log_feedback, methods=["POST"])]
