"""The request log: one line per request with requestId, route template, status, duration and
project, as text or JSON; never a key, a body or message text, errors included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.observe.logformat import QUIET_LOGGERS, JsonFormatter, formatter, quiet_libraries
from threadline.store.engine import Database

SECRET_TEXT = "my-password-is-hunter2"
SECRET_EMAIL = "private.person@example.org"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "threadline.access"]


def test_one_line_per_request_with_its_route_status_and_project(
    database_url: str, make_key: KeyMaker, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    headers = make_key.headers("api")
    with db.reader.connect() as connection:
        project = connection.execute(text("SELECT id FROM projects")).scalar_one()
    settings = Settings(database_url=database_url, access_log=True)
    with TestClient(create_app(settings)) as client, caplog.at_level(logging.INFO):
        response = client.get("/conversations/abc", headers=headers)
        anonymous = client.get("/health")
    lines = request_lines(caplog)
    assert len(lines) == 2
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["requestId"] == response.headers["x-request-id"]
    assert fields["method"] == "GET"
    assert fields["route"] == "/conversations/{id}"
    assert fields["status"] == 404
    assert fields["durationMs"] >= 0
    assert fields["project"] == project
    assert lines[0].getMessage().startswith("GET /conversations/{id} 404 ")
    assert f"project={project}" in lines[0].getMessage()
    assert lines[1].fields["project"] is None  # type: ignore[attr-defined]
    assert lines[1].fields["requestId"] == anonymous.headers["x-request-id"]  # type: ignore[attr-defined]

    entry = json.loads(JsonFormatter().format(lines[0]))
    assert entry["logger"] == "threadline.access" and entry["level"] == "info"
    assert {k: entry[k] for k in fields} == fields


def test_no_lines_without_the_setting(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        client.get("/health")
    assert request_lines(caplog) == []


@pytest.fixture
def failing_message_inserts(database_url: str, db: Database) -> Iterator[None]:
    """Every insert into messages fails in the database (an error carrying the statement and,
    unless hidden, its parameters: the message text)."""
    with db.writer.begin() as connection:
        if db.dialect == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER fail_messages BEFORE INSERT ON messages "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION fail_messages() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER fail_messages BEFORE INSERT ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION fail_messages()"
                )
            )
    yield
    with db.writer.begin() as connection:
        if db.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER fail_messages"))
        else:  # the PostgreSQL test database outlives this test
            connection.execute(text("DROP TRIGGER fail_messages ON messages"))
            connection.execute(text("DROP FUNCTION fail_messages()"))


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """Logger levels as `serve --log-level debug` sets them (restored after)."""
    before = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    quiet_libraries()
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("debug_logging")
def test_no_key_and_no_message_text_ever_reach_the_logs(
    database_url: str,
    make_key: KeyMaker,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    key = make_key("api")
    headers = {"Authorization": f"Bearer {key}"}
    bad_key = key[:-6] + "XXXXXX"  # a near miss, as a leaked key with a typo would be
    conversation = {
        "type": "openai",
        "messages": [{"role": "user", "content": SECRET_TEXT}],
        "userProperties": {"id": SECRET_EMAIL, "email": SECRET_EMAIL},
    }
    settings = Settings(database_url=database_url, access_log=True, max_messages_per_post=2)
    with TestClient(create_app(settings)) as client, caplog.at_level(logging.DEBUG):
        # 200: stored, then read back.
        stored = client.post("/conversations", json=conversation, headers=headers)
        assert stored.status_code == 200, stored.text
        assert client.get(f"/conversations/{stored.json()['id']}", headers=headers).is_success
        # 401: a bad key, on a write and on a read.
        bad = {"Authorization": f"Bearer {bad_key}"}
        assert_problem(client.post("/conversations", json=conversation, headers=bad), 401)
        assert_problem(client.get("/conversations", headers=bad), 401)
        # 400 and 422: bodies with the message text, refused field by field.
        malformed = {**conversation, "messages": [{"role": 7, "content": SECRET_TEXT}]}
        assert_problem(client.post("/conversations", json=malformed, headers=headers), 400)
        too_long = {**conversation, "messages": conversation["messages"] * 3}
        assert_problem(client.post("/conversations", json=too_long, headers=headers), 422)
        # 500: the database refuses the write; its error names the statement.
        request.getfixturevalue("failing_message_inserts")
        failed = {**conversation, "id": "another"}
        assert_problem(client.post("/conversations", json=failed, headers=headers), 500)

    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert len(request_lines(caplog)) == 7
    assert any(r.exc_info for r in ours), "the 500 is logged with its traceback"
    for line in (fmt.format(r) for r in ours for fmt in (formatter("text"), JsonFormatter())):
        for secret in (key, bad_key, key[15:], SECRET_TEXT, SECRET_EMAIL):
            assert secret not in line
