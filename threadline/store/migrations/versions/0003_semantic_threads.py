"""Semantic threads: the (for now empty) table behind the semantic-threads query view.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:06:22.158459
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "semantic_threads",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column(
            "message_ids",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("messages_count", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("question_length", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("is_on_topic", sa.Boolean(), nullable=True),
        sa.Column("is_clear", sa.Boolean(), nullable=True),
        sa.Column("is_documented", sa.Boolean(), nullable=True),
        sa.Column("is_feature_supported", sa.Boolean(), nullable=True),
        sa.Column("is_answer_confident", sa.Boolean(), nullable=True),
        sa.Column("gap_summary", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("question_type", sa.Text(), nullable=True),
        sa.Column(
            "languages",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column(
            "first_party_entities",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column(
            "third_party_entities",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("emotion", sa.Text(), nullable=True),
        sa.Column("sentiment", sa.Text(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column(
            "user_properties",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("first_message_at", sa.BigInteger(), nullable=True),
        sa.Column("last_message_at", sa.BigInteger(), nullable=True),
        sa.Column("last_updated_at", sa.BigInteger(), nullable=True),
        sa.Column("has_positive_feedback", sa.Boolean(), nullable=True),
        sa.Column("has_negative_feedback", sa.Boolean(), nullable=True),
        sa.Column(
            "conversation_ids",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("are_ai_annotations_verified", sa.Boolean(), nullable=True),
        sa.Column("is_initial_question_answer", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_semantic_threads")),
        sa.UniqueConstraint("project_id", "id", name=op.f("uq_semantic_threads_project_id_id")),
    )
    with op.batch_alter_table("semantic_threads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_semantic_threads_project_id_first_message_at"),
            ["project_id", "first_message_at"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("semantic_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_semantic_threads_project_id_first_message_at"))

    op.drop_table("semantic_threads")
