"""`threadline export` and `threadline import ndjson`: a project out and back in, exactly and
idempotently; bad lines reported with their file and line; --strict writes nothing."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.transfer import fill
from tests.transfer.conftest import everything, make_key
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.privacy.policy import set_redaction
from threadline.store.engine import open_database
from threadline.store.keys import ensure_project
from threadline.store.tables import conversations, events, feedback, messages, projects
from threadline.timestamps import now_us
from threadline.transfer.ndjson import NdjsonError, export_project, import_directory


def _counts(url: str) -> dict[str, int]:
    database = open_database(url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (projects, conversations, feedback, events)
            }
    finally:
        database.dispose()


def test_a_project_goes_out_and_back_in_exactly(
    database_url: str, target_url: str, tmp_path: Path
) -> None:
    source_key = make_key(database_url, "src", "docs site")
    web_key = make_key(database_url, "src", "widget", "web")
    with TestClient(create_app(Settings(database_url=database_url))) as source:
        fill.fill(source, source_key, web_key)
        want = everything(source, source_key)

    source_db = open_database(database_url, read_pool_size=1)
    manifest = export_project(source_db.reader, "src", tmp_path / "out", compress=True)
    source_db.dispose()
    counts = {file.kind: file.count for file in manifest.files}
    assert counts == {
        "integration": 2,
        "conversation": fill.CONVERSATIONS,
        "feedback": fill.LISTED_FEEDBACK + fill.UNLISTED_FEEDBACK,
        "event": fill.SAME_INSTANT_EVENTS + fill.SPREAD_EVENTS,
    }
    for file in manifest.files:
        data = (tmp_path / "out" / file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256
        assert len(gzip.decompress(data).splitlines()) == file.count

    target_db = open_database(target_url, read_pool_size=1)
    first = import_directory(target_db.writer, tmp_path / "out", project="dst")
    assert first.problems == []
    assert first.tally.count("events", "imported") == counts["event"]
    assert first.tally.count("integrations", "imported") == 2
    again = import_directory(target_db.writer, tmp_path / "out", project="dst")
    target_db.dispose()
    assert again.problems == []
    for kind in ("conversations", "feedback", "events"):
        assert again.tally.count(kind, "imported") == 0, again.tally.lines()
    assert again.tally.count("events", "skipped") == counts["event"]
    assert again.tally.count("integrations", "skipped") == 2

    target_db = open_database(target_url, read_pool_size=1)
    with target_db.reader.connect() as connection:
        owners = select(conversations.c.key_kind, func.count()).group_by(conversations.c.key_kind)
        assert dict(connection.execute(owners).all()) == {"api": 21, "web": 2}
    target_db.dispose()
    target_key = make_key(target_url, "dst", "reader")
    with TestClient(create_app(Settings(database_url=target_url))) as target:
        got = everything(target, target_key)
    assert got == want


def _line(kind: str, record: dict[str, object], version: int = 1) -> bytes:
    return msgspec.json.encode({"kind": kind, "version": version, "record": record}) + b"\n"


def test_bad_lines_are_reported_and_strict_writes_nothing(
    database_url: str, target_url: str, tmp_path: Path
) -> None:
    key = make_key(database_url, "src", "docs site")
    with TestClient(create_app(Settings(database_url=database_url))) as source:
        body = {"type": "openai", "id": "c1", "messages": [{"role": "user", "content": "Hi"}]}
        source.post("/conversations", json=body, headers={"Authorization": f"Bearer {key}"})
    runner = CliRunner()
    out = tmp_path / "out"
    exported = runner.invoke(
        main, ["export", "--database-url", database_url, "--project", "src", "--to", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    event = {"entityType": "search", "id": "e1", "type": "searched", "searchQuery": "install"}
    with open(out / "events.ndjson", "ab") as file:
        file.write(_line("event", event))
        file.write(b'{"kind": "event", "version": 1, "record": {"id": \n')
        file.write(_line("webhook", {"id": "w1"}))
        file.write(_line("event", {**event, "id": "e2"}, version=2))
        file.write(_line("event", {**event, "id": "e3", "entityType": "page"}))
        file.write(_line("event", {**event, "id": "e4"}))

    strict = runner.invoke(
        main,
        ["import", "ndjson", "--from", str(out), "--database-url", target_url, "--strict"],
    )
    assert strict.exit_code != 0
    for problem in (
        "events.ndjson: SHA-256 differs",
        "events.ndjson:2: malformed line",
        "events.ndjson:3: unknown kind 'webhook'",
        "events.ndjson:4: schema version 2",
        "events.ndjson:5:",
        "events.ndjson: 6 lines, the manifest says 0",
    ):
        assert problem in strict.output
    assert _counts(target_url) == {"projects": 0, "conversations": 0, "feedback": 0, "events": 0}

    lenient = runner.invoke(
        main, ["import", "ndjson", "--from", str(out), "--database-url", target_url, "--quiet"]
    )
    assert lenient.exit_code == 1
    assert "events.ndjson:3: unknown kind 'webhook'" in lenient.output
    assert "events: 2 imported, 0 skipped, 4 refused" in lenient.output
    assert _counts(target_url) == {"projects": 1, "conversations": 1, "feedback": 0, "events": 2}


def test_a_directory_without_a_manifest_is_refused(database_url: str, tmp_path: Path) -> None:
    database = open_database(database_url, read_pool_size=1)
    with pytest.raises(NdjsonError, match="no manifest"):
        import_directory(database.writer, tmp_path)
    database.dispose()


def test_exported_conversations_are_the_apis_conversations(
    database_url: str, tmp_path: Path
) -> None:
    """One mapping from stored rows (wire/stored.py) serves GET /conversations/{id} and the
    export, so the two cannot drift apart: every field, metadata and tool calls included."""
    key = make_key(database_url, "src", "docs site")
    web_key = make_key(database_url, "src", "widget", "web")
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(Settings(database_url=database_url))) as source:
        fill.fill(source, key, web_key)
        widget_chat = {
            "type": "openai",
            "id": "conv_meta",
            "messages": [
                {"id": "mm0", "role": "user", "content": "Hi", "metadata": {"files": ["a.png"]}},
                {"id": "mm1", "role": "assistant", "content": "Hello", "name": "bot"},
            ],
        }
        posted = source.post("/conversations", json=widget_chat, headers=headers)
        assert posted.is_success, posted.text
        source_db = open_database(database_url, read_pool_size=1)
        manifest = export_project(source_db.reader, "src", tmp_path / "out")
        source_db.dispose()
        (entry,) = [file for file in manifest.files if file.kind == "conversation"]
        exported = [
            msgspec.json.decode(line)["record"]
            for line in (tmp_path / "out" / entry.path).read_bytes().splitlines()
        ]
        assert len(exported) == fill.CONVERSATIONS + 1
        for record in exported:
            answer = source.get(f"/conversations/{record['id']}", headers=headers)
            want = answer.json()
            for derived in ("projectId", "integrationId", "messagesOpenAIFormat"):
                want.pop(derived, None)
            assert record == want, record["id"]
    kinds = {record["type"] for record in exported}
    assert kinds == {"openai", "support_ticket"}
    (meta,) = [record for record in exported if record["id"] == "conv_meta"]
    assert meta["messages"][0]["metadata"] == {"files": ["a.png"]}
    assert "metadata" not in meta["messages"][1]


def test_an_import_is_redacted_as_the_target_project_asks(
    database_url: str, target_url: str, tmp_path: Path
) -> None:
    """`projects set --redact` applies to imported records as to posted ones (api/writes.py)."""
    key = make_key(database_url, "src", "docs site")
    headers = {"Authorization": f"Bearer {key}"}
    chat = {
        "type": "openai",
        "id": "conv_pii",
        "properties": {"note": "mail jane@example.com"},
        "messages": [
            {"id": "p0", "role": "user", "content": "I am jane@example.com, 0044 20 7946 0958"},
            {"id": "p1", "role": "assistant", "content": "Thanks, noted."},
        ],
    }
    event = {
        "id": "ev_pii",
        "type": "search",
        "entityType": "search",
        "searchQuery": "+1 415 555 2671",
    }
    with TestClient(create_app(Settings(database_url=database_url))) as source:
        assert source.post("/conversations", json=chat, headers=headers).is_success
        assert source.post("/events", json=event, headers=headers).is_success
    source_db = open_database(database_url, read_pool_size=1)
    export_project(source_db.reader, "src", tmp_path / "out")
    source_db.dispose()

    target_db = open_database(target_url, read_pool_size=1)
    with target_db.writer.begin() as connection:
        set_redaction(connection, ensure_project(connection, "dst"), ("email", "phone"), now_us())
    result = import_directory(target_db.writer, tmp_path / "out", project="dst")
    assert result.problems == []
    with target_db.reader.connect() as connection:
        contents = connection.execute(
            select(messages.c.content).order_by(messages.c.position)
        ).scalars()
        assert list(contents) == ["I am [email], [phone]", "Thanks, noted."]
        stored = connection.execute(select(conversations.c.properties)).scalar_one()
        assert stored == {"note": "mail [email]"}
        assert connection.execute(select(events.c.search_query)).scalar_one() == "[phone]"
    target_db.dispose()
