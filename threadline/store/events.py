"""Events: append-only; a client-supplied id is stored once and never twice (reference §10.5).

An event write is prepared (its row built) on the request's side, and the writer inserts all the
event writes of one commit with a single executemany of a prebuilt statement (store.prebuilt):
the per-statement and per-row costs, not the database, are what bound event ingest
(docs/performance.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from msgspec import UNSET
from sqlalchemy import Connection, bindparam, select

from threadline.ids import new_id
from threadline.store.prebuilt import PrebuiltInsert
from threadline.store.tables import events
from threadline.timestamps import now_us, to_us
from threadline.wire.events import ConversationEventIn, EventIn, MessageEventIn, SearchEventIn

_KEY = ("project_id", "id")
_INSERT = PrebuiltInsert(
    events,
    (
        "project_id",
        "id",
        "integration_id",
        "entity_type",
        "type",
        "message_id",
        "conversation_id",
        "search_query",
        "properties",
        "user_properties",
        "created_at",
    ),
    ignore_conflicts_on=_KEY,
)


def _target(body: EventIn) -> tuple[str, str | None, str | None, str | None]:
    """(entity_type, message_id, conversation_id, search_query)."""
    if isinstance(body, MessageEventIn):
        return "message", body.messageId, None, None
    if isinstance(body, ConversationEventIn):
        return "conversation", None, body.conversationId, None
    assert isinstance(body, SearchEventIn)
    return "search", None, None, body.searchQuery


def _given(value: Any) -> Any:
    return None if value is UNSET else value


@dataclasses.dataclass(frozen=True)
class EventWrite:
    """One event to store: a writer job that the writer may batch with others (`run_many`)."""

    row: dict[str, Any]

    def __call__(self, connection: Connection) -> Mapping[str, Any]:
        return insert_events(connection, [self])[0]

    @staticmethod
    def run_many(connection: Connection, writes: Sequence[EventWrite]) -> list[Mapping[str, Any]]:
        return insert_events(connection, writes)


def prepare_event(
    *, project_id: str, integration_id: str, body: EventIn, now: int | None = None
) -> EventWrite:
    """The event's row. `now` (microseconds) is its time when the body gives none: a batch
    reads the clock once for all its events, they arrived together."""
    entity_type, message_id, conversation_id, search_query = _target(body)
    # Written out field by field, not through store.fields.sent: this runs for every item of
    # every batch (issue 14). An absent or null createdAt both mean "now".
    created_at = body.createdAt
    return EventWrite(
        {
            "project_id": project_id,
            "id": body.id or new_id("evt"),
            "integration_id": integration_id,
            "type": body.type,
            "entity_type": entity_type,
            "message_id": message_id,
            "conversation_id": conversation_id,
            "search_query": search_query,
            "properties": _given(body.properties),
            "user_properties": _given(body.userProperties),
            "created_at": (
                (now_us() if now is None else now)
                if created_at is UNSET or created_at is None
                else to_us(created_at)
            ),
        }
    )


def insert_events(connection: Connection, writes: Sequence[EventWrite]) -> list[Mapping[str, Any]]:
    """Store the events; each result is the stored event, which for a repeated id is the one
    stored first (even within this same call)."""
    rows = [write.row for write in writes]
    inserted = _INSERT.execute(connection, [_INSERT.parameters(row) for row in rows])
    if inserted == len(rows):  # the usual case: every id was new
        return list(rows)
    return _with_repeats(connection, rows)


def _with_repeats(connection: Connection, rows: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
    """Some ids were stored already (before, or earlier in this call): those get the stored
    event. A row stored exactly as this call sent it is this call's own (or one it cannot be
    told apart from) and is answered as sent."""
    stored: dict[tuple[str, str], Mapping[str, Any]] = {}
    for project_id in {row["project_id"] for row in rows}:
        ids = [row["id"] for row in rows if row["project_id"] == project_id]
        found = connection.execute(_STORED, {"project_id": project_id, "ids": ids}).mappings()
        stored.update({(project_id, event["id"]): event for event in found})
    results: list[Mapping[str, Any]] = []
    for row in rows:
        event = stored[(row["project_id"], row["id"])]
        same = all(event[column] == row[column] for column in _INSERT.columns)
        results.append(row if same else event)
    return results


# One expanding parameter: a call's ids are bound as one list.
_STORED = select(events).where(
    events.c.project_id == bindparam("project_id"),
    events.c.id.in_(bindparam("ids", expanding=True)),
)
