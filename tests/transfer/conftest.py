"""A second database on the test's backend (the import's target), a threadline served by
uvicorn in a thread (the import's source), and what source and target answer, for comparing."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from tests.conftest import _truncate
from threadline.app import create_app
from threadline.auth import issue_key
from threadline.config import Settings
from threadline.store.engine import normalize_url, open_database
from threadline.store.migrate import upgrade

STARTUP_SECONDS = 20.0


@pytest.fixture(scope="session")
def postgres_target_url(postgres_url: str) -> str:
    """A schema of its own in the session's test database, reached through search_path: a
    second database without CREATE DATABASE (which forces a checkpoint: slow on a busy
    server)."""
    engine = create_engine(normalize_url(postgres_url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS import_target CASCADE"))
        connection.execute(text("CREATE SCHEMA import_target"))
    engine.dispose()
    url = normalize_url(postgres_url).update_query_dict({"options": "-csearch_path=import_target"})
    rendered = url.render_as_string(hide_password=False)
    database = open_database(rendered)
    upgrade(database.writer)
    database.dispose()
    return rendered


@pytest.fixture
def target_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """An empty database of its own, on the same backend as `database_url`."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "target.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_target_url")
    _truncate(url)
    return url


def make_key(database_url: str, project: str, integration: str, kind: str = "api") -> str:
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            issued = issue_key(
                connection,
                project=project,
                integration=integration,
                kind=kind,  # type: ignore[arg-type]
            )
        return issued.secret
    finally:
        database.dispose()


@contextlib.contextmanager
def served(database_url: str) -> Iterator[str]:
    """A real threadline HTTP server (uvicorn, port 0) in a thread; its base URL."""
    config = uvicorn.Config(
        create_app(Settings(database_url=database_url)),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="source-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the source did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _strip_project(value: Any) -> Any:
    """The value without projectId keys: source and target projects differ by design."""
    if isinstance(value, dict):
        return {k: _strip_project(v) for k, v in value.items() if k != "projectId"}
    if isinstance(value, list):
        return [_strip_project(v) for v in value]
    return value


_EVENT_EXPORT = {
    "select": [
        {"type": "field", "field": field}
        for field in (
            "id",
            "createdAt",
            "eventType",
            "type",
            "messageId",
            "conversationId",
            "searchQuery",
            "integrationId",
        )
    ]
    + [
        {"type": "field", "field": "properties", "mode": "json"},
        {"type": "field", "field": "userProperties", "mode": "json"},
    ],
    "orderBy": [{"field": "createdAt", "direction": "asc"}, {"field": "id", "direction": "asc"}],
}


def everything(client: httpx.Client | TestClient, key: str) -> dict[str, Any]:
    """GET /conversations and GET /feedback, every page, and the events export."""
    headers = {"Authorization": f"Bearer {key}"}
    conversations: list[Any] = []
    while True:
        params = {"limit": 100, "offset": len(conversations)}
        page = client.get("/conversations", params=params, headers=headers).json()
        conversations.extend(page["conversations"])
        if not page["conversations"]:
            break
    feedback: list[Any] = []
    offset = 0
    while True:
        page = client.get("/feedback", params={"limit": 100, "offset": offset}, headers=headers)
        body = page.json()
        if offset == 0:
            counts = ("positiveFeedbackCount", "negativeFeedbackCount")
            feedback.append({k: body[k] for k in counts})
        items = body["positiveFeedback"] + body["negativeFeedback"]
        feedback.extend(items)
        offset += 100
        if not items:
            break
    exported = client.post("/query/events/export", json=_EVENT_EXPORT, headers=headers)
    assert exported.status_code == 200, exported.text
    return {
        "conversations": _strip_project(conversations),
        "feedback": _strip_project(feedback),
        "events": exported.text.splitlines(),
    }
