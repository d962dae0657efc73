"""PostgreSQL's text index splits words at punctuation, as SQLite's and the query do.

The default parser of to_tsvector keeps an e-mail address, a host, a URL, a file path or a
version number as one token ("help@acme.io", "v2.1"), while a query's words are split at every
punctuation character (store.search_text.words), so "acme" or "v2.1" did not find them on
PostgreSQL; SQLite's FTS5 splits them. The generated column now indexes
threadline_search_words: the folded text with ASCII punctuation replaced by spaces
(store.search_text.index_words_text; tests/store/test_search_text.py compares the two). Every
stored message's document is computed again. SQLite needs nothing: its tokenizer already splits
there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 13:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_FUNCTION = r"""
CREATE FUNCTION threadline_search_words(content text, parts jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT regexp_replace(threadline_search_text(content, parts), '[!-/:-@\[-`{-~]', ' ', 'g')
$$
"""


def _document_column(function: str) -> str:
    return (
        "ALTER TABLE messages ADD COLUMN search_document tsvector GENERATED ALWAYS AS "
        f"(to_tsvector('simple'::regconfig, {function}(content, content_parts))) STORED"
    )


def _rebuild(function: str) -> None:
    op.execute("DROP INDEX ix_messages_search_document")
    op.execute("ALTER TABLE messages DROP COLUMN search_document")
    op.execute(_document_column(function))  # rewrites the table, every document computed again
    op.execute("CREATE INDEX ix_messages_search_document ON messages USING gin (search_document)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    _rebuild("threadline_search_words")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild("threadline_search_text")
    op.execute("DROP FUNCTION threadline_search_words(text, jsonb)")
