"""PostgreSQL: a B-tree on conversation_search's project, time and id, so that a text search's
page is read newest first from the index.

A search of a common word sorted all of its matches by time for one page (`api key` over 90
days at 10M events: 114,778 of them, for page 5's 25). The search now counts its matches in
one statement and reads the page in another (query.text_search), which walks this index
backwards from the period's end, checking each conversation's document, until the page is
full: for a word in a fifth of the conversations, ~600 rows. A rare word's few matches are
still found through the GIN index and sorted; the planner chooses by the word's frequency.

The key is the order of the page: (project_id, coalesce(first_message_at, created_at), id),
the same expression as 0018's BRIN index. SQLite has nothing to do: its documents are keyed by
time since 0019.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 22:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_conversation_search_newest ON conversation_search "
        "(project_id, (coalesce(first_message_at, created_at)), id)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_conversation_search_newest")
