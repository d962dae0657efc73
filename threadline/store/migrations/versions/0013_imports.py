"""Import checkpoints: how far `threadline import api` got, per project, source and kind.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "source", "kind", name=op.f("pk_imports")),
    )


def downgrade() -> None:
    op.drop_table("imports")
