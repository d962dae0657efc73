"""`threadline copy`: a demo installation copied to the other backend and back is the same row for
row; the copied keys open the copy; a non-empty target or an older source is refused untouched."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import _truncate as truncate
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.demo.project import prepare
from threadline.errors import BadRequest, Conflict
from threadline.store import tables
from threadline.store.engine import open_database
from threadline.store.migrate import stored_revision, upgrade
from threadline.transfer import copy as copy_module
from threadline.transfer.copy import CopyMismatch, copy_database, copy_tables

EVENTS = 400


@pytest.fixture
def other_backend(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database on the other backend: a new SQLite file (no schema: copy migrates
    it), or the session's PostgreSQL test database, emptied (creating one per test would cost
    seconds)."""
    if database_url.startswith("postgresql"):
        return f"sqlite:///{tmp_path}/other.db"
    url: str = request.getfixturevalue("postgres_url")
    truncate(url)
    return url


def _fill(database_url: str) -> str:
    """A small demo project plus a row in every table the demo leaves empty; its api key."""
    project = prepare(database_url, events=EVENTS, days=7, seed=3, reset=False)
    database = open_database(database_url, read_pool_size=1)
    with database.writer.begin() as connection:
        project_id, key_id = connection.execute(
            select(tables.api_keys.c.project_id, tables.api_keys.c.id)
        ).one()
        connection.execute(
            tables.semantic_threads.insert(),
            {
                "project_id": project_id,
                "id": "t1",
                "message_ids": ["m1"],
                "is_clear": True,
                "languages": [{"language": "de", "confidence": 0.75}],
                "first_message_at": 1,
            },
        )
        connection.execute(
            tables.thread_vectors.insert(),
            {
                "project_id": project_id,
                "thread_id": "t1",
                "conversation_id": "c1",
                "content_hash": "h",
                "vector": bytes(range(256)) + bytes(128),
                "created_at": 1,
            },
        )
        connection.execute(
            tables.insight_subjects.insert(),
            {
                "project_id": project_id,
                "id": 7,
                "name": "Billing",
                "category": "Account",
                "centroid": b"\x00\xff" * 192,
                "size": 3,
            },
        )
        connection.execute(tables.insights_state.insert(), {"name": "followed", "value": 42})
        connection.execute(
            tables.project_settings.insert(),
            {"project_id": project_id, "product_names": ["Acme"], "llm": True, "updated_at": 5},
        )
        connection.execute(
            tables.insights_queue.insert(),
            {
                "project_id": project_id,
                "conversation_id": "c1",
                "due_at": 1,
                "version": 1,
                "attempts": 0,
            },
        )
        connection.execute(
            tables.idempotency_keys.insert(),
            {
                "project_id": project_id,
                "key_id": key_id,
                "key": "k",
                "fingerprint": "f",
                "status": 200,
                "response": "{}",
                "created_at": 1,
            },
        )
        connection.execute(
            tables.dashboard_sessions.insert(),
            {"id": "s" * 64, "key_id": key_id, "created_at": 1, "last_seen_at": 2},
        )
    database.dispose()
    return project.api_key


def _contents(database_url: str) -> dict[str, list[bytes]]:
    """Every copied table's rows, each encoded canonically, sorted: compared independently of
    the checksums copy itself computes."""
    encode = msgspec.json.Encoder(order="sorted").encode
    database = open_database(database_url, read_pool_size=1)
    with database.reader.connect() as connection:
        contents = {
            table.name: sorted(encode(list(row)) for row in connection.execute(select(table)))
            for table in copy_tables()
        }
    database.dispose()
    return contents


