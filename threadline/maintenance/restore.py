"""Restoring a backup (threadline.maintenance.backup) into an empty database, then migrating
it to the schema of this threadline (a backup from an older version restores).

The restored database gets a store identity of its own: it is not the database the backup was
taken from (that one may have moved on, or its rows may come back in a different order), so a
columnar copy made from either is rebuilt rather than followed on (analytics.columnar).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from sqlalchemy import inspect, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from threadline.maintenance.backup import (
    PG_DUMP_HEADER,
    SQLITE_HEADER,
    MaintenanceError,
    libpq,
    run_tool,
    sqlite_path,
    tool,
)
from threadline.store.engine import describe_url, normalize_url, open_database
from threadline.store.migrate import upgrade
from threadline.store.tables import store_identity


def restore(backup_file: str | Path, database_url: str) -> None:
    source = Path(backup_file)
    if not source.is_file():
        raise MaintenanceError(f"no backup at {source}")
    with source.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    url = normalize_url(database_url)
    backend = url.get_backend_name()
    if header.startswith(SQLITE_HEADER):
        if backend != "sqlite":
            raise MaintenanceError(f"{source} is a SQLite backup: restore it to a sqlite:/// URL")
        _refuse_unless_empty(url)
        _restore_sqlite(source, sqlite_path(url))
    elif header.startswith(PG_DUMP_HEADER):
        if backend != "postgresql":
            raise MaintenanceError(
                f"{source} is a PostgreSQL backup (pg_dump): restore it to a postgresql:// URL"
            )
        _refuse_unless_empty(url)
        uri, env = libpq(url)
        run_tool(
            [
                tool("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={uri}",
                str(source),
            ],
            env,
        )
    else:
        raise MaintenanceError(f"{source} is not a threadline backup (neither SQLite nor pg_dump)")
    _migrate_and_rename(url)


def _refuse_unless_empty(url: URL) -> None:
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise MaintenanceError(f"{wal} is left from another database; remove it first")
            return
    database = open_database(url.render_as_string(hide_password=False), read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            names = inspect(connection).get_table_names()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise MaintenanceError(f"cannot open {describe_url(url)}: {reason}") from None
    finally:
        database.dispose()
    if names:
        raise MaintenanceError(
            f"{describe_url(url)} is not empty ({len(names)} tables): restore into a new, "
            "empty database (nothing was changed)"
        )


def _restore_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        verdict = backup.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise MaintenanceError(f"{source} fails its check ({verdict}); nothing was restored")
        database = sqlite3.connect(target)
        try:
            backup.backup(database)
        finally:
            database.close()
    finally:
        backup.close()


def _migrate_and_rename(url: URL) -> None:
    database = open_database(url.render_as_string(hide_password=False), read_pool_size=1)
    try:
        upgrade(database.writer)
        with database.writer.begin() as connection:
            connection.execute(update(store_identity).values(id=str(uuid.uuid4())))
    finally:
        database.dispose()
