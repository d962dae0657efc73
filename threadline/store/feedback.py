"""Feedback: an upsert by (project, id) (reference §10.4)."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping

from threadline.ids import new_id
from threadline.store.dialect import upsert
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


def upsert_feedback(
    connection: Connection, *, project_id: str, integration_id: str, body: FeedbackIn
) -> RowMapping:
    now = now_us()
    given = sent(body, _COLUMNS)
    # Absent or null timestamps mean "now" on a new row; an update keeps the creation time.
    created_at = given.pop("created_at", None)
    updated_at = given.pop("updated_at", None) or now
    row = {
        "project_id": project_id,
        "id": body.id or new_id("fb"),
        "integration_id": integration_id,
        **given,
        "created_at": created_at or now,
        "updated_at": updated_at,
    }
    changes = {**given, "updated_at": updated_at}
    if created_at:
        changes["created_at"] = created_at
    statement = (
        upsert(connection, feedback)
        .values(**row)
        .on_conflict_do_update(index_elements=["project_id", "id"], set_=changes)
        .returning(*feedback.c)
    )
    return connection.execute(statement).mappings().one()
