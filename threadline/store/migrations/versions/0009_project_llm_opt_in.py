"""A project's opt-in to the optional LLM labeller (`threadline projects set --llm on|off`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Off for every existing project: nothing is sent anywhere unless an operator opts in.
    with op.batch_alter_table("project_settings") as batch:
        batch.add_column(sa.Column("llm", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("project_settings") as batch:
        batch.drop_column("llm")
