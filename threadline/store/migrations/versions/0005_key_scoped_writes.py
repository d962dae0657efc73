"""Idempotency-Keys scoped per bearer key; conversations and feedback record their key's kind.

- idempotency_keys gets `key_id` and the primary key (key_id, key) instead of (project_id, key):
  a project's public web key must not claim, and so replay or block, its api key's header
  values. Answers stored before have no key to belong to and are dropped (they live 24 hours).
- conversations and feedback get `key_kind`, the kind of key that created the row, so a web key
  may change only what web keys wrote (threadline.store.ownership). Existing rows: "web" where
  the row's integration has only ever had web keys, "api" otherwise (where an api key could
  have written it, web keys lose the right to change it rather than gain it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_WRITTEN = ("conversations", "feedback")
_BACKFILL = """
UPDATE {table} SET key_kind = CASE
    WHEN EXISTS (SELECT 1 FROM api_keys k
                 WHERE k.integration_id = {table}.integration_id AND k.kind = 'api') THEN 'api'
    WHEN EXISTS (SELECT 1 FROM api_keys k
                 WHERE k.integration_id = {table}.integration_id AND k.kind = 'web') THEN 'web'
    ELSE 'api'
END
"""


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=64), nullable=False))
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["key_id", "key"])
    for table in _WRITTEN:
        op.add_column(table, sa.Column("key_kind", sa.String(length=16), nullable=True))
        op.execute(_BACKFILL.format(table=table))


def downgrade() -> None:
    for table in _WRITTEN:
        # Not batch mode: on SQLite that copies the table and loses its changes triggers (0004).
        op.execute(f"ALTER TABLE {table} DROP COLUMN key_kind")
    op.execute("DELETE FROM idempotency_keys")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["project_id", "key"])
        batch.drop_column("key_id")
