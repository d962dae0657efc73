"""POST /events (seed 001, reference §5.1)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.body import read_json
from threadline.api.responses import JSONResponse, services
from threadline.auth import WEB
from threadline.store.events import insert_event
from threadline.timestamps import to_iso
from threadline.wire.events import (
    ConversationEventOut,
    EventIn,
    EventOut,
    MessageEventOut,
    SearchEventOut,
)


def event_out(row: RowMapping) -> EventOut:
    common: dict[str, Any] = {
        "id": row["id"],
        "type": row["type"],
        "createdAt": to_iso(row["created_at"]),
        "projectId": row["project_id"],
        "integrationId": row["integration_id"],
        "properties": row["properties"],
        "userProperties": row["user_properties"],
    }
    entity_type = row["entity_type"]
    if entity_type == "message":
        return MessageEventOut(messageId=row["message_id"], **common)
    if entity_type == "conversation":
        return ConversationEventOut(conversationId=row["conversation_id"], **common)
    return SearchEventOut(searchQuery=row["search_query"], **common)


async def log_event(request: Request) -> Response:
    ctx = services(request)
    principal = await ctx.auth.authenticate(request.headers.get("authorization"))
    principal.require(WEB)
    body: EventIn = await read_json(request, EventIn, ctx.settings.max_body_bytes)
    row = await ctx.writer.submit(
        functools.partial(
            insert_event,
            project_id=principal.project_id,
            integration_id=principal.integration_id,
            body=body,
        )
    )
    return JSONResponse(event_out(row))


routes = [Route("/events", log_event, methods=["POST"])]
