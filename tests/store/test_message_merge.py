"""The incremental merge of a posted history: a re-post reads and writes only what it changes,
and the conversation's counters stay what a recount would give. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from sqlalchemy import event, func, select, update

from threadline.store.conversations import StoredConversation, upsert_conversation
from threadline.store.engine import Database
from threadline.store.tables import changes, messages
from threadline.wire.conversations import ConversationIn
from threadline.wire.decode import decode

LONG = 50


def _history(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": f"m{i}",
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"turn {i}",
            "links": [{"url": f"https://docs.example.com/{i}"}] if i % 2 else None,
            **extra,
        }
        for i in range(count)
    ]


def _upsert(db: Database, messages_: list[dict[str, Any]], **fields: Any) -> StoredConversation:
    body = decode(
        msgspec.json.encode({"id": "c1", "type": "openai", "messages": messages_, **fields}),
        ConversationIn,
    )
    with db.writer.begin() as connection:
        return upsert_conversation(
            connection,
            project_id="p",
            integration_id="i",
            key_kind="api",
            body=body,
            max_messages=1_000,
        )


def _shown(stored: StoredConversation) -> list[dict[str, Any]]:
    """The messages as an answer shows them (a row inserted by this post has no seq yet)."""
    return [{k: v for k, v in row.items() if k != "seq"} for row in stored.messages]


def _message_writes(db: Database) -> int:
    """Message rows written so far, as the change-log triggers saw them."""
    with db.reader.connect() as connection:
        return connection.execute(
            select(func.count()).where(changes.c.table_name == "messages")
        ).scalar_one()


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.writer, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.writer, "before_cursor_execute", record)


def _history_reads(statements: list[str]) -> list[str]:
    """SELECTs from messages that are not limited to named rows (ids or seqs) or one aggregate:
    each reads the whole history."""
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT")
        and "FROM messages" in s
        and not any(
            bound in s
            for bound in (
                "messages.id IN",
                "messages.seq IN",
                "max(messages.position)",
                # store.prebuilt's statements, written without the table's name
                '"id" IN (',
                "max(position)",
            )
        )
    ]


def test_a_widget_repost_writes_only_the_new_message_and_reads_no_history(db: Database) -> None:
    _upsert(db, _history(LONG))
    writes = _message_writes(db)
    with _statements(db) as statements:
        stored = _upsert(db, _history(LONG + 1))
    assert _message_writes(db) == writes + 1
    assert any("FROM messages" in s for s in statements)  # the reads are seen
    assert _history_reads(statements) == []
    assert [m["id"] for m in stored.messages] == [f"m{i}" for i in range(LONG + 1)]


def test_a_small_post_of_a_long_conversation_is_answered_with_what_it_posted(
    db: Database,
) -> None:
    _upsert(db, _history(LONG))
    with _statements(db) as statements:
        stored = _upsert(db, _history(1))
    assert _history_reads(statements) == []
    assert [m["id"] for m in stored.messages] == ["m0"]
    assert stored.conversation["message_count"] == LONG


def test_the_same_post_again_writes_no_message(db: Database) -> None:
    first = _upsert(db, _history(3))
    writes = _message_writes(db)
    again = _upsert(db, _history(3))
    assert _message_writes(db) == writes
    assert _shown(again) == _shown(first)


def test_ids_sent_back_after_a_post_without_them_change_nothing(db: Database) -> None:
    plain = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    first = _upsert(db, plain)
    writes = _message_writes(db)
    with_ids = [{"id": row["id"], **m} for row, m in zip(first.messages, plain, strict=True)]
    assert _shown(_upsert(db, with_ids)) == _shown(first)
    assert _message_writes(db) == writes


def test_rows_without_a_digest_are_compared_and_then_recognised(db: Database) -> None:
    # Messages stored before revision 0006 (or by the demo loader) have no digest.
    _upsert(db, _history(4))
    with db.writer.begin() as connection:
        connection.execute(update(messages).values(digest=None))
    edited = _history(4)
    edited[2]["content"] = "edited"
    writes = _message_writes(db)
    stored = _upsert(db, edited)
    assert [m["content"] for m in stored.messages] == ["turn 0", "turn 1", "edited", "turn 3"]
    assert _message_writes(db) == writes + 4  # one changed, three only given their digest
    assert _shown(_upsert(db, edited)) == _shown(stored)
    assert _message_writes(db) == writes + 4


def _recounted(db: Database) -> tuple[int, int, int]:
    in_c1 = (messages.c.project_id == "p", messages.c.conversation_id == "c1")
    with db.reader.connect() as connection:
        row = connection.execute(
            select(
                func.count(),
                func.count().filter(messages.c.role == "user"),
                func.min(messages.c.created_at),
            ).where(*in_c1)
        ).one()
    return row[0], row[1], row[2]


def _counters(stored: StoredConversation) -> tuple[int, int, int]:
    row = stored.conversation
    return row["message_count"], row["user_message_count"], row["first_message_at"]


def test_counters_are_carried_forward_as_a_recount_would_give(db: Database) -> None:
    history = _history(4)
    for i, message in enumerate(history):
        message["createdAt"] = f"2026-01-01T00:00:0{i}Z"
    stored = _upsert(db, history)
    assert _counters(stored) == _recounted(db)
    # The first message moves later and becomes an assistant's; a user message is added.
    history[0].update(role="assistant", createdAt="2026-01-01T00:00:09Z")
    history.append({"id": "m4", "role": "user", "content": "more"})
    stored = _upsert(db, history)
    assert _counters(stored) == _recounted(db)
    assert stored.conversation["message_count"] == 5
    assert stored.conversation["user_message_count"] == 2


def test_a_new_conversation_is_inserted_with_its_first_message_time(db: Database) -> None:
    """Set on the insert, not only by the merge's update after it, so nothing keyed by that
    time moves within the post (SQLite's search document, migration 0019)."""
    inserted: list[dict[str, Any]] = []

    def record(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.lstrip().startswith("INSERT INTO conversations"):
            columns = [
                name.strip(' "') for name in statement.split("(", 1)[1].split(")")[0].split(",")
            ]
            inserted.append(dict(zip(columns, parameters, strict=True)))

    event.listen(db.writer, "before_cursor_execute", record)
    try:
        posted = _history(3, createdAt="2026-01-02T00:00:00Z")
        posted[1]["createdAt"] = "2026-01-01T00:00:00Z"
        stored = _upsert(db, posted)
    finally:
        event.remove(db.writer, "before_cursor_execute", record)
    assert [row["first_message_at"] for row in inserted] == [1_767_225_600_000_000]
    assert stored.conversation["first_message_at"] == 1_767_225_600_000_000
