"""One full-text index entry per conversation, for conversation text search.

Searching the index of messages (migration 0015) finds messages: a common word's matches had to
be grouped into conversations (through the map of migration 0017), each conversation read for the
page's filters and order, and on PostgreSQL every matching message's heap row (which holds its
text) visited. Here each conversation has one document built from its messages' folded text, so
a match is a conversation (docs/decisions.md, "Conversation text search, one entry per
conversation").

On SQLite a separator token stands between messages, so a phrase never runs from one message
into the next: a private-use character (a word to FTS5's tokenizer, never one of a query's words,
which are letters, digits and marks). PostgreSQL's documents say only which words a conversation
holds: a tsvector keeps at most 256 positions of a word and none past 16,383, so phrases are
looked for in the messages' own index (query.text_search). A conversation's document holds its
messages, in order, up to the one that takes their text past 200,000 characters (`chars` counts
them all: the content's length, or its parts' JSON text's, plus 3 each, SQLite's separator, on
both backends), the limit of one message's: a PostgreSQL tsvector holds at most 1 MB.

SQLite: an FTS5 table `conversation_search` (rowid = conversations.seq), the messages' text read
from `message_search`. The triggers of migration 0015 on messages are replaced by ones that keep
both indexes in order (the message's row in `message_search` first, then its conversation's
document from it), so the text is folded once per write. PostgreSQL: a table keyed by the
conversation's seq that also holds what the search filters and sorts on (project, id, first
message time, creation time) beside the tsvector and a GIN index, so a search reads nothing else.

Kept by triggers on both backends: a message inserted (appended to its conversation's document),
changed, moved or deleted (the document built again from the messages); a conversation inserted
(built from any messages that came first), deleted, renamed or re-timed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_MAX_CHARS = 200_000  # store.search_text.MAX_CONVERSATION_CHARS

# --- SQLite -------------------------------------------------------------------------------------

_SEPARATOR = " \ue000 "  # store.search_text.SQLITE_SEPARATOR: three characters
_SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE conversation_search USING fts5(text, chars UNINDEXED, "
    "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
)
# A message's share of the cap.
_SQLITE_CHARS = "3 + length(coalesce({row}.content, {row}.content_parts, ''))"
# The document and `chars` of the conversation (project, id): each message's indexed text after
# a separator, in order, up to the cap.
_SQLITE_DOCUMENT = (
    "(SELECT coalesce(group_concat(CASE WHEN upto <= {cap} THEN '{sep}' || t END, ''), ''), "
    "coalesce(max(upto), 0) FROM ("
    "SELECT s.text AS t, sum({n}) OVER (ORDER BY m.position, m.seq) AS upto "
    "FROM messages m JOIN message_search s ON s.rowid = m.seq "
    "WHERE m.project_id = {row}.project_id AND m.conversation_id = {row}.{id}))"
)


def _document(row: str, id_column: str) -> str:
    return _SQLITE_DOCUMENT.format(
        cap=_MAX_CHARS, sep=_SEPARATOR, row=row, id=id_column, n=_SQLITE_CHARS.format(row="m")
    )


def _rebuild(row: str) -> str:
    """Rebuild the document of the conversation of message `row` (old or new)."""
    return (
        f"UPDATE conversation_search SET (text, chars) = {_document(row, 'conversation_id')} "
        "WHERE rowid = (SELECT seq FROM conversations "
        f"WHERE project_id = {row}.project_id AND id = {row}.conversation_id); "
    )


_NEW_TEXT = "(SELECT text FROM message_search WHERE rowid = new.seq)"
_TEXT_OF_NEW = "threadline_search_text(new.content, new.content_parts)"
_CONTENT_CHANGED = "old.content IS NOT new.content OR old.content_parts IS NOT new.content_parts"
_MOVED = "old.project_id IS NOT new.project_id OR old.conversation_id IS NOT new.conversation_id"
_SQLITE_TRIGGERS = (
    # Replace 0015's triggers on messages: both indexes, in this order, in one trigger each.
    "DROP TRIGGER messages_search_insert",
    "DROP TRIGGER messages_search_update",
    "DROP TRIGGER messages_search_delete",
    "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN "
    f"INSERT INTO message_search (rowid, text) VALUES (new.seq, {_TEXT_OF_NEW}); "
    f"UPDATE conversation_search SET chars = chars + {_SQLITE_CHARS.format(row='new')}, "
    f"text = CASE WHEN chars + {_SQLITE_CHARS.format(row='new')} <= {_MAX_CHARS} "
    f"THEN text || '{_SEPARATOR}' || {_NEW_TEXT} ELSE text END "
    "WHERE rowid = (SELECT seq FROM conversations "
    "WHERE project_id = new.project_id AND id = new.conversation_id); END",
    "CREATE TRIGGER messages_search_update AFTER UPDATE OF content, content_parts ON messages "
    f"WHEN {_CONTENT_CHANGED} BEGIN "
    f"UPDATE message_search SET text = {_TEXT_OF_NEW} WHERE rowid = new.seq; "
    f"{_rebuild('new')}END",
    "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM message_search WHERE rowid = old.seq; "
    f"{_rebuild('old')}END",
    "CREATE TRIGGER messages_search_move AFTER UPDATE OF project_id, conversation_id "
    f"ON messages WHEN {_MOVED} BEGIN {_rebuild('old')}{_rebuild('new')}END",
    "CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN "
    "INSERT INTO conversation_search (rowid, text, chars) "
    f"SELECT new.seq, * FROM {_document('new', 'id')}; END",
    "CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations BEGIN "
    "DELETE FROM conversation_search WHERE rowid = old.seq; END",
    "CREATE TRIGGER conversations_search_rename AFTER UPDATE OF project_id, id "
    "ON conversations WHEN old.project_id IS NOT new.project_id OR old.id IS NOT new.id BEGIN "
    f"UPDATE conversation_search SET (text, chars) = {_document('new', 'id')} "
    "WHERE rowid = new.seq; END",
)
_SQLITE_BACKFILL = (
    "INSERT INTO conversation_search (rowid, text, chars) "
    f"SELECT seq, coalesce(group_concat(CASE WHEN upto <= {_MAX_CHARS} "
    f"THEN '{_SEPARATOR}' || t END, ''), ''), coalesce(max(upto), 0) FROM ("
    "SELECT c.seq, s.text AS t, "
    f"sum(CASE WHEN m.seq IS NOT NULL THEN {_SQLITE_CHARS.format(row='m')} END) "
    "OVER (PARTITION BY c.seq ORDER BY m.position, m.seq) AS upto FROM conversations c "
    "LEFT JOIN messages m ON m.project_id = c.project_id AND m.conversation_id = c.id "
    "LEFT JOIN message_search s ON s.rowid = m.seq) GROUP BY seq"
)

# --- PostgreSQL ---------------------------------------------------------------------------------

_PG_TABLE = (
    "CREATE TABLE conversation_search ("
    "conversation_seq BIGINT NOT NULL PRIMARY KEY, project_id VARCHAR(64) NOT NULL, "
    "id TEXT NOT NULL, first_message_at BIGINT, created_at BIGINT NOT NULL, "
    "chars INTEGER NOT NULL, document tsvector NOT NULL) "
    # A row past PostgreSQL's ~2 kB threshold (a long conversation) is toasted down to 128
    # bytes, its document out of line; shorter rows, most of them, stay whole in the heap
    # (toasting starts at ~2 kB whatever this says: docs/performance.md, i-textsearch).
    "WITH (toast_tuple_target = 128)"
)
# A message's share of the cap: its raw text's length, and 3 as SQLite counts its separator.
_PG_CHARS = "3 + length(coalesce({row}.content, {row}.content_parts::text, ''))"
_PG_FUNCTIONS = (
    "CREATE AGGREGATE threadline_tsvector_concat(tsvector) "
    "(SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '')",
    f"""
