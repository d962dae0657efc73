"""Feedback: an upsert by (project, id) (reference §10.4)."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping

from threadline.ids import new_id
from threadline.store.dialect import insert_or_update
from threadline.store.fields import sent
from threadline.store.tables import feedback
from threadline.timestamps import now_us
from threadline.wire.feedback import FeedbackIn

_COLUMNS = {
    "type": "type",
    "messageId": "message_id",
    "reasons": "reasons",
    "details": "details",
    "sources": "sources",
    "properties": "properties",
    "userProperties": "user_properties",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
_OPTIONAL = ("reasons", "details", "sources", "properties", "user_properties")


def upsert_feedback(
    connection: Connection, *, project_id: str, integration_id: str, body: FeedbackIn
) -> RowMapping:
    now = now_us()
    given = sent(body, _COLUMNS)
    # Absent or null timestamps mean "now" on a new row; an update keeps the creation time.
    created_at = given.pop("created_at", None)
    given["updated_at"] = given.pop("updated_at", None) or now
    # On a conflict, only what the client sent is updated; the rest keeps its stored value.
    update = set(given)
    if created_at:
        update.add("created_at")
    row = {
        "project_id": project_id,
        "id": body.id or new_id("fb"),
        "integration_id": integration_id,
        **dict.fromkeys(_OPTIONAL),
        **given,
        "created_at": created_at or now,
    }
    statement = insert_or_update(connection, feedback, ("project_id", "id"), update)
    return connection.execute(statement, row).mappings().one()
