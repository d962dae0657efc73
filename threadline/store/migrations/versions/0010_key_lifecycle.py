"""Key lifecycle: a key may expire (`keys create --expires-in`, `keys rotate --grace`), and
records when it was last used (written at most once a minute per key and process).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain added nullable columns: existing keys never expire and have not been seen in use.
    op.add_column("api_keys", sa.Column("expires_at", sa.BigInteger(), nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
