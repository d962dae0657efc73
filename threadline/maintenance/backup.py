"""Online backups: a consistent copy of a database that keeps taking writes.

SQLite: the sqlite3 module's online backup API, in one step. In WAL mode it reads one snapshot
(a read transaction), which writers do not wait for, so the server keeps committing while the
copy is made; VACUUM INTO reads the same way but rebuilds every table and index as it writes,
which took longer and blocked the writer no less on our measurement (docs/operations.md,
bench/backup_blocking.py). The copy is checked (PRAGMA quick_check) and set to the rollback
journal, so the backup is one self-contained file.

PostgreSQL: pg_dump in its custom format (compressed, restored by pg_restore); pg_dump reads one
repeatable-read snapshot and takes no lock that stops inserts or updates.

Either way the backup is written to FILE.partial and renamed when complete, so a file named
FILE is always a whole backup. Every write acknowledged before the backup began is in it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL

from threadline.store.engine import normalize_url

SqliteMethod = Literal["backup-api", "vacuum-into"]
# Chosen on bench/backup_blocking.py's figures (docs/operations.md, "Backup and restore").
SQLITE_METHOD: SqliteMethod = "backup-api"

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class MaintenanceError(Exception):
    """A backup, restore or purge that cannot go ahead; the message is one line for people."""


@dataclasses.dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    how: str


def backup(
    database_url: str, to: str | Path, *, sqlite_method: SqliteMethod = SQLITE_METHOD
) -> BackupResult:
    url = normalize_url(database_url)
    target = Path(to)
    if target.exists() and target.stat().st_size > 0:
        raise MaintenanceError(f"{target} exists; back up to a new file (nothing was written)")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        if url.get_backend_name() == "sqlite":
            how = _backup_sqlite(sqlite_path(url), partial, sqlite_method)
        elif url.get_backend_name() == "postgresql":
            how = _backup_postgres(url, partial)
        else:
            raise MaintenanceError(f"cannot back up a {url.get_backend_name()} database")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, time.perf_counter() - started, how)


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise MaintenanceError("give the SQLite database as a file: sqlite:///path/to/file.db")
    return Path(url.database).expanduser()


def _backup_sqlite(source_path: Path, partial: Path, method: SqliteMethod) -> str:
    if not source_path.is_file():
        raise MaintenanceError(f"no SQLite database at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=10.0)
    try:
        if method == "vacuum-into":
            source.execute("VACUUM INTO ?", (str(partial),))
        else:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # all pages in one step: one snapshot, never restarted
            finally:
                copy.close()
    finally:
        source.close()
    copy = sqlite3.connect(partial)
    try:
        copy.execute("PRAGMA journal_mode=DELETE")
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
    if verdict != "ok":
        raise MaintenanceError(f"the copy failed its check ({verdict}); nothing was kept")
    return f"sqlite {method}"


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for pg_dump and pg_restore, and their environment: the password
    goes in PGPASSWORD, never on a command line that `ps` shows."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MaintenanceError(
            f"{name} was not found on PATH: install the PostgreSQL client tools of the server's "
            f"major version (Debian/Ubuntu: apt-get install postgresql-client-15)"
        )
    return found


def run_tool(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise MaintenanceError(f"{Path(argv[0]).name} failed: {reason}")


def _backup_postgres(url: URL, partial: Path) -> str:
    uri, env = libpq(url)
    run_tool([tool("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={uri}"], env)
    return "pg_dump --format=custom"
