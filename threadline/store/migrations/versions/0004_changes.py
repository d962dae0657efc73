"""Changes: a trigger-kept log of rows written to or deleted from the tables that change.

Conversations, messages, feedback and semantic threads are logged, so the columnar copy
(threadline.analytics) can follow their updates and deletes.

Events are append-only and followed by their `seq` directly: a trigger there would double the
cost of the hottest write for nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 03:40:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("conversations", "messages", "feedback", "semantic_threads")

_PG_FUNCTION = """
CREATE FUNCTION threadline_log_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO changes (table_name, row_seq, created_at)
    VALUES (
        TG_TABLE_NAME,
        CASE WHEN TG_OP = 'DELETE' THEN OLD.seq ELSE NEW.seq END,
        (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
    );
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_SQLITE_NOW_US = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_changes")),
    )
    op.create_index(op.f("ix_changes_created_at"), "changes", ["created_at"], unique=False)
    # One random id per database: a columnar copy kept on disk checks that it was made from
    # this database, not from one that was deleted and created again under the same name.
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_identity")),
    )
    op.bulk_insert(identity, [{"id": str(uuid.uuid4())}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION threadline_log_change()"
            )
        return
    for table in TABLES:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_changes_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN INSERT INTO changes (table_name, row_seq, created_at) "
                f"VALUES ('{table}', {row}.seq, {_SQLITE_NOW_US}); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_changes ON {table}")
        op.execute("DROP FUNCTION threadline_log_change()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_changes_{event}")
    op.drop_table("store_identity")
    op.drop_index(op.f("ix_changes_created_at"), table_name="changes")
    op.drop_table("changes")
