"""POST /events (seed 001, reference §5.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from threadline.api.writes import WriteOperation, handle_write
from threadline.auth import Principal
from threadline.config import Settings
from threadline.store.events import EventWrite, prepare_event
from threadline.timestamps import to_iso
from threadline.wire.events import (
    ConversationEventOut,
    EventIn,
    EventOut,
    MessageEventOut,
    SearchEventOut,
)


def event_out(row: Mapping[str, Any]) -> EventOut:
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


def _prepare(principal: Principal, body: EventIn, _settings: Settings) -> EventWrite:
    return prepare_event(
        project_id=principal.project_id, integration_id=principal.integration_id, body=body
    )


LOG_EVENT = WriteOperation(EventIn, _prepare, event_out)


async def log_event(request: Request) -> Response:
    return await handle_write(request, LOG_EVENT)


routes = [Route("/events", log_event, methods=["POST"])]
