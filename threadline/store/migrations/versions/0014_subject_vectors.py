"""Each thread's subject vector (insights.subject_embed: multilingual, 512 int8 bytes), which
subject clustering compares; subjects' centroids move to the same space.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for threads labelled before: the next clustering embeds them from their text.
    with op.batch_alter_table("thread_vectors") as batch:
        batch.add_column(sa.Column("subject_vector", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("thread_vectors") as batch:
        batch.drop_column("subject_vector")
