"""A full-text index of message text, for conversation text search (query.text_search).

The text indexed is store.search_text's: case and accents folded, each character of Chinese,
Japanese and Korean text a word of its own. SQLite: an FTS5 table `message_search` (rowid =
messages.seq) kept by triggers, which call that Python function (registered on every
connection by store.engine). PostgreSQL: the same function in SQL, a generated tsvector column
`search_document` on messages and a GIN index on it. Both are filled for the messages already
stored.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# store.search_text's document_text, in SQL (tests/store/test_search_text.py compares them):
# the string content, else the text parts of array content; its first 200,000 characters;
# accents off (NFKD, combining diacritical marks removed, NFKC again); lower case, final sigma
# as sigma; each character of an unspaced script set apart by spaces.
_PG_FUNCTION = r"""
CREATE FUNCTION threadline_search_text(content text, parts jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT regexp_replace(
    translate(
        lower(normalize(regexp_replace(
            normalize(left(coalesce(content, (
                SELECT string_agg(element.part ->> 'text', ' ' ORDER BY element.n)
                FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(parts) = 'array' THEN parts ELSE '[]'::jsonb END
                ) WITH ORDINALITY AS element(part, n)
                WHERE jsonb_typeof(element.part -> 'text') = 'string'
            ), ''), 200000), NFKD),
            '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g'
        ), NFKC)),
        U&'\03C2', U&'\03C3'
    ),
    '([\u1100-\u11ff\u2e80-\u2fdf\u3005-\u3007\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f])',
    ' \1 ', 'g'
)
$$
"""
_PG_COLUMN = (
    "ALTER TABLE messages ADD COLUMN search_document tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, threadline_search_text(content, content_parts))) STORED"
)
# The index's words: letters, digits and marks (Indic vowel signs stay in their words, as
# store.search_text.words splits a query). The text is folded already; unicode61 folds again.
_SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE message_search USING fts5(text, "
    "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
)
_TEXT_OF_NEW = "threadline_search_text(new.content, new.content_parts)"
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN "
    f"INSERT INTO message_search (rowid, text) VALUES (new.seq, {_TEXT_OF_NEW}); END",
    # By rowid: deleting needs neither the function nor the text indexed before.
    "CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM message_search WHERE rowid = old.seq; END",
    "CREATE TRIGGER messages_search_update AFTER UPDATE OF content, content_parts ON messages "
    f"BEGIN UPDATE message_search SET text = {_TEXT_OF_NEW} WHERE rowid = new.seq; END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_COLUMN)  # rewrites the table, computing every message's document
        op.execute(
            "CREATE INDEX ix_messages_search_document ON messages USING gin (search_document)"
        )
        return
    op.execute(_SQLITE_TABLE)
    op.execute(
        "INSERT INTO message_search (rowid, text) "
        "SELECT seq, threadline_search_text(content, content_parts) FROM messages"
    )
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_messages_search_document")
        op.execute("ALTER TABLE messages DROP COLUMN search_document")
        op.execute("DROP FUNCTION threadline_search_text(text, jsonb)")
        return
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER messages_search_{name}")
    op.execute("DROP TABLE message_search")
