"""Alembic environment: runs on the connection threadline hands it (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

from threadline.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("threadline migrations run through `threadline migrate` or on start")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