CREATE FUNCTION threadline_conversation_document(
    project text, conversation text, OUT document tsvector, OUT chars integer
) LANGUAGE sql STABLE AS $$
SELECT coalesce(threadline_tsvector_concat(d ORDER BY position, seq)
                FILTER (WHERE upto <= {_MAX_CHARS}), ''),
       coalesce(max(upto), 0)::integer
FROM (
    SELECT m.position, m.seq, m.search_document AS d,
           sum(m.n) OVER (ORDER BY m.position, m.seq) AS upto
    FROM (SELECT position, seq, search_document, {_PG_CHARS.format(row="messages")} AS n
          FROM messages WHERE project_id = project AND conversation_id = conversation) m
) x
$$
""",
    """
CREATE FUNCTION threadline_rebuild_conversation_search(project text, conversation text)
RETURNS void AS $$
BEGIN
    -- The row's lock first, in a statement of its own: a post appending to this conversation
    -- in another transaction holds it until it commits, and only a statement begun after that
    -- sees the appended message (READ COMMITTED takes a snapshot per statement). Read in the
    -- UPDATE's own snapshot, the message was lost from the document.
    PERFORM 1 FROM conversation_search s JOIN conversations c ON s.conversation_seq = c.seq
    WHERE c.project_id = project AND c.id = conversation FOR UPDATE OF s;
    UPDATE conversation_search s SET (document, chars) = (
        SELECT d.document, d.chars FROM threadline_conversation_document(project, conversation) d
    )
    FROM conversations c
    WHERE c.project_id = project AND c.id = conversation AND s.conversation_seq = c.seq;
