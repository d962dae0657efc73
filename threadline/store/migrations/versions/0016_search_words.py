"""PostgreSQL's text index splits words at punctuation, as SQLite's FTS5 and the query do.

The default parser of to_tsvector keeps an e-mail address, a host, a URL, a file path or a
version number as one token ("help@acme.io", "v2.1"), while a query's words are split at every
punctuation character (store.search_text.words), so "acme" or "v2.1" found them on SQLite only.
threadline_search_text now also puts a space for each ASCII punctuation character, as
store.search_text.document_text does (tests/store/test_search_text.py compares the two), and
every stored message's document is computed again. The function stays self-contained (built-in
functions only): pg_restore computes the generated column with an empty search_path. SQLite
needs nothing: its tokenizer splits there already.

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

# Migration 0015's text of a message, unchanged: folded, unspaced scripts set apart.
_FOLDED = r"""
regexp_replace(
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
"""
# ASCII punctuation (the characters of [[:punct:]] in the C locale, spelled out so that no
# locale changes them).
_PUNCTUATION = r"'[!-/:-@\[-`{-~]'"


def _function(body: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION threadline_search_text(content text, parts jsonb) "
        f"RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {body} $$"
    )


def _rebuild() -> None:
    """The generated column and its index made again: a stored generated column is not
    recomputed when its function changes."""
    op.execute("DROP INDEX ix_messages_search_document")
    op.execute("ALTER TABLE messages DROP COLUMN search_document")
    op.execute(
        "ALTER TABLE messages ADD COLUMN search_document tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple'::regconfig, threadline_search_text(content, content_parts))) "
        "STORED"
    )  # rewrites the table, every document computed again
    op.execute("CREATE INDEX ix_messages_search_document ON messages USING gin (search_document)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_function(f"regexp_replace({_FOLDED}, {_PUNCTUATION}, ' ', 'g')"))
    _rebuild()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_function(_FOLDED))
    _rebuild()
