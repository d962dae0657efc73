"""POST /feedback (seed 000, reference §6.1)."""

from __future__ import annotations

import functools

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.body import read_json
from threadline.api.responses import JSONResponse, services
from threadline.auth import WEB
from threadline.store.feedback import upsert_feedback
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


async def log_feedback(request: Request) -> Response:
    ctx = services(request)
    principal = await ctx.auth.authenticate(request.headers.get("authorization"))
    # Web keys too: the seed says API keys, but browser widgets send thumbs up/down with their
    # one web key (reference §11.1, widget §6.2).
    principal.require(WEB)
    body: FeedbackIn = await read_json(request, FeedbackIn, ctx.settings.max_body_bytes)
    row = await ctx.writer.submit(
        functools.partial(
            upsert_feedback,
            project_id=principal.project_id,
            integration_id=principal.integration_id,
            body=body,
        )
    )
    return JSONResponse(feedback_out(row))


routes = [Route("/feedback", log_feedback, methods=["POST"])]