def test_copy_to_the_other_backend_and_back_is_the_same(
    database_url: str, tmp_path: Path, other_backend: str
) -> None:
    api_key = _fill(database_url)
    other = other_backend
    there = copy_database(database_url, other, batch_rows=150)
    back_url = f"sqlite:///{tmp_path}/back.db"
    if database_url.startswith("sqlite"):
        back = copy_database(other, back_url)
    else:  # back into PostgreSQL: the emptied test database the source was
        source_contents = _contents(database_url)
        truncate(database_url)
        back = copy_database(other, database_url)
        back_url = database_url
    assert there.ok and back.ok
    counts = {t.name: t.target_rows for t in there.tables}
    assert counts["events"] == EVENTS and counts["changes"] > 0 and counts["thread_vectors"] == 1
    assert [t.target_checksum for t in there.tables] == [t.target_checksum for t in back.tables]
    original = _contents(database_url) if database_url.startswith("sqlite") else source_contents
    assert _contents(other) == original
    assert _contents(back_url) == original

    # The copied key opens the copy, which shows the same data and takes new writes (on
    # PostgreSQL only after its sequences were moved past the copied rows).
    headers = {"Authorization": f"Bearer {api_key}"}
    with TestClient(create_app(Settings(database_url=other))) as client:
        listed = client.get("/conversations?limit=1", headers=headers)
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == counts["conversations"]
        posted = client.post(
            "/conversations",
            headers=headers,
            json={"type": "openai", "messages": [{"role": "user", "content": "after the move"}]},
        )
        assert posted.status_code == 200, posted.text
    database = open_database(other, read_pool_size=1)
    with database.reader.connect() as connection:
        seqs = connection.execute(select(tables.conversations.c.seq)).scalars().all()
    database.dispose()
    assert len(seqs) == len(set(seqs)) == counts["conversations"] + 1


def test_a_source_on_an_older_schema_is_refused(database_url: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path}/old.db"
    database = open_database(source, read_pool_size=1)
    upgrade(database.writer, "0008")
    database.dispose()
    with pytest.raises(BadRequest, match=r"at revision 0008.*migrate the source first"):
        copy_database(source, database_url)
    # An older target is refused before it is migrated: a refusal changes nothing.
    with pytest.raises(Conflict, match=r"target's schema is at revision 0008"):
        copy_database(database_url, source)
    database = open_database(source, read_pool_size=1)
    with database.reader.connect() as connection:
        assert stored_revision(connection) == "0008"
    database.dispose()
    with pytest.raises(BadRequest, match="same database"):
        copy_database(database_url, database_url)
    with pytest.raises(BadRequest, match="no such file"):
        copy_database(f"sqlite:///{tmp_path}/typo.db", database_url)
    assert not (tmp_path / "typo.db").exists()


def test_a_copy_that_does_not_read_back_is_rolled_back(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the target read back fewer events than were written, nothing is committed."""
    source = f"sqlite:///{tmp_path}/source.db"
    prepare(source, events=30, days=2, seed=1, reset=False)
    reads: list[str] = []
    batches_of = copy_module._batches

    def losing_one(connection: Any, table: Any, size: int) -> Any:
        batches = list(batches_of(connection, table, size))
        reads.append(table.name)
        if table.name == "events" and reads.count("events") == 2:  # the target's read
            return [batches[0][1:], *batches[1:]]
        return batches

    monkeypatch.setattr(copy_module, "_batches", losing_one)
    with pytest.raises(CopyMismatch, match=r"did not verify \(events\); nothing was committed"):
        copy_database(source, database_url)
    monkeypatch.undo()
    assert all(not rows for name, rows in _contents(database_url).items())


def test_the_command_prints_the_verification_table(tmp_path: Path, database_url: str) -> None:
    source = f"sqlite:///{tmp_path}/source.db"
    prepare(source, events=30, days=2, seed=1, reset=False)
    result = CliRunner().invoke(main, ["copy", "--from", source, "--to", database_url])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["table", "source", "rows", "target", "rows", "checksum", "verified"]
    events: Any = next(line.split() for line in lines if line.startswith("events "))
    assert events[1:3] == ["30", "30"] and events[-1] == "ok"
    assert lines[-1].startswith("schema revision: ")
    # A target holding data is refused, and left as it was.
    before = _contents(database_url)
    again = CliRunner().invoke(main, ["copy", "--from", source, "--to", database_url])
    assert again.exit_code == 1, again.output
    assert re.search(r"already holds data \(conversations: \d+ rows", again.stderr)
    assert _contents(database_url) == before
