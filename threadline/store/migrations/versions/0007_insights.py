"""Insights: the pipeline's thread vectors, work queue, state, subjects and project settings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
)


def upgrade() -> None:
    op.create_table(
        "thread_vectors",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "thread_id", name=op.f("pk_thread_vectors")),
    )
    op.create_index(
        op.f("ix_thread_vectors_project_id_conversation_id"),
        "thread_vectors",
        ["project_id", "conversation_id"],
    )
    op.create_table(
        "insights_queue",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "conversation_id", name=op.f("pk_insights_queue")),
    )
    op.create_index(op.f("ix_insights_queue_due_at"), "insights_queue", ["due_at"])
    op.create_table(
        "insights_state",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_insights_state")),
    )
    op.create_table(
        "insight_subjects",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_insight_subjects")),
    )
    op.create_table(
        "project_settings",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("product_names", _JSON, nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_settings")),
    )


def downgrade() -> None:
    op.drop_table("project_settings")
    op.drop_table("insight_subjects")
    op.drop_table("insights_state")
    op.drop_index(op.f("ix_insights_queue_due_at"), table_name="insights_queue")
    op.drop_table("insights_queue")
    op.drop_index(op.f("ix_thread_vectors_project_id_conversation_id"), table_name="thread_vectors")
    op.drop_table("thread_vectors")
