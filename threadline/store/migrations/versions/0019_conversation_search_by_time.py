"""SQLite's conversation documents keyed by time and marked with their project, so that a text
search's count and newest-first page are answered by the full-text index alone.

With rowid = the conversation's seq (migration 0018), a common word's search found each
matching conversation by primary key to keep its project and period, then sorted all of them
by time: at 10M events `api key` over 90 days (114,808 matches) spent ~90 ms on the lookups and
~100-130 ms on the sort, the index's own matching ~29 ms (docs/performance.md). Here the rowid
is a time key: the quarter hour of the conversation's first message (else its creation) in the
high bits, its seq in the low 37 (store.search_text.SQLITE_KEY_*), so a period is a rowid range and
FTS5's descending rowid order is newest first; and a second indexed column, `project`, holds
one word naming the project (a private-use character, which no query word holds, then the id's
UTF-8 in hex), so MATCH keeps one project's. The default rank gives that column no weight, so
scores are the text's alone.

The triggers of 0018 are replaced by the same ones finding a conversation's document by its
key, plus one that moves the document when the conversation's time changes (its first message
arrives, its creation time is re-posted): the old key's row takes the new key. PostgreSQL is
unchanged (its table holds the project and times beside the document already).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 21:45:00
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_0018 = importlib.import_module("threadline.store.migrations.versions.0018_conversation_search")
_MAX_CHARS = _0018._MAX_CHARS
_SEPARATOR = _0018._SEPARATOR
_MARK = "\ue001"  # store.search_text.SQLITE_PROJECT_MARK
_SEQ_BITS = 37  # store.search_text.SQLITE_KEY_SEQ_BITS
_MASK = (1 << _SEQ_BITS) - 1

_TABLE = (
    "CREATE VIRTUAL TABLE {name} USING fts5(text, project, chars UNINDEXED, "
    "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
)
# bm25 of the text alone: the project's word would add a constant-like term to every score.
_RANK = (
    "INSERT INTO conversation_search (conversation_search, rank) VALUES ('rank', 'bm25(1.0, 0.0)')"
)


def _key(row: str) -> str:
    """The document's rowid for the conversation `row`: quarter hour (store.search_text.sqlite_slot:
    SQLite's integer division truncates, and the clamp makes it agree) then seq."""
    time = f"coalesce({row}.first_message_at, {row}.created_at)"
    return f"((min(max({time} / 900000000, 0), 67108863) << {_SEQ_BITS}) | {row}.seq)"


def _word(row: str) -> str:
    return f"'{_MARK}' || lower(hex({row}.project_id))"


_CHARS = _0018._SQLITE_CHARS
# The document and `chars` of the conversation (project, id), built as 0018 builds them.
_document = _0018._document


def _of_message(row: str) -> str:
    """The key of the document of message `row`'s conversation (NULL while it has none)."""
    return (
        f"(SELECT {_key('c')} FROM conversations c "
        f"WHERE c.project_id = {row}.project_id AND c.id = {row}.conversation_id)"
    )


def _rebuild(row: str) -> str:
    return (
        f"UPDATE conversation_search SET (text, chars) = {_document(row, 'conversation_id')} "
        f"WHERE rowid = {_of_message(row)}; "
    )


def _insert(row: str) -> str:
    return (
        "INSERT INTO conversation_search (rowid, text, chars, project) "
        f"SELECT {_key(row)}, *, {_word(row)} FROM {_document(row, 'id')}; "
    )


