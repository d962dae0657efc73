"""Prebuilt statements (threadline.store.prebuilt) store exactly what SQLAlchemy's inserts stored,
and read back exactly what SQLAlchemy reads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, Table, Text, cast, select
from sqlalchemy.exc import NoResultFound

from threadline.store import conversations as conversation_store
from threadline.store import events as event_store
from threadline.store import idempotency, message_merge
from threadline.store.engine import Database
from threadline.store.events import EventWrite, insert_events, prepare_event
from threadline.store.prebuilt import (
    MULTIROW_MAX,
    PrebuiltInsert,
    PrebuiltSelect,
    PrebuiltUpdate,
)
from threadline.store.tables import conversations, events, feedback, idempotency_keys, messages
from threadline.wire.events import ConversationEventIn, MessageEventIn, SearchEventIn

# JSON with what could go wrong in an encoding: key order, nesting, non-ASCII, escapes, numbers
# and explicit nulls inside (a null column is SQL NULL: the columns are none_as_null).
DATA = {"z": 1, "a": [1.5, None, True, 'é ✓ "q" \\ \n'], "n": {"k": {"deep": -3}}, "e": {}}


def _row(table: Table, project_id: str) -> dict[str, Any]:
    """A full row for the table: JSON columns get DATA or None, the rest short plain values."""
    row: dict[str, Any] = {}
    for i, column in enumerate(table.c):
        if isinstance(column.type, JSON):
            row[column.name] = DATA if i % 2 else None
        elif column.name.endswith("_at"):
            row[column.name] = 1_767_225_600_000_000 + i
        elif column.name.endswith(("_count", "position", "status")):
            row[column.name] = i
        else:
            row[column.name] = f"ü{i}"
    row.pop("seq", None)
    # Both rows go in the same table: its keys hold the project (or the key that wrote it).
    row.update(project_id=project_id, key_id=project_id)
    return row


_NOT_COMPARED = ("seq", "project_id", "key_id")


def _stored(db: Database, table: Table, project_id: str) -> list[tuple[Any, ...]]:
    """Every other column, JSON as the database's own text of it."""
    columns = [
        cast(c, Text) if isinstance(c.type, JSON) else c
        for c in table.c
        if c.name not in _NOT_COMPARED
    ]
    with db.reader.connect() as connection:
        query = select(*columns).where(table.c.project_id == project_id)
        return [tuple(row) for row in connection.execute(query)]


PREBUILT = [
    pytest.param(events, event_store._INSERT, id="events"),
    pytest.param(conversations, conversation_store._INSERT, id="conversations"),
    pytest.param(messages, message_merge._INSERT, id="messages"),
    pytest.param(idempotency_keys, idempotency._INSERT, id="idempotency"),
]


@pytest.mark.parametrize(("table", "insert"), PREBUILT)
def test_rows_are_stored_as_sqlalchemy_stored_them(
    db: Database, table: Table, insert: PrebuiltInsert
) -> None:
    # The same row through SQLAlchemy's compiled insert (as before issue 14) and through the
    # prebuilt one, under two projects; what the insert leaves out (defaults) must match too.
    sent = insert.columns
    old, new = _row(table, "before"), _row(table, "after")
    with db.writer.begin() as connection:
        connection.execute(table.insert(), {name: old[name] for name in sent})
        assert insert.execute(connection, [insert.parameters(new)]) == 1
    before, after = _stored(db, table, "before"), _stored(db, table, "after")
    assert len(after) == 1 and after == before


def test_a_conflicting_row_is_not_counted(db: Database) -> None:
    body = MessageEventIn(type="t", messageId="m", id="e1")
    parameters = event_store._INSERT.parameters(
        prepare_event(project_id="p", integration_id="i", body=body).row
    )
    with db.writer.begin() as connection:
        inserted = event_store._INSERT.execute(connection, [parameters, parameters])
    assert inserted == 1


def test_many_rows_are_stored_in_order_and_counted_once(db: Database) -> None:
    # More rows than one SQLite statement takes, not a power of two, with ids repeated within
    # one statement and across statements: each stored once, in the order sent.
    count = MULTIROW_MAX * 2 + 37
    ids = [f"e{i}" for i in range(count)] + ["e3", f"e{MULTIROW_MAX + 5}", "e3"]
    rows = [
        event_store._INSERT.parameters(
            prepare_event(
                project_id="p",
                integration_id="i",
                body=MessageEventIn(type="t", messageId="m", id=i),
            ).row
        )
        for i in ids
    ]
    with db.writer.begin() as connection:
        assert event_store._INSERT.execute(connection, rows) == count
    with db.reader.connect() as connection:
        stored = connection.execute(select(events.c.id).order_by(events.c.seq)).scalars().all()
    assert stored == ids[:count]


