"""Privacy (issue 16): a project's redaction at ingest, and event deletes in the change log.

`project_settings.redact` holds the kinds of personal data replaced before a write is stored
(`threadline projects set --redact email,phone`); NULL, as for every existing project: none.

Events were append-only, so the change log (0004) had no trigger on them: the columnar copy
followed them by seq alone. Erasing a user deletes events, so deletes (only: inserts stay as
cheap as before) are now logged too, and the copy drops those rows.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_SQLITE_NOW_US = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


def upgrade() -> None:
    with op.batch_alter_table("project_settings") as batch:
        batch.add_column(sa.Column("redact", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # threadline_log_change() (0004) logs OLD.seq on a delete.
        op.execute(
            "CREATE TRIGGER events_changes_delete AFTER DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION threadline_log_change()"
        )
        return
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
    with op.batch_alter_table("project_settings") as batch:
        batch.drop_column("redact")
