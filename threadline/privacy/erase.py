"""Erasing one end user (GDPR art. 17, CCPA): every row about them, in one transaction.

A user is who `userProperties.userId` or `userProperties.id` names (as text: 42 and "42" are one
user, as in the search statistics). Erased are, within one project:

- conversations naming the user, and every message of them;
- messages naming the user in anyone's conversation (a support ticket's customer turns);
- feedback naming the user, or rating an erased message;
- events naming the user, or about an erased conversation or message;
- semantic threads naming the user or cut from an erased conversation, with their embeddings
  (thread_vectors) and the erased conversations' places in the insight queue;
- Idempotency-Key answers that hold any of it: a replay would hand it out again.

The deletes are logged in `changes` by triggers (events too, migration 0011), so the columnar
copy drops the same rows at its next sync. Subjects (insight_subjects) are aggregates over many
users and stay; a subject formed from this user's questions alone loses its threads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Table,
    Text,
    and_,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, array

from threadline.store.tables import (
    conversations,
    events,
    feedback,
    idempotency_keys,
    insights_queue,
    messages,
    semantic_threads,
    thread_vectors,
)
from threadline.wire.users import Erased

_CHUNK = 500  # ids per IN (...) list


def _names_user(table: Table, user_id: str) -> ColumnElement[bool]:
    # as_string() is ->> on PostgreSQL and JSON_EXTRACT on SQLite: a number compares as its text.
    user_properties = table.c.user_properties
    return or_(
        user_properties["userId"].as_string() == user_id,
        user_properties["id"].as_string() == user_id,
    )


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _ids(connection: Connection, column: Any, *conditions: ColumnElement[bool]) -> set[str]:
    return set(connection.execute(select(column).where(*conditions)).scalars())


def _ids_in(
    connection: Connection, column: Any, project: ColumnElement[bool], key: Any, values: set[str]
) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(values):
        found |= _ids(connection, column, project, key.in_(chunk))
    return found


def _delete_ids(connection: Connection, table: Table, project_id: str, ids: set[str]) -> int:
    removed = 0
    for chunk in _chunks(ids):
        result = connection.execute(
            delete(table).where(table.c.project_id == project_id, table.c.id.in_(chunk))
        )
        removed += result.rowcount
    return removed


def _threads_of_conversations(
    connection: Connection, project_id: str, conversation_ids: set[str]
) -> set[str]:
    """Threads cut from these conversations: by the pipeline's index, and by the threads' own
    conversationIds (threads written by other means have no index row)."""
    t, v = semantic_threads.c, thread_vectors.c
    found = _ids_in(
        connection, v.thread_id, v.project_id == project_id, v.conversation_id, conversation_ids
    )
    for chunk in _chunks(conversation_ids):
        if connection.dialect.name == "postgresql":
            listed = type_coerce(t.conversation_ids, JSONB).has_any(cast(array(chunk), ARRAY(Text)))
        else:
            element = func.json_each(t.conversation_ids).table_valued("value")
            listed = exists(select(1).select_from(element).where(element.c.value.in_(chunk)))
        found |= _ids(connection, t.id, t.project_id == project_id, listed)
    return found


def _recount(connection: Connection, project_id: str, conversation_ids: set[str]) -> None:
    """Conversations of other users that lost messages: their counts as the rest now gives."""
    m = messages.c
    for conversation_id in sorted(conversation_ids):
        own = and_(m.project_id == project_id, m.conversation_id == conversation_id)
        connection.execute(
            update(conversations)
            .where(conversations.c.project_id == project_id, conversations.c.id == conversation_id)
            .values(
                message_count=select(func.count()).where(own).scalar_subquery(),
                user_message_count=select(func.count())
                .where(own, m.role == "user")
                .scalar_subquery(),
                first_message_at=select(func.min(m.created_at)).where(own).scalar_subquery(),
            )
        )


def _holds_erased(document: Any, user_id: str, erased_ids: set[str]) -> bool:
    """Whether a stored answer (parsed JSON) names the user or an erased record."""
    if isinstance(document, list):
        return any(_holds_erased(item, user_id, erased_ids) for item in document)
    if not isinstance(document, dict):
        return False
    user = document.get("userProperties")
    if isinstance(user, dict) and any(
        _as_text(user.get(key)) == user_id for key in ("userId", "id")
    ):
        return True
    for key in ("id", "messageId", "conversationId"):
        if _as_text(document.get(key)) in erased_ids:
            return True
    return any(
        _holds_erased(value, user_id, erased_ids)
        for value in document.values()
        if isinstance(value, dict | list)
    )


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _erase_answers(
    connection: Connection, project_id: str, user_id: str, erased_ids: set[str]
) -> int:
    """Idempotency answers (kept a day) that would replay something erased."""
    k = idempotency_keys.c
    doomed = []
    rows = connection.execute(
        select(k.key_id, k.key, k.response).where(k.project_id == project_id),
        execution_options={"yield_per": 1000},
    )
    for key_id, key, response in rows:
        try:
            document = msgspec.json.decode(response)
        except msgspec.DecodeError:
            document = None
        if _holds_erased(document, user_id, erased_ids) or (
            document is None and user_id in response
        ):
            doomed.append((key_id, key))
    for key_id, key in doomed:
        connection.execute(delete(idempotency_keys).where(k.key_id == key_id, k.key == key))
    return len(doomed)


@dataclasses.dataclass(frozen=True)
class NamedEvents:
    """The ids of the events naming the user among those up to seq `up_to` (events are never
    updated: a later scan need only look past it)."""

    ids: frozenset[str]
    up_to: int


# Seqs below the scanned top that may still commit later on PostgreSQL (several instances take
# sequence values before they commit; transactions last milliseconds): scanned again.
LATE_COMMIT_MARGIN = 10_000


def find_named_events(connection: Connection, *, project_id: str, user_id: str) -> NamedEvents:
    """The slow part of an erasure, a scan of the project's events' JSON, done beforehand on a
    reader connection so the writer (and with it every ingest on SQLite) is not held for it:
    ~2.7 s for 300,000 events on a busy 2-core machine (docs/operations.md)."""
    e = events.c
    top = connection.execute(select(func.max(e.seq))).scalar() or 0
    ids = _ids(connection, e.id, e.project_id == project_id, _names_user(events, user_id))
    return NamedEvents(frozenset(ids), int(top))


def erase_user(
    connection: Connection,
    *,
    project_id: str,
    user_id: str,
    named_events: NamedEvents | None = None,
) -> Erased:
    """Delete everything about `user_id` in the project (see the module's docstring); run it in
    one transaction (a writer job, or the CLI's). `named_events`, from find_named_events on a
    reader just before, spares the transaction the scan of old events."""
    c, m, f, e = conversations.c, messages.c, feedback.c, events.c
    if named_events is None:
        named_events = NamedEvents(frozenset(), -1)
    # Events named since that scan, or committed late below its top, are looked for here.
    late = named_events.up_to - LATE_COMMIT_MARGIN
    erased = Erased()
    # Locked (PostgreSQL; SQLite's writer is single anyway): an upsert of one of them on another
    # instance waits for the erasure, then finds no conversation and starts a new one, instead
    # of adding a message to a conversation being deleted.
    conversation_ids = set(
        connection.execute(
            select(c.id)
            .where(c.project_id == project_id, _names_user(conversations, user_id))
            .with_for_update()
        ).scalars()
    )
    message_ids = _ids(
        connection, m.id, m.project_id == project_id, _names_user(messages, user_id)
    ) | _ids_in(connection, m.id, m.project_id == project_id, m.conversation_id, conversation_ids)
    # Other users' conversations that held some of the user's messages.
    touched = (
        _ids_in(connection, m.conversation_id, m.project_id == project_id, m.id, message_ids)
        - conversation_ids
    )
    feedback_ids = _ids(
        connection, f.id, f.project_id == project_id, _names_user(feedback, user_id)
    ) | _ids_in(connection, f.id, f.project_id == project_id, f.message_id, message_ids)
    event_ids = (
        set(named_events.ids)
        | _ids(
            connection,
            e.id,
            e.project_id == project_id,
            e.seq > late,
            _names_user(events, user_id),
        )
        | _ids_in(connection, e.id, e.project_id == project_id, e.conversation_id, conversation_ids)
        | _ids_in(connection, e.id, e.project_id == project_id, e.message_id, message_ids)
    )
    t = semantic_threads.c
    thread_ids = _ids(
        connection, t.id, t.project_id == project_id, _names_user(semantic_threads, user_id)
    ) | _threads_of_conversations(connection, project_id, conversation_ids)

    erased.conversations = _delete_ids(connection, conversations, project_id, conversation_ids)
    erased.messages = _delete_ids(connection, messages, project_id, message_ids)
    erased.feedback = _delete_ids(connection, feedback, project_id, feedback_ids)
    erased.events = _delete_ids(connection, events, project_id, event_ids)
    erased.semanticThreads = _delete_ids(connection, semantic_threads, project_id, thread_ids)
    v, q = thread_vectors.c, insights_queue.c
    for chunk in _chunks(thread_ids):
        erased.threadEmbeddings += connection.execute(
            delete(thread_vectors).where(v.project_id == project_id, v.thread_id.in_(chunk))
        ).rowcount
    for chunk in _chunks(conversation_ids):
        erased.threadEmbeddings += connection.execute(
            delete(thread_vectors).where(v.project_id == project_id, v.conversation_id.in_(chunk))
        ).rowcount
        erased.insightQueue += connection.execute(
            delete(insights_queue).where(q.project_id == project_id, q.conversation_id.in_(chunk))
        ).rowcount
    _recount(connection, project_id, touched)
    all_ids = conversation_ids | message_ids | feedback_ids | event_ids | thread_ids
    erased.idempotencyAnswers = _erase_answers(connection, project_id, user_id, all_ids)
    return erased
