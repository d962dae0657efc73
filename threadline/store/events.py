"""Events: append-only; a client-supplied id is stored once and never twice (reference §10.5)."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping

from threadline.ids import new_id
from threadline.store.dialect import insert_ignore, select_where, where
from threadline.store.fields import sent
from threadline.store.tables import events
from threadline.timestamps import now_us
from threadline.wire.events import ConversationEventIn, EventIn, MessageEventIn, SearchEventIn

_COLUMNS = {
    "properties": "properties",
    "userProperties": "user_properties",
    "createdAt": "created_at",
}
_KEY = ("project_id", "id")


def _target(body: EventIn) -> dict[str, str | None]:
    if isinstance(body, MessageEventIn):
        return {"entity_type": "message", "message_id": body.messageId}
    if isinstance(body, ConversationEventIn):
        return {"entity_type": "conversation", "conversation_id": body.conversationId}
    assert isinstance(body, SearchEventIn)
    return {"entity_type": "search", "search_query": body.searchQuery}


def insert_event(
    connection: Connection, *, project_id: str, integration_id: str, body: EventIn
) -> RowMapping:
    """Store the event and return it; a repeated id returns the event stored first."""
    given = sent(body, _COLUMNS)
    row = {
        "project_id": project_id,
        "id": body.id or new_id("evt"),
        "integration_id": integration_id,
        "type": body.type,
        "message_id": None,
        "conversation_id": None,
        "search_query": None,
        **_target(body),
        "properties": given.get("properties"),
        "user_properties": given.get("user_properties"),
        "created_at": given.get("created_at") or now_us(),
    }
    stored = connection.execute(insert_ignore(connection, events, _KEY), row).mappings().first()
    if stored is not None:
        return stored
    found = connection.execute(
        select_where(events, _KEY), where(project_id=project_id, id=row["id"])
    )
    return found.mappings().one()