END
$$ LANGUAGE plpgsql
""",
    f"""
CREATE FUNCTION threadline_search_message() RETURNS trigger AS $$
DECLARE
    n integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        n := {_PG_CHARS.format(row="NEW")};
        UPDATE conversation_search s
        SET document = CASE WHEN s.chars + n <= {_MAX_CHARS}
                THEN s.document || NEW.search_document ELSE s.document END,
            chars = s.chars + n
        FROM conversations c
        WHERE c.project_id = NEW.project_id AND c.id = NEW.conversation_id
          AND s.conversation_seq = c.seq;
        RETURN NULL;
    END IF;
    PERFORM threadline_rebuild_conversation_search(OLD.project_id, OLD.conversation_id);
    IF TG_OP = 'UPDATE' AND (OLD.project_id, OLD.conversation_id)
            IS DISTINCT FROM (NEW.project_id, NEW.conversation_id) THEN
        PERFORM threadline_rebuild_conversation_search(NEW.project_id, NEW.conversation_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
    """
CREATE FUNCTION threadline_search_conversation() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM conversation_search WHERE conversation_seq = OLD.seq;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO conversation_search
            (conversation_seq, project_id, id, first_message_at, created_at, document, chars)
        SELECT NEW.seq, NEW.project_id, NEW.id, NEW.first_message_at, NEW.created_at,
               d.document, d.chars
        FROM threadline_conversation_document(NEW.project_id, NEW.id) d;
        RETURN NULL;
    END IF;
    UPDATE conversation_search
    SET project_id = NEW.project_id, id = NEW.id, first_message_at = NEW.first_message_at,
        created_at = NEW.created_at
    WHERE conversation_seq = NEW.seq;
    IF (OLD.project_id, OLD.id) IS DISTINCT FROM (NEW.project_id, NEW.id) THEN
        PERFORM threadline_rebuild_conversation_search(NEW.project_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
""",
)
_PG_TRIGGERS = (
    "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages "
    "FOR EACH ROW EXECUTE FUNCTION threadline_search_message()",
    "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages "
    "FOR EACH ROW EXECUTE FUNCTION threadline_search_message()",
    "CREATE TRIGGER messages_search_change AFTER UPDATE OF content, content_parts, project_id, "
    "conversation_id ON messages FOR EACH ROW WHEN ("
    "OLD.content IS DISTINCT FROM NEW.content "
    "OR OLD.content_parts IS DISTINCT FROM NEW.content_parts "
    "OR OLD.project_id IS DISTINCT FROM NEW.project_id "
    "OR OLD.conversation_id IS DISTINCT FROM NEW.conversation_id) "
    "EXECUTE FUNCTION threadline_search_message()",
    "CREATE TRIGGER conversations_search AFTER INSERT OR DELETE ON conversations "
    "FOR EACH ROW EXECUTE FUNCTION threadline_search_conversation()",
    "CREATE TRIGGER conversations_search_change AFTER UPDATE OF project_id, id, "
    "first_message_at, created_at ON conversations FOR EACH ROW WHEN ("
    "OLD.project_id IS DISTINCT FROM NEW.project_id OR OLD.id IS DISTINCT FROM NEW.id "
    "OR OLD.first_message_at IS DISTINCT FROM NEW.first_message_at "
    "OR OLD.created_at IS DISTINCT FROM NEW.created_at) "
    "EXECUTE FUNCTION threadline_search_conversation()",
)
# In the conversations' order (about their time order): new conversations are added at the end
# of the table too, so a period's rows stay near each other (the BRIN index in upgrade()).
_PG_BACKFILL = f"""
INSERT INTO conversation_search
    (conversation_seq, project_id, id, first_message_at, created_at, document, chars)
SELECT c.seq, c.project_id, c.id, c.first_message_at, c.created_at,
       coalesce(d.document, ''), coalesce(d.chars, 0)
FROM conversations c
LEFT JOIN (
    SELECT project_id, conversation_id,
           threadline_tsvector_concat(d ORDER BY position, seq)
               FILTER (WHERE upto <= {_MAX_CHARS}) AS document,
           max(upto)::integer AS chars
    FROM (
        SELECT project_id, conversation_id, position, seq,
               search_document AS d,
               sum(n) OVER (PARTITION BY project_id, conversation_id
                            ORDER BY position, seq) AS upto
        FROM (SELECT project_id, conversation_id, position, seq, search_document,
                     {_PG_CHARS.format(row="messages")} AS n FROM messages) m
    ) x
    GROUP BY project_id, conversation_id
) d ON d.project_id = c.project_id AND d.conversation_id = c.id
ORDER BY c.seq
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_TABLE)
        for statement in _PG_FUNCTIONS:
            op.execute(statement)
        op.execute(_PG_BACKFILL)
        op.execute(
            "CREATE INDEX ix_conversation_search_document ON conversation_search "
            "USING gin (document)"
        )
        # A period's block ranges: ANDed with the GIN index's matches, a 30-day search of a
        # common word reads a quarter of the table's pages instead of all of them.
        op.execute(
            "CREATE INDEX ix_conversation_search_time ON conversation_search "
            "USING brin ((coalesce(first_message_at, created_at))) WITH (autosummarize = on)"
        )
        for trigger in _PG_TRIGGERS:
            op.execute(trigger)
        op.execute("ANALYZE conversation_search")
        return
    op.execute(_SQLITE_TABLE)
    op.execute(_SQLITE_BACKFILL)
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in (
            ("messages_search_insert", "messages"),
            ("messages_search_delete", "messages"),
            ("messages_search_change", "messages"),
            ("conversations_search", "conversations"),
            ("conversations_search_change", "conversations"),
        ):
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute("DROP FUNCTION threadline_search_conversation()")
        op.execute("DROP FUNCTION threadline_search_message()")
        op.execute("DROP FUNCTION threadline_rebuild_conversation_search(text, text)")
        op.execute("DROP FUNCTION threadline_conversation_document(text, text)")
        op.execute("DROP AGGREGATE threadline_tsvector_concat(tsvector)")
        op.execute("DROP TABLE conversation_search")
        return
    for name in ("insert", "update", "delete", "move"):
        op.execute(f"DROP TRIGGER messages_search_{name}")
    for name in ("insert", "delete", "rename"):
        op.execute(f"DROP TRIGGER conversations_search_{name}")
    op.execute("DROP TABLE conversation_search")
    # 0015's triggers on messages, as they were.
    op.execute(
        "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN "
        f"INSERT INTO message_search (rowid, text) VALUES (new.seq, {_TEXT_OF_NEW}); END"
    )
    op.execute(
        "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN "
        "DELETE FROM message_search WHERE rowid = old.seq; END"
    )
    op.execute(
        "CREATE TRIGGER messages_search_update AFTER UPDATE OF content, content_parts ON "
        f"messages BEGIN UPDATE message_search SET text = {_TEXT_OF_NEW} WHERE rowid = new.seq; END"
    )
