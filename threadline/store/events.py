"""Events: append-only; a client-supplied id is stored once and never twice (reference §10.5).

An event write is prepared (its row built) on the request's side, and the writer inserts all the
event writes of one commit with a single executemany: the per-statement cost, not SQLite, is what
bounds single-event ingest (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection

from threadline.ids import new_id
from threadline.store.dialect import insert_ignore, select_where, where
from threadline.store.fields import sent
from threadline.store.tables import events
from threadline.timestamps import given_or, now_us
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


@dataclasses.dataclass(frozen=True)
class EventWrite:
    """One event to store: a writer job that the writer may batch with others (`run_many`)."""

    row: dict[str, Any]

    def __call__(self, connection: Connection) -> Mapping[str, Any]:
        return insert_events(connection, [self])[0]

    @staticmethod
    def run_many(connection: Connection, writes: Sequence[EventWrite]) -> list[Mapping[str, Any]]:
        return insert_events(connection, writes)


def prepare_event(*, project_id: str, integration_id: str, body: EventIn) -> EventWrite:
    given = sent(body, _COLUMNS)
    return EventWrite(
        {
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
            "created_at": given_or(given.get("created_at"), now_us()),
        }
    )


def insert_events(connection: Connection, writes: Sequence[EventWrite]) -> list[Mapping[str, Any]]:
    """Store the events; each result is the stored event, which for a repeated id is the one
    stored first (even within this same call)."""
    statement = insert_ignore(connection, events, _KEY, returning=False).returning(events.c.id)
    inserted = set(connection.execute(statement, [w.row for w in writes]).scalars())
    results: list[Mapping[str, Any]] = []
    for write in writes:
        event_id = write.row["id"]
        if event_id in inserted:
            inserted.discard(event_id)  # a later duplicate in this batch reads the first back
            results.append(write.row)
            continue
        first = where(project_id=write.row["project_id"], id=event_id)
        stored = connection.execute(select_where(events, _KEY), first).mappings().one()
        results.append(cast(Mapping[str, Any], stored))
    return results
