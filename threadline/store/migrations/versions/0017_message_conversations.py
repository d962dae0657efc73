"""A compact map from each message to its conversation, for conversation text search.

A text search finds matching messages in the full-text index (migration 0015) by `seq`, and
needs their conversations. Read from `messages`, each match was a lookup in rows that hold the
messages' text, then grouping by a text id and a lookup of each conversation by (project, id):
most of a common word's search (docs/performance.md). `message_conversations` holds, for every
message, the `seq` of its conversation row (NULL while there is none): two integers a row, so
the matches are grouped by an integer and their conversations found by primary key.

Kept by triggers in the transaction of every write, on both backends: a message inserted,
deleted or moved; a conversation inserted (its messages may have come first), deleted or
renamed. It is filled for the rows already stored. Like the full-text index it is not in
tables.py: the columnar copy does not copy it, and `threadline copy` leaves it to the target's
own triggers (store.search_text.TRIGGER_KEPT_TABLES).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 15:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_OF_NEW_MESSAGE = (
    "(SELECT seq FROM conversations WHERE project_id = new.project_id AND id = new.conversation_id)"
)
_MESSAGES_OF = (
    "(SELECT seq FROM messages WHERE project_id = {row}.project_id AND conversation_id = {row}.id)"
)
_BACKFILL = (
    "INSERT INTO message_conversations (message_seq, conversation_seq) "
    "SELECT m.seq, c.seq FROM messages m LEFT JOIN conversations c "
    "ON c.project_id = m.project_id AND c.id = m.conversation_id"
)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER messages_conversation_insert AFTER INSERT ON messages BEGIN "
    "INSERT OR REPLACE INTO message_conversations (message_seq, conversation_seq) "
    f"VALUES (new.seq, {_OF_NEW_MESSAGE}); END",
    "CREATE TRIGGER messages_conversation_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM message_conversations WHERE message_seq = old.seq; END",
    "CREATE TRIGGER messages_conversation_update AFTER UPDATE OF project_id, conversation_id "
    f"ON messages BEGIN UPDATE message_conversations SET conversation_seq = {_OF_NEW_MESSAGE} "
    "WHERE message_seq = new.seq; END",
    "CREATE TRIGGER conversations_messages_insert AFTER INSERT ON conversations BEGIN "
    "UPDATE message_conversations SET conversation_seq = new.seq "
    f"WHERE message_seq IN {_MESSAGES_OF.format(row='new')}; END",
    "CREATE TRIGGER conversations_messages_delete AFTER DELETE ON conversations BEGIN "
    "UPDATE message_conversations SET conversation_seq = NULL "
    f"WHERE message_seq IN {_MESSAGES_OF.format(row='old')}; END",
    "CREATE TRIGGER conversations_messages_update AFTER UPDATE OF project_id, id "
    "ON conversations BEGIN "
    "UPDATE message_conversations SET conversation_seq = NULL "
    f"WHERE message_seq IN {_MESSAGES_OF.format(row='old')}; "
    "UPDATE message_conversations SET conversation_seq = new.seq "
    f"WHERE message_seq IN {_MESSAGES_OF.format(row='new')}; END",
)

_PG_FUNCTIONS = (
    f"""
CREATE FUNCTION threadline_map_message() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM message_conversations WHERE message_seq = OLD.seq;
        RETURN NULL;
    END IF;
    INSERT INTO message_conversations (message_seq, conversation_seq)
    VALUES (NEW.seq, {_OF_NEW_MESSAGE})
    ON CONFLICT (message_seq) DO UPDATE SET conversation_seq = EXCLUDED.conversation_seq;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    f"""
CREATE FUNCTION threadline_map_conversation() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE message_conversations SET conversation_seq = NULL
        WHERE message_seq IN {_MESSAGES_OF.format(row="OLD")};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE message_conversations SET conversation_seq = NEW.seq
        WHERE message_seq IN {_MESSAGES_OF.format(row="NEW")};
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
)
_PG_TRIGGERS = (
    "CREATE TRIGGER messages_conversation AFTER INSERT OR DELETE OR UPDATE OF project_id, "
    "conversation_id ON messages FOR EACH ROW EXECUTE FUNCTION threadline_map_message()",
    "CREATE TRIGGER conversations_messages AFTER INSERT OR DELETE OR UPDATE OF project_id, id "
    "ON conversations FOR EACH ROW EXECUTE FUNCTION threadline_map_conversation()",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # On SQLite an INTEGER PRIMARY KEY is the rowid: the row is its two integers.
    key = "BIGINT" if postgresql else "INTEGER"
    op.execute(
        f"CREATE TABLE message_conversations (message_seq {key} NOT NULL PRIMARY KEY, "
        "conversation_seq BIGINT)"
    )
    op.execute(_BACKFILL)
    if postgresql:
        for statement in (*_PG_FUNCTIONS, *_PG_TRIGGERS):
            op.execute(statement)
        return
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER conversations_messages ON conversations")
        op.execute("DROP TRIGGER messages_conversation ON messages")
        op.execute("DROP FUNCTION threadline_map_conversation()")
        op.execute("DROP FUNCTION threadline_map_message()")
    else:
        for name in ("messages_conversation", "conversations_messages"):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {name}_{event}")
    op.execute("DROP TABLE message_conversations")
