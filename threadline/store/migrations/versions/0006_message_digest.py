"""Message digest: a hash of each message as last posted, for incremental conversation upserts.

Rows written before this revision have none (NULL); the next post carrying them compares their
columns once and records it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both backends (SQLite has both since 3.35): batch mode would rebuild the
# table on SQLite and lose the change-log triggers of revision 0004.


def upgrade() -> None:
    op.add_column("messages", sa.Column("digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "digest")