_NEW_TEXT = "(SELECT text FROM message_search WHERE rowid = new.seq)"
_TEXT_OF_NEW = "threadline_search_text(new.content, new.content_parts)"
_CONTENT_CHANGED = "old.content IS NOT new.content OR old.content_parts IS NOT new.content_parts"
_MOVED = "old.project_id IS NOT new.project_id OR old.conversation_id IS NOT new.conversation_id"
_RENAMED = "old.project_id IS NOT new.project_id OR old.id IS NOT new.id"
_TRIGGERS = (
    "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN "
    f"INSERT INTO message_search (rowid, text) VALUES (new.seq, {_TEXT_OF_NEW}); "
    f"UPDATE conversation_search SET chars = chars + {_CHARS.format(row='new')}, "
    f"text = CASE WHEN chars + {_CHARS.format(row='new')} <= {_MAX_CHARS} "
    f"THEN text || '{_SEPARATOR}' || {_NEW_TEXT} ELSE text END "
    f"WHERE rowid = {_of_message('new')}; END",
    "CREATE TRIGGER messages_search_update AFTER UPDATE OF content, content_parts ON messages "
    f"WHEN {_CONTENT_CHANGED} BEGIN "
    f"UPDATE message_search SET text = {_TEXT_OF_NEW} WHERE rowid = new.seq; "
    f"{_rebuild('new')}END",
    "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM message_search WHERE rowid = old.seq; "
    f"{_rebuild('old')}END",
    "CREATE TRIGGER messages_search_move AFTER UPDATE OF project_id, conversation_id "
    f"ON messages WHEN {_MOVED} BEGIN {_rebuild('old')}{_rebuild('new')}END",
    f"CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN "
    f"{_insert('new')}END",
    "CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations BEGIN "
    f"DELETE FROM conversation_search WHERE rowid = {_key('old')}; END",
    # Renamed (a new project or id): built again from the messages under the new name.
    "CREATE TRIGGER conversations_search_rename AFTER UPDATE OF project_id, id "
    f"ON conversations WHEN {_RENAMED} BEGIN "
    f"DELETE FROM conversation_search WHERE rowid = {_key('old')}; {_insert('new')}END",
    # Re-timed only: the same document under its new key (FTS5 moves a row whose rowid changes).
    "CREATE TRIGGER conversations_search_retime AFTER UPDATE OF first_message_at, created_at "
    f"ON conversations WHEN {_key('old')} IS NOT {_key('new')} AND NOT ({_RENAMED}) BEGIN "
    f"UPDATE conversation_search SET rowid = {_key('new')} WHERE rowid = {_key('old')}; END",
)
_0018_TRIGGERS = (
    "messages_search_insert",
    "messages_search_update",
    "messages_search_delete",
    "messages_search_move",
    "conversations_search_insert",
    "conversations_search_delete",
    "conversations_search_rename",
)
# In key order: FTS5 writes its pending words out whenever a rowid is lower than the last one,
# so an unordered fill would make a segment per row.
_BACKFILL = (
    "INSERT INTO conversation_search (rowid, text, chars, project) "
    "SELECT k.key, s.text, s.chars, k.word FROM ("
    f"SELECT {_key('c')} AS key, c.seq, {_word('c')} AS word FROM conversations c "
    "ORDER BY key LIMIT -1) k "
    "JOIN conversation_search_0018 s ON s.rowid = k.seq ORDER BY k.key"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for name in _0018_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("ALTER TABLE conversation_search RENAME TO conversation_search_0018")
    op.execute(_TABLE.format(name="conversation_search"))
    op.execute(_RANK)
    op.execute(_BACKFILL)
    op.execute("DROP TABLE conversation_search_0018")
    for statement in _TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for name in (*_0018_TRIGGERS, "conversations_search_retime"):
        op.execute(f"DROP TRIGGER {name}")
    op.execute("ALTER TABLE conversation_search RENAME TO conversation_search_0019")
    op.execute(_0018._SQLITE_TABLE)
    op.execute(
        "INSERT INTO conversation_search (rowid, text, chars) "
        f"SELECT rowid & {_MASK}, text, chars FROM conversation_search_0019 "
        f"ORDER BY rowid & {_MASK}"
    )
    op.execute("DROP TABLE conversation_search_0019")
    for statement in _0018._SQLITE_TRIGGERS[3:]:  # not 0018's DROPs of 0015's triggers
        op.execute(statement)