def test_every_entity_type_and_time_is_stored(db: Database) -> None:
    bodies = [
        MessageEventIn(type="a", messageId="m", id="e1", properties=DATA),
        ConversationEventIn(type="b", conversationId="c", id="e2", userProperties={"id": "u"}),
        SearchEventIn(type="c", searchQuery="q", id="e3", createdAt=None),
    ]
    writes = [
        prepare_event(project_id="p", integration_id="i", body=body, now=7_000) for body in bodies
    ]
    with db.writer.begin() as connection:
        answers = insert_events(connection, writes)
    assert [dict(a) for a in answers] == [w.row for w in writes]
    with db.reader.connect() as connection:
        stored = connection.execute(select(events).order_by(events.c.id))
        rows = [{k: v for k, v in row.items() if k != "seq"} for row in stored.mappings()]
    assert rows == [w.row for w in writes]
    assert [r["entity_type"] for r in rows] == ["message", "conversation", "search"]
    assert [r["created_at"] for r in rows] == [7_000] * 3


def test_an_id_stored_before_answers_the_stored_event(db: Database) -> None:
    def write(event_id: str, event_type: str) -> EventWrite:
        body = MessageEventIn(type=event_type, messageId="m", id=event_id, properties={"b": 1})
        return prepare_event(project_id="p", integration_id="i", body=body, now=1_000)

    with db.writer.begin() as connection:
        insert_events(connection, [write("e1", "first")])
    again = write("e1", "first")  # sent again exactly as stored: a retry
    with db.writer.begin() as connection:
        answers = insert_events(connection, [write("e1", "second"), write("e2", "new"), again])
    assert [(a["id"], a["type"]) for a in answers] == [
        ("e1", "first"),
        ("e2", "new"),
        ("e1", "first"),
    ]
    assert answers[2] is again.row and answers[0]["properties"] == {"b": 1}
    with db.reader.connect() as connection:
        assert sorted(connection.execute(select(events.c.id)).scalars()) == ["e1", "e2"]


def _read(db: Database, table: Table, project_id: str) -> list[dict[str, Any]]:
    """The rows as SQLAlchemy reads them (JSON decoded by the engine's JSON type)."""
    with db.reader.connect() as connection:
        query = select(table).where(table.c.project_id == project_id).order_by(table.c.seq)
        return [dict(row) for row in connection.execute(query).mappings()]


@pytest.mark.parametrize("table", [conversations, messages, feedback])
def test_rows_read_back_are_what_sqlalchemy_reads(db: Database, table: Table) -> None:
    # JSON key order included: on PostgreSQL both see JSONB's order, on SQLite the text's.
    row = _row(table, "p")
    with db.writer.begin() as connection:
        connection.execute(table.insert(), row)
        by_key = PrebuiltSelect(table, ("project_id", "id")).rows(connection, ("p", row["id"]))
        among = PrebuiltSelect(table, ("project_id",), among="id", lock=True)
        found = among.rows(connection, ("p",), [row["id"], "absent", row["id"]])
    expected = _read(db, table, "p")
    assert by_key == expected and found == expected
    assert [list(r) for r in by_key] == [list(r) for r in expected]
    assert [list(r["properties"]) for r in by_key if r["properties"]] == [
        list(r["properties"]) for r in expected if r["properties"]
    ]


def test_a_select_among_no_values_reads_nothing(db: Database) -> None:
    with db.writer.begin() as connection:
        connection.execute(messages.insert(), _row(messages, "p"))
        among = PrebuiltSelect(messages, ("project_id",), among="id")
        assert among.rows(connection, ("p",), []) == []


def test_an_update_answers_the_row_as_sqlalchemy_reads_it(db: Database) -> None:
    row = _row(conversations, "p")
    changes = {"properties": {"b": [2, {"y": None}], "a": "é"}, "tags": None, "message_count": 9}
    with db.writer.begin() as connection:
        connection.execute(conversations.insert(), row)
        update = PrebuiltUpdate(conversations, ("project_id", "id"))
        answered = update.execute(connection, changes, ("p", row["id"]))
        with pytest.raises(NoResultFound):
            update.execute(connection, changes, ("p", "absent"))
    stored = _read(db, conversations, "p")
    assert [answered] == stored
    assert stored[0]["tags"] is None and stored[0]["message_count"] == 9
    assert stored[0]["properties"] == changes["properties"]


def test_an_insert_returning_answers_the_row_or_none_on_a_conflict(db: Database) -> None:
    columns = tuple(c.name for c in feedback.c if c.name != "seq")
    insert = PrebuiltInsert(feedback, columns, ("project_id", "id"), returning=columns)
    row = _row(feedback, "p")
    with db.writer.begin() as connection:
        answered = insert.insert_returning(connection, insert.parameters(row))
        assert insert.insert_returning(connection, insert.parameters(row)) is None
    stored = _read(db, feedback, "p")
    assert len(stored) == 1
    assert answered == {k: v for k, v in stored[0].items() if k != "seq"}
