"""`threadline backup` and `threadline restore` on real SQLite and PostgreSQL: a backup taken
while a server acknowledges writes holds every write acknowledged before it began; a restore
goes into an empty database only, migrates an older schema to head, and makes a columnar copy
of the old database be rebuilt rather than followed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.maintenance.databases import backend_of, empty_database
from threadline.analytics.columnar import ColumnarCopy
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.maintenance.backup import MaintenanceError, backup
from threadline.maintenance.restore import restore
from threadline.store.engine import Database, open_database
from threadline.store.migrate import upgrade
from threadline.store.tables import conversations, events, projects, store_identity

ENOUGH_BEFORE = 20  # writes acknowledged before the backup begins
ENOUGH_DURING = 5  # ... and after it began: the server kept taking writes


class Acknowledged(threading.Thread):
    """Posts events one after another through the app and keeps the ids it was answered."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.client, self.headers = client, headers
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failure = ""

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            event = {"type": "load", "entityType": "message", "messageId": f"m{n}"}
            response = self.client.post("/events", json=event, headers=self.headers)
            if response.status_code != 200:
                self.failure = f"{response.status_code} {response.text}"
                return
            with self.lock:
                self.ids.append(response.json()["id"])
            n += 1

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            assert not self.failure, self.failure
            assert time.monotonic() < deadline, f"only {self.count()} writes acknowledged"
            time.sleep(0.01)


def _event_ids(url: str) -> set[str]:
    database = open_database(url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            return set(connection.execute(select(events.c.id)).scalars())
    finally:
        database.dispose()


def test_a_backup_under_write_load_holds_every_write_acknowledged_before_it(
    database_url: str, make_key: KeyMaker, tmp_path: Path
) -> None:
    file = tmp_path / "backup.bin"
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        writer = Acknowledged(client, make_key.headers("web"))
        writer.start()
        try:
            writer.wait_for(ENOUGH_BEFORE)
            with writer.lock:
                before = list(writer.ids)
            result = backup(database_url, file)
            writer.wait_for(len(before) + ENOUGH_DURING)  # the server kept taking writes
        finally:
            writer.stop.set()
            writer.join()
    assert result.bytes == file.stat().st_size > 0
    with empty_database(backend_of(database_url), tmp_path) as target:
        restore(file, target)
        restored = _event_ids(target)
    assert set(before) <= restored
    # Nothing the backup holds is invented: it is a prefix of what was acknowledged (plus
    # writes committed but not yet answered when it read its snapshot).
    assert restored <= set(writer.ids)


def _identity(url: str) -> str:
    database = open_database(url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            return str(connection.execute(select(store_identity.c.id)).scalar_one())
    finally:
        database.dispose()


def test_a_backup_of_an_older_schema_restores_at_head(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "old.bin"
    backend = backend_of(database_url)
    with empty_database(backend, tmp_path) as old:
        database = open_database(old, read_pool_size=1)
        try:
            upgrade(database.writer, "0009")
            with database.writer.begin() as connection:
                connection.execute(
                    projects.insert().values(id="proj_old", name="old", created_at=1)
                )
        finally:
            database.dispose()
        backup(old, file)
        old_identity = _identity(old)
    with empty_database(backend, tmp_path) as target:
        result = CliRunner().invoke(
            main, ["restore", "--from", str(file), "--database-url", target]
        )
        assert result.exit_code == 0, result.output
        assert "schema up to date" in result.stderr
        database = open_database(target, read_pool_size=1)
        try:
            with database.reader.connect() as connection:
                row = connection.execute(select(projects)).one()
        finally:
            database.dispose()
        assert (row.id, row.name, row.retention_days) == ("proj_old", "old", None)  # 0011 ran
        assert _identity(target) != old_identity


def test_restore_refuses_a_database_that_is_not_empty(
    database_url: str, db: Database, make_key: KeyMaker, tmp_path: Path
) -> None:
    make_key()
    file = tmp_path / "backup.bin"
    backup(database_url, file)
    with db.reader.connect() as connection:
        before = connection.execute(select(func.count()).select_from(projects)).scalar()
    result = CliRunner().invoke(
        main, ["restore", "--from", str(file), "--database-url", database_url]
    )
    assert result.exit_code == 1
    assert "is not empty" in result.stderr and "nothing was changed" in result.stderr
    with db.reader.connect() as connection:
        assert connection.execute(select(func.count()).select_from(projects)).scalar() == before


def test_backup_never_overwrites_a_file(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "taken.bin"
    file.write_text("precious")
    with pytest.raises(MaintenanceError, match="exists"):
        backup(database_url, file)
    assert file.read_text() == "precious"


def test_a_backup_restores_only_to_its_own_kind_of_database(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "backup.bin"
    backup(database_url, file)
    other = (
        f"sqlite:///{tmp_path / 'other.db'}"
        if backend_of(database_url) == "postgresql"
        else "postgresql://postgres@127.0.0.1:5432/never_made"
    )
    with pytest.raises(MaintenanceError, match=r"backup.*: restore it to a"):
        restore(file, other)


def test_a_postgresql_backup_without_pg_dump_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no pg_dump on it
    result = CliRunner().invoke(
        main,
        [
            "backup",
            "--database-url",
            "postgresql://postgres@127.0.0.1/x",
            "--to",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: pg_dump was not found on PATH: install the PostgreSQL client tools of the "
        "server's major version (Debian/Ubuntu: apt-get install postgresql-client-15)"
    ]
    assert not (tmp_path / "b").exists()


def _copy_conversation_ids(path: str, primary: Database) -> tuple[bool, set[str]]:
    copy = ColumnarCopy(primary.reader, path, interval=0.05)
    copy.start()
    try:
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        with copy.engine.connect() as connection:
            ids = set(connection.execute(select(conversations.c.id)).scalars())
        return copy.resumed, ids
    finally:
        copy.stop()


def test_the_columnar_copy_of_a_database_restored_in_its_place_is_rebuilt(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """A SQLite file lost and restored from a backup under the same name finds the columnar
    copy of the lost file beside it; that copy knows rows the backup lacks, so it must be
    rebuilt, not followed on (the restored database has an identity of its own)."""
    path = tmp_path / "threadline.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    columnar = str(path.with_suffix(".columnar.duckdb"))
    row = {"project_id": "p", "type": "openai", "created_at": 1, "updated_at": 1}
    database = open_database(url, read_pool_size=1)
    with database.writer.begin() as connection:
        connection.execute(conversations.insert().values(id="kept", **row))
    backup(url, tmp_path / "backup.bin")
    with database.writer.begin() as connection:
        connection.execute(conversations.insert().values(id="lost", **row))
    assert _copy_conversation_ids(columnar, database) == (False, {"kept", "lost"})
    assert _copy_conversation_ids(columnar, database) == (True, {"kept", "lost"})  # followed on
    database.dispose()
    for name in ("threadline.db", "threadline.db-wal", "threadline.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    restore(tmp_path / "backup.bin", url)
    database = open_database(url, read_pool_size=1)
    try:
        assert _copy_conversation_ids(columnar, database) == (False, {"kept"})
    finally:
        database.dispose()
