"""Feedback: an upsert by (project, id) (reference §10.4), reads with context, and deletes.

A feedback read carries the rated message and its whole conversation (reference §6.2). Feedback
whose message is not stored cannot be shown that way: it is counted, never listed
(docs/decisions.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, exists, func, select

from threadline.ids import new_id
from threadline.store.conversations import StoredConversation, messages_of
from threadline.store.dialect import insert_or_update, select_where, where
from threadline.store.fields import sent
from threadline.store.keys import KeyKind
from threadline.store.ownership import check_may_change
from threadline.store.prebuilt import PrebuiltInsert
from threadline.store.tables import conversations, feedback, messages
from threadline.timestamps import given_or, now_us
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
_KEY = ("project_id", "id")
_LOCK = select_where(feedback, _KEY).with_for_update()
_STORED = tuple(column.name for column in feedback.c if column.name != "seq")
# A new feedback, the usual case, is one prebuilt statement (store.prebuilt). Its answer comes
# from RETURNING, as SQLAlchemy's insert's did: PostgreSQL's JSONB orders object keys its own
# way, and the answer must show them as a later GET does.
_INSERT = PrebuiltInsert(feedback, _STORED, ignore_conflicts_on=_KEY, returning=_STORED)


def upsert_feedback(
    connection: Connection,
    *,
    project_id: str,
    integration_id: str,
    key_kind: KeyKind,
    body: FeedbackIn,
) -> Mapping[Any, Any]:
    now = now_us()
    given = sent(body, _COLUMNS)
    # Absent or null timestamps mean "now" on a new row; an update keeps the creation time.
    created_at = given.pop("created_at", None)
    given["updated_at"] = given_or(given.pop("updated_at", None), now)
    # On a conflict, only what the client sent is updated; the rest keeps its stored value.
    update = set(given)
    if created_at is not None:
        update.add("created_at")
    row = {
        "project_id": project_id,
        "id": body.id or new_id("fb"),
        "integration_id": integration_id,
        "key_kind": key_kind,
        **dict.fromkeys(_OPTIONAL),
        **given,
        "created_at": given_or(created_at, now),
    }
    created = _INSERT.insert_returning(connection, _INSERT.parameters(row))
    if created is not None:
        return created
    # Stored already (a new id never is): checked, locked, before anything in it changes.
    stored = connection.execute(_LOCK, where(project_id=row["project_id"], id=row["id"]))
    check_may_change(
        stored.mappings().one(),
        key_kind=key_kind,
        integration_id=integration_id,
        user_properties=body.userProperties,
        what="feedback",
    )
    statement = insert_or_update(connection, feedback, _KEY, update)
    return connection.execute(statement, row).mappings().one()


@dataclasses.dataclass(frozen=True)
class FeedbackContext:
    """A feedback row, the rated message and its conversation; None where not stored."""

    feedback: RowMapping
    message: RowMapping | None
    conversation: StoredConversation | None


# The rated message is stored, and so is its conversation.
_RENDERABLE = exists(
    select(messages.c.seq)
    .join(
        conversations,
        (conversations.c.project_id == messages.c.project_id)
        & (conversations.c.id == messages.c.conversation_id),
    )
    .where(messages.c.project_id == feedback.c.project_id, messages.c.id == feedback.c.message_id)
)


def _with_context(
    connection: Connection, project_id: str, rows: Sequence[RowMapping]
) -> list[FeedbackContext]:
    """Attach messages and conversations to feedback rows with three queries in all."""
    if not rows:
        return []
    rated = {
        row["id"]: row
        for row in connection.execute(
            select(messages).where(
                messages.c.project_id == project_id,
                messages.c.id.in_({row["message_id"] for row in rows}),
            )
        ).mappings()
    }
    conversation_ids = {message["conversation_id"] for message in rated.values()}
    parents = {
        row["id"]: row
        for row in connection.execute(
            select(conversations).where(
                conversations.c.project_id == project_id,
                conversations.c.id.in_(conversation_ids),
            )
        ).mappings()
    }
    history = messages_of(connection, project_id=project_id, conversation_ids=parents)
    stored = {
        id_: StoredConversation(conversation=row, messages=history[id_])
        for id_, row in parents.items()
    }
    contexts = []
    for row in rows:
        message = rated.get(row["message_id"])
        conversation = None if message is None else stored.get(message["conversation_id"])
        contexts.append(FeedbackContext(row, message, conversation))
    return contexts


def list_feedback(
    connection: Connection, *, project_id: str, limit: int, offset: int
) -> tuple[dict[str, int], dict[str, list[FeedbackContext]]]:
    """Project totals per type, and per type one page of renderable feedback, newest first."""
    in_project = feedback.c.project_id == project_id
    totals = dict.fromkeys(("positive", "negative"), 0)
    counted = connection.execute(
        select(feedback.c.type, func.count()).where(in_project).group_by(feedback.c.type)
    )
    totals.update({kind: total for kind, total in counted})
    pages: dict[str, list[FeedbackContext]] = {"positive": [], "negative": []}
    if limit == 0:
        return totals, pages
    rows: list[RowMapping] = []
    for kind in pages:
        rows.extend(
            connection.execute(
                select(feedback)
                .where(in_project, feedback.c.type == kind, _RENDERABLE)
                .order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).mappings()
        )
    for context in _with_context(connection, project_id, rows):
        pages[context.feedback["type"]].append(context)
    return totals, pages


def get_feedback(
    connection: Connection, *, project_id: str, feedback_id: str
) -> FeedbackContext | None:
    row = (
        connection.execute(
            select(feedback).where(
                feedback.c.project_id == project_id, feedback.c.id == feedback_id
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _with_context(connection, project_id, [row])[0]


def delete_feedback(connection: Connection, *, project_id: str, feedback_id: str) -> bool:
    """Delete one feedback; False if the project has no such id."""
    gone = connection.execute(
        delete(feedback)
        .where(feedback.c.project_id == project_id, feedback.c.id == feedback_id)
        .returning(feedback.c.seq)
    ).first()
    return gone is not None
