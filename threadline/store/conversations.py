"""Conversations: an upsert by (project, id) of a full snapshot of the message history.

Clients re-send the whole history on every turn (reference §4.4; the Inkeep widget does it twice
per turn). So messages are matched by id, and a message sent without an id gets one derived from
its position (threadline.ids.positional_message_id): re-posting the same history changes nothing,
new messages are appended, and none is ever stored twice. Messages missing from a later post are
kept, and fields a post leaves out keep their stored values (docs/decisions.md). The merge is
incremental (threadline.store.message_merge), and a conversation holds at most a configured
number of messages, so one post's work on the writer stays bounded.

Reads (one, a page, by external id) load the messages of every conversation they return in one
query; a delete removes a conversation and its messages in one writer job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, select

from threadline.errors import Unprocessable
from threadline.ids import new_id
from threadline.store.dialect import select_where, where
from threadline.store.fields import sent
from threadline.store.keys import KeyKind
from threadline.store.message_merge import Message, Target, first_posted_at, merge_messages
from threadline.store.ownership import Access, check_may_change, check_may_delete
from threadline.store.prebuilt import PrebuiltInsert, PrebuiltSelect, PrebuiltUpdate
from threadline.store.tables import conversations, messages
from threadline.timestamps import given_or, now_us
from threadline.wire.conversations import ConversationIn

_CONVERSATION_COLUMNS = {
    "externalId": "external_id",
    "externalUrl": "external_url",
    "supportTicketConversationId": "support_ticket_conversation_id",
    "properties": "properties",
    "userProperties": "user_properties",
    "tags": "tags",
    "visibility": "visibility",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
_EMPTY_CONVERSATION = dict.fromkeys(_CONVERSATION_COLUMNS.values())
_KEY = ("project_id", "id")
# The counters are left to their server defaults (0) until the merge sets them; the first
# message time is set already (message_merge.first_posted_at).
_INSERT = PrebuiltInsert(
    conversations,
    (
        "project_id",
        "id",
        "integration_id",
        "key_kind",
        "type",
        "first_message_at",
        *_CONVERSATION_COLUMNS.values(),
    ),
    ignore_conflicts_on=_KEY,
)


@dataclasses.dataclass(frozen=True)
class StoredConversation:
    conversation: Mapping[Any, Any]
    # Stored message rows (or, in an upsert's answer, rows as this post left them).
    messages: Sequence[Mapping[Any, Any]]


_LOCK = select_where(conversations, _KEY).with_for_update()
_HISTORY = select_where(messages, ("project_id", "conversation_id"), order_by="position")
# The upsert's own statements, prebuilt (store.prebuilt): the widget re-posts a conversation on
# every turn, and SQLAlchemy's per-statement work was most of the writer's cost per post.
_LOCKED = PrebuiltSelect(conversations, _KEY, lock=True)
_UPDATE = PrebuiltUpdate(conversations, _KEY)


def lock_order(project_id: str, conversation_id: str) -> tuple[str, str, str]:
    """Where a write that locks this conversation's row first stands in a batch's lock order
    (store.writer.lock_key): the writer's conversation posts and the insight worker's labels."""
    return ("conversations", project_id, conversation_id)


def _lock_or_create(
    connection: Connection,
    project_id: str,
    conversation_id: str,
    new_row: dict[str, Any],
    posted: tuple[Sequence[Message], int],
) -> dict[str, Any] | None:
    """The stored conversation, locked for this transaction; None if this call created it
    (`posted`: its messages and the post's time)."""
    for row in _LOCKED.rows(connection, (project_id, conversation_id)):
        return row
    first = first_posted_at(*posted)
    created = {**_EMPTY_CONVERSATION, **new_row, "first_message_at": first}
    if _INSERT.execute(connection, [_INSERT.parameters(created)]):
        return None
    # Another instance created it between our two statements: lock theirs.
    return _LOCKED.rows(connection, (project_id, conversation_id))[0]


def _check_stored(
    stored: Mapping[Any, Any], new_row: dict[str, Any], body: ConversationIn
) -> Access:
    """Refuse a post the stored conversation cannot take, or say that it may only append;
    nothing has been written yet. The one place that looks at what is stored before changing
    it: its type, and who may change it (store.ownership)."""
    access = check_may_change(
        stored,
        key_kind=new_row["key_kind"],
        integration_id=new_row["integration_id"],
        user_properties=body.userProperties,
        what="conversations",
        appendable=stored["visibility"] != "public",
    )
    if stored["type"] != new_row["type"]:
        raise Unprocessable(
            f"conversation {new_row['id']!r} is of type {stored['type']!r}; "
            f"it cannot be re-posted as {new_row['type']!r}"
        )
    return access


def _continued(connection: Connection, project_id: str, incoming: Sequence[Message]) -> str | None:
    """The one stored conversation that already holds client message ids of this post.

    The Inkeep widget posts the answered history without `id` when the answer finished before
    its first post's response came back (widget §3-§4): those message ids name the conversation.
    Ids spread over several conversations name none (the post is then refused as before)."""
    ids = [message.id for message in incoming if message.id]
    if not ids:
        return None
    owners = connection.execute(
        select(messages.c.conversation_id)
        .where(messages.c.project_id == project_id, messages.c.id.in_(ids))
        .distinct()
        .limit(2)
    ).scalars()
    found = list(owners)
    return found[0] if len(found) == 1 else None


def upsert_conversation(
    connection: Connection,
    *,
    project_id: str,
    integration_id: str,
    key_kind: KeyKind,
    body: ConversationIn,
    max_messages: int,
) -> StoredConversation:
    """Create or update the conversation and merge the posted messages; the conversation with
    the posted messages as stored.

    At most `max_messages` messages may be stored in it: a post that would add more is refused
    (422) and changes nothing."""
    now = now_us()
    conversation_id = body.id or _continued(connection, project_id, body.messages) or new_id("conv")
    kind = str(type(body).__struct_config__.tag)
    given = sent(body, _CONVERSATION_COLUMNS)
    created_at = given.pop("created_at", None)
    updated_at = given_or(given.pop("updated_at", None), now)
    new_row = {
        "project_id": project_id,
        "id": conversation_id,
        "integration_id": integration_id,
        "key_kind": key_kind,
        "type": kind,
        **given,
        "created_at": given_or(created_at, now),
        "updated_at": updated_at,
    }
    stored = _lock_or_create(connection, project_id, conversation_id, new_row, (body.messages, now))
    access = "full" if stored is None else _check_stored(stored, new_row, body)
    merged = merge_messages(
        connection,
        Target(project_id, conversation_id, stored, max_messages, access == "append"),
        body.messages,
        now,
    )
    changes = merged.changes
    if stored is not None:
        changes["updated_at"] = updated_at
        # Appending moves updatedAt only: what the stored conversation says of itself stays.
        if access == "full":
            changes.update(given)
            if created_at is not None:
                changes["created_at"] = created_at
    row = _UPDATE.execute(connection, changes, (project_id, conversation_id))
    # The posted messages, not the whole history: a client that follows the protocol posts all
    # of it (reference §4.4, widget §3-§4), so for it the two are the same, and a small post of
    # a long conversation gets a small answer without the writer re-reading every stored
    # message. GET /conversations/{id} answers the whole conversation (docs/decisions.md).
    return StoredConversation(conversation=row, messages=merged.rows)


def get_conversation(
    connection: Connection, *, project_id: str, conversation_id: str
) -> StoredConversation | None:
    """The conversation and its messages in order, or None if the project has no such id."""
    row = (
        connection.execute(
            select_where(conversations, _KEY), where(project_id=project_id, id=conversation_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    history = where(project_id=project_id, conversation_id=conversation_id)
    return StoredConversation(
        conversation=row, messages=list(connection.execute(_HISTORY, history).mappings())
    )


def messages_of(
    connection: Connection, *, project_id: str, conversation_ids: Iterable[str]
) -> dict[str, list[RowMapping]]:
    """The messages of several conversations in one query, each list in conversation order."""
    ids = list(dict.fromkeys(conversation_ids))
    by_conversation: dict[str, list[RowMapping]] = {id_: [] for id_ in ids}
    if not ids:
        return by_conversation
    rows = connection.execute(
        select(messages)
        .where(messages.c.project_id == project_id, messages.c.conversation_id.in_(ids))
        .order_by(messages.c.conversation_id, messages.c.position)
    ).mappings()
    for row in rows:
        by_conversation[row["conversation_id"]].append(row)
    return by_conversation


def _with_messages(
    connection: Connection, project_id: str, rows: Sequence[RowMapping]
) -> list[StoredConversation]:
    history = messages_of(
        connection, project_id=project_id, conversation_ids=(row["id"] for row in rows)
    )
    return [StoredConversation(conversation=row, messages=history[row["id"]]) for row in rows]


def list_conversations(
    connection: Connection, *, project_id: str, limit: int, offset: int
) -> tuple[int, list[StoredConversation]]:
    """The project's conversation count and one page of them, newest first (ties by id)."""
    in_project = conversations.c.project_id == project_id
    total = connection.execute(select(func.count()).where(in_project)).scalar_one()
    if limit == 0:
        return total, []
    page = connection.execute(
        select(conversations)
        .where(in_project)
        .order_by(conversations.c.created_at.desc(), conversations.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return total, _with_messages(connection, project_id, list(page))


def get_conversation_by_external_id(
    connection: Connection, *, project_id: str, external_id: str
) -> StoredConversation | None:
    """The project's most recently updated conversation with this externalId, if any."""
    row = (
        connection.execute(
            select(conversations)
            .where(
                conversations.c.project_id == project_id,
                conversations.c.external_id == external_id,
            )
            .order_by(
                conversations.c.updated_at.desc(),
                conversations.c.created_at.desc(),
                conversations.c.id.desc(),
            )
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else _with_messages(connection, project_id, [row])[0]


def delete_conversation(
    connection: Connection,
    *,
    project_id: str,
    conversation_id: str,
    integration_id: str,
    key_kind: KeyKind,
) -> bool:
    """Delete the conversation and its messages if this key may; False if the project has no
    such id."""
    stored = connection.execute(_LOCK, where(project_id=project_id, id=conversation_id))
    row = stored.mappings().first()
    if row is None:
        return False
    check_may_delete(row, key_kind=key_kind, integration_id=integration_id, what="conversations")
    connection.execute(delete(conversations).where(conversations.c.seq == row["seq"]))
    connection.execute(
        delete(messages).where(
            messages.c.project_id == project_id, messages.c.conversation_id == conversation_id
        )
    )
    return True
