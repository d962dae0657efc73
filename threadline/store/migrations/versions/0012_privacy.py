"""Privacy (issue 16): a project's redaction at ingest.

`project_settings.redact` holds the kinds of personal data replaced before a write is stored
(`threadline projects set --redact email,phone`); NULL, as for every existing project: none.
Erasing a user deletes events; migration 0011 logs event deletes for the columnar copy.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_settings") as batch:
        batch.add_column(sa.Column("redact", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("project_settings") as batch:
        batch.drop_column("redact")
