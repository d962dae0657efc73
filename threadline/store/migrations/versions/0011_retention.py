"""Data retention (`threadline projects set --retention-days N`) and deleted events in `changes`.

- projects.retention_days: conversations and the rest older than this many days are purged in
  the background (threadline.maintenance.retention); NULL keeps everything forever.
- A DELETE trigger on events: events were followed by their `seq` alone (migration 0004: they
  only grew), so the columnar copy would keep purged events for ever. Deletes are rare (retention,
  erasure), so only they are logged; inserts, the hottest write, still pay nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SQLITE_NOW_US = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # threadline_log_change() (migration 0004) logs OLD.seq on a delete.
        op.execute(
            "CREATE TRIGGER events_changes_delete AFTER DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION threadline_log_change()"
        )
    else:
        op.execute(
            "CREATE TRIGGER events_changes_delete AFTER DELETE ON events "
            "BEGIN INSERT INTO changes (table_name, row_seq, created_at) "
            f"VALUES ('events', OLD.seq, {_SQLITE_NOW_US}); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_changes_delete ON events")
    else:
        op.execute("DROP TRIGGER events_changes_delete")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("retention_days")
