"""Apply the Alembic migrations that ship inside the package (so an installed wheel migrates)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from threadline.store.engine import SQLITE_BUSY_TIMEOUT_MS

_MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same for every threadline process.
_PG_LOCK_KEY = 0x7468726561646C6E
# How long a SQLite process waits for another's upgrade (BEGIN IMMEDIATE serialises them): a
# whole upgrade from an empty file rebuilds tables and may take longer than a write's wait.
_SQLITE_UPGRADE_WAIT_MS = 120_000


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision`. Safe to run from several processes at once."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several instances starting together must not race each other's DDL.
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            connection.commit()
        else:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={_SQLITE_UPGRADE_WAIT_MS}")
        try:
            command.upgrade(alembic_config(connection), revision)
            connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()
            else:  # the pooled connection goes back with a write's usual wait
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def head_revision() -> str:
    """The newest revision this threadline's migrations know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def stored_revision(connection: Connection) -> str | None:
    """The revision a database's schema is at; None when it holds no threadline schema."""
    return MigrationContext.configure(connection).get_current_revision()
