"""One seeded data set per backend for the query tests, which only read.

Seeding through the real API once per backend, instead of once per test, keeps a few hundred
exact-result tests under a few seconds. The queries never write, so the tests cannot disturb
each other; the database is a SQLite file or a PostgreSQL database of this package's own.

Projects:
- `docs`: the data set every test reasons about (below; times are UTC);
- `other`: the same ids and event types on the same days, so any leak changes a result;
- `bulk`: PAGE_SIZE + 3 events, for the page cap and `total`;
- `insights`: a few semantic threads written straight to their table (no API writes them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL
from threadline.app import create_app
from threadline.auth import issue_key
from threadline.config import Settings
from threadline.query.compile import PAGE_SIZE
from threadline.store.engine import normalize_url, open_database
from threadline.store.migrate import upgrade
from threadline.store.tables import semantic_threads
from threadline.timestamps import to_us

BULK_EVENTS = PAGE_SIZE + 3
# Where analytic reads are answered from: the primary store, or the columnar copy (whose every
# answer Dataset.post compares with the primary's).
READ_PATHS = ("primary", "columnar")
PATHS = {
    "conversations": "/query/conversations",
    "events": "/query/events",
    "feedback": "/query/feedback",
    "semantic_threads": "/query/semantic-threads",
}


def message(id_: str, role: str, content: str, at: str) -> dict[str, Any]:
    return {"id": id_, "role": role, "content": content, "createdAt": at}


# firstMessageTime: conv_e 01-31 23:59:59, conv_a 02-01 09:00, conv_b 02-02 15:30,
# conv_c 02-09 08:00, conv_d 03-01 00:00. userMessageCount: a 2, b 1, c 3, d 1, e 0.
CONVERSATIONS: list[dict[str, Any]] = [
    {
        "id": "conv_a",
        "type": "openai",
        "createdAt": "2026-02-01T09:00:00Z",
        "properties": {
            "theme": "dark",
            "plan": "pro",
            "score": 5,
            "tags": ["a", "b"],
            "nested": {"x": 1},
        },
        "userProperties": {"userId": "u1", "supportAgentName": "Ann"},
        "messages": [
            message("m_a1", "user", "How do I log events?", "2026-02-01T09:00:00Z"),
            message("m_a2", "assistant", "POST /events", "2026-02-01T09:00:05Z"),
            message("m_a3", "user", "And feedback?", "2026-02-01T09:01:00Z"),
            message("m_a4", "assistant", "POST /feedback", "2026-02-01T09:01:05Z"),
        ],
    },
    {
        "id": "conv_b",
        "type": "openai",
        "createdAt": "2026-02-02T15:30:00Z",
        "properties": {"theme": "light", "score": 2.5},
        "userProperties": {"userId": "u2"},
        "messages": [
            message("m_b1", "user", "Is there a Zapier integration?", "2026-02-02T15:30:00Z"),
            message("m_b2", "assistant", "Not yet.", "2026-02-02T15:30:04Z"),
        ],
    },
    {
        "id": "conv_c",
        "type": "support_ticket",
        "createdAt": "2026-02-09T08:00:00Z",
        "userProperties": {"userId": "u1"},
        "messages": [
            message("s1", "user", "My export is empty", "2026-02-09T08:00:00Z"),
            message("s2", "agent", "Which view?", "2026-02-09T08:05:00Z"),
            message("s3", "user", "Events", "2026-02-09T08:10:00Z"),
            message("s4", "user", "Any news?", "2026-02-09T08:20:00Z"),
        ],
    },
    {
        "id": "conv_d",
        "type": "support_copilot",
        "createdAt": "2026-03-01T00:00:00Z",
        "properties": {"theme": None, "score": "5"},
        "messages": [message("d1", "user", "Draft a reply", "2026-03-01T00:00:00Z")],
    },
    {
        "id": "conv_e",
        "type": "openai",
        "createdAt": "2026-01-31T23:59:59Z",
        "properties": {},
        "messages": [message("m_e1", "system", "You are helpful.", "2026-01-31T23:59:59Z")],
    },
]


def event(id_: str, type_: str, at: str, target: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"id": id_, "type": type_, "createdAt": at, **target, **extra}


def on_message(message_id: str) -> dict[str, str]:
    return {"entityType": "message", "messageId": message_id}


def on_conversation(conversation_id: str) -> dict[str, str]:
    return {"entityType": "conversation", "conversationId": conversation_id}


def search(query: str) -> dict[str, str]:
    return {"entityType": "search", "searchQuery": query}


COPIED = "message:copied"
SHARED = "chat_share_button_clicked"
# Written with the docs site's key; SEARCH_EVENTS with the backend's (another integration).
EVENTS: list[dict[str, Any]] = [
    event("e01", COPIED, "2026-01-31T23:00:00Z", on_message("m_a2"), properties={"theme": "dark"}),
    event(
        "e02",
        COPIED,
        "2026-02-01T09:05:00Z",
        on_message("m_a2"),
        properties={
            "theme": "dark",
            "count": 3,
            "flag": True,
            "nested": {"a": 1},
            "list": ["x", "y"],
        },
        userProperties={"userId": "u1"},
    ),
    event(
        "e03",
        COPIED,
        "2026-02-01T10:00:00Z",
        on_message("m_a4"),
        properties={"theme": "light"},
        userProperties={"userId": "u2"},
    ),
    event(
        "e04",
        COPIED,
        "2026-02-01T23:59:59.999Z",
        on_message("m_b2"),
        properties={"theme": "dark"},
        userProperties={"userId": "u1"},
    ),
    event("e05", COPIED, "2026-02-02T00:00:00Z", on_message("m_b2"), userProperties={"userId": 7}),
    event(
        "e06",
        SHARED,
        "2026-02-02T12:00:00Z",
        on_conversation("conv_a"),
        properties={"channel": "slack"},
    ),
    # A message that was never logged: the event has no conversation.
    event("e07", COPIED, "2026-02-02T13:00:00Z", on_message("m_gone")),
    event(
        "e10",
        "conversation:started",
        "2026-03-02T00:00:00Z",
        on_conversation("conv_b"),
        properties={"score": 2, "referrer": None},
    ),
]
SEARCH_EVENTS: list[dict[str, Any]] = [
    event(
        "e08",
        "search",
        "2026-02-03T08:00:00Z",
        search("how to log events"),
        properties={"results": 4},
    ),
    event(
        "e09",
        "search",
        "2026-02-10T08:00:00Z",
        search("Zapier integration"),
        properties={"results": 0},
    ),
]

FEEDBACK: list[dict[str, Any]] = [
    {
        "id": "f1",
        "type": "positive",
        "messageId": "m_a2",
        "createdAt": "2026-02-01T09:10:00Z",
        "updatedAt": "2026-02-01T09:10:00Z",
        "reasons": [{"label": "accurate", "details": "spot on"}],
        "properties": {"source": "widget"},
        "userProperties": {"userId": "u1"},
    },
    {
        "id": "f2",
        "type": "negative",
        "messageId": "m_a4",
        "createdAt": "2026-02-01T09:20:00Z",
        "updatedAt": "2026-02-01T09:20:00Z",
        "reasons": [
            {"label": "inaccurate", "details": "outdated"},
            {"label": "too_long", "details": ""},
        ],
        "details": "Outdated docs",
        "sources": [{"type": "negative", "title": "Old page", "url": "https://docs.example/old"}],
        "userProperties": {"userId": "u1"},
    },
    {
        "id": "f3",
        "type": "negative",
        "messageId": "m_b2",
        "createdAt": "2026-02-02T16:00:00Z",
        "updatedAt": "2026-02-02T16:00:00Z",
        "userProperties": {"userId": "u2"},
    },
    {
        "id": "f4",
        "type": "positive",
        "messageId": "m_gone",
        "createdAt": "2026-02-03T00:00:00Z",
        "updatedAt": "2026-02-03T00:00:00Z",
    },
    {
        "id": "f5",
        "type": "positive",
        "messageId": "s2",
        "createdAt": "2026-02-09T10:00:00Z",
        "updatedAt": "2026-02-10T10:00:00Z",
        "details": "Agent was great",
        "sources": [
            {"type": "positive", "title": "Guide", "url": "https://docs.example/guide"},
            {"type": None},
        ],
    },
]

# The other project reuses ids and types on the same days: a leak would change every count.
OTHER_CONVERSATIONS = [
    {**CONVERSATIONS[0], "properties": {"theme": "dark", "score": 100}},
    {**CONVERSATIONS[1], "userProperties": {"userId": "u1"}},
]
OTHER_EVENTS = [
    event("e01", COPIED, "2026-02-01T09:00:00Z", on_message("m_a2"), properties={"theme": "dark"}),
    event("e02", COPIED, "2026-02-02T09:00:00Z", on_message("m_a2"), properties={"theme": "dark"}),
    event("x01", SHARED, "2026-02-02T09:00:00Z", on_conversation("conv_a")),
    event("x02", "search", "2026-02-03T09:00:00Z", search("how to log events")),
]
OTHER_FEEDBACK = [
    {**FEEDBACK[1], "id": "f1", "reasons": [{"label": "inaccurate", "details": "x"}]},
    {**FEEDBACK[2], "id": "x1", "type": "positive"},
]


def _micros(at: str) -> int:
    return to_us(datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC))


def _thread(id_: str, **columns: Any) -> dict[str, Any]:
    for name in ("first_message_at", "last_message_at", "last_updated_at"):
        columns[name] = _micros(columns[name])
    return {"id": id_, **columns}


# Semantic threads of the `insights` project (insert_threads adds project and integration).
THREADS = [
    _thread(
        "t1",
        question="How do I log events?",
        answer="POST /events",
        message_ids=["m_a1", "m_a2"],
        messages_count=2,
        question_length=20,
        is_on_topic=True,
        is_clear=True,
        is_documented=True,
        languages=["en"],
        subject="events",
        properties={"theme": "dark"},
        first_message_at="2026-02-01T09:00:00Z",
        last_message_at="2026-02-01T09:00:05Z",
        last_updated_at="2026-02-05T00:00:00Z",
        has_positive_feedback=True,
        has_negative_feedback=False,
        conversation_ids=["conv_a"],
        is_initial_question_answer=True,
    ),
    _thread(
        "t2",
        question="Wie melde ich Feedback?",
        answer="Mit POST /feedback",
        message_ids=["m_b1", "m_b2"],
        messages_count=2,
        question_length=23,
        is_on_topic=True,
        is_clear=False,
        languages=["de", "en"],
        subject="feedback",
        first_message_at="2026-02-02T15:30:00Z",
        last_message_at="2026-02-02T15:30:04Z",
        last_updated_at="2026-02-05T00:00:00Z",
        has_positive_feedback=False,
        has_negative_feedback=True,
        conversation_ids=["conv_b"],
        is_initial_question_answer=False,
    ),
    _thread(
        "t3",
        question="Is there a Zapier integration?",
        answer="Not yet; use the REST API.",
        message_ids=["s1"],
        messages_count=1,
        question_length=30,
        is_on_topic=False,
        languages=[],
        first_message_at="2026-02-09T08:00:00Z",
        last_message_at="2026-02-09T08:20:00Z",
        last_updated_at="2026-02-10T00:00:00Z",
        has_positive_feedback=False,
        has_negative_feedback=False,
        conversation_ids=["conv_c"],
        is_initial_question_answer=True,
    ),
]


@dataclasses.dataclass
class Dataset:
    """The seeded server of one backend, with an api key per project (and a web key).

    With read_path "columnar" the queries go to a second server on the same database that
    answers them from its columnar copy, and every answer is checked to be the one the primary
    store gives (`primary`, the server that seeded the data); `served` records where each
    query was answered from.
    """

    backend: str
    client: TestClient
    keys: dict[str, str]
    projects: dict[str, str]  # project name -> project id (also its organizationId)
    integrations: dict[str, str]  # key name -> integration id
    read_path: str = "primary"
    primary: TestClient | None = None
    served: list[tuple[str, Any]] = dataclasses.field(default_factory=list)  # (path, body)

    def headers(self, key: str = "docs") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def post(self, view: str, body: Any, key: str = "docs") -> Any:
        if self.primary is None:
            return self.client.post(PATHS[view], json=body, headers=self.headers(key))
        reads = self.client.app.state.services.analytic_reads  # type: ignore[attr-defined]
        before = dict(reads)
        response = self.client.post(PATHS[view], json=body, headers=self.headers(key))
        expected = self.primary.post(PATHS[view], json=body, headers=self.headers(key))
        assert (response.status_code, response.content) == (
            expected.status_code,
            expected.content,
        ), f"columnar and primary answers differ for {view} {body}"
        if response.status_code == 200:
            path = "columnar" if reads["columnar"] > before["columnar"] else "primary"
            self.served.append((path, body))
        return response

    def data(self, view: str, body: Any, key: str = "docs") -> dict[str, Any]:
        """The `data` of a 200 answer, checked against the envelope of reference §7.7."""
        response = self.post(view, body, key)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        answer = response.json()
        assert set(answer) == {"status", "data"} and answer["status"] == "ok"
        data: dict[str, Any] = answer["data"]
        assert set(data) == {"result", "total", "pageSize", "count"}
        assert data["pageSize"] == PAGE_SIZE
        assert data["count"] == len(data["result"])
        return data

    def rows(self, view: str, body: Any, key: str = "docs") -> list[dict[str, Any]]:
        """The rows of an answer that fits on one page (so total == count)."""
        data = self.data(view, body, key)
        assert data["total"] == data["count"] < PAGE_SIZE
        rows: list[dict[str, Any]] = data["result"]
        return rows

    def ids(self, view: str, where: Any, key: str = "docs") -> list[str]:
        """Ids matching `where`, in id order: the filter tests ask which rows, not in what
        order."""
        body = {
            "select": [{"type": "field", "field": "id"}],
            "where": where,
            "orderBy": [{"field": "id", "direction": "asc"}],
        }
        return [row["id"] for row in self.rows(view, body, key)]


def _batch(client: TestClient, secret: str, kind: str, bodies: list[dict[str, Any]]) -> None:
    items = [{"kind": kind, "body": body} for body in bodies]
    response = client.post(
        "/batch", json={"items": items}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.text


def _seed(dataset: Dataset) -> None:
    client, keys = dataset.client, dataset.keys
    _batch(client, keys["docs"], "conversation", CONVERSATIONS)
    _batch(client, keys["docs"], "event", EVENTS)
    _batch(client, keys["docs"], "feedback", FEEDBACK)
    _batch(client, keys["backend"], "event", SEARCH_EVENTS)
    _batch(client, keys["other"], "conversation", OTHER_CONVERSATIONS)
    _batch(client, keys["other"], "event", OTHER_EVENTS)
    _batch(client, keys["other"], "feedback", OTHER_FEEDBACK)
    bulk = [
        event(
            f"b{i:04d}",
            "page_view",
            f"2026-01-{1 + i % 28:02d}T12:00:00Z",
            search(f"q{i}"),
            properties={"n": i},
        )
        for i in range(BULK_EVENTS)
    ]
    for start in range(0, len(bulk), 1000):
        _batch(client, keys["bulk"], "event", bulk[start : start + 1000])


def _issue(url: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Keys: api keys named after their project, `backend` (docs, another integration), `web`."""
    wanted = {
        "docs": ("docs", "docs site", "api"),
        "backend": ("docs", "backend", "api"),
        "web": ("docs", "docs site", "web"),
        "other": ("other", "docs site", "api"),
        "bulk": ("bulk", "loader", "api"),
        "insights": ("insights", "pipeline", "api"),
    }
    database = open_database(url)
    keys, projects, integrations = {}, {}, {}
    with database.writer.begin() as connection:
        for name, (project, integration, kind) in wanted.items():
            issued = issue_key(connection, project=project, integration=integration, kind=kind)
            keys[name] = issued.secret
            projects[project] = issued.project_id
            integrations[name] = issued.integration_id
        for thread in THREADS:  # one by one: the threads set different columns
            connection.execute(
                semantic_threads.insert().values(
                    **thread,
                    project_id=projects["insights"],
                    integration_id=integrations["insights"],
                )
            )
    database.dispose()
    return keys, projects, integrations


@pytest.fixture(scope="package", params=BACKENDS)
def query_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(backend, url) of a migrated, empty database for this package."""
    backend = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("query") / "threadline.db"
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, path)
        yield backend, f"sqlite:///{path}"
        return
    name = f"threadline_query_{os.getpid()}"
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = open_database(url)
    upgrade(database.writer)
    database.dispose()
    yield backend, url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="package")
def seeded(query_database: tuple[str, str]) -> Iterator[Dataset]:
    """The data set, written and read through a server without a columnar copy."""
    backend, url = query_database
    keys, projects, integrations = _issue(url)
    with TestClient(create_app(Settings(database_url=url, analytics="off"))) as client:
        seeded = Dataset(backend, client, keys, projects, integrations)
        _seed(seeded)
        yield seeded


@contextlib.contextmanager
def columnar_view(seeded: Dataset) -> Iterator[Dataset]:
    """The seeded data, queried through a second server that reads from its columnar copy."""
    url = seeded.client.app.state.services.settings.database_url  # type: ignore[attr-defined]
    with TestClient(create_app(Settings(database_url=url, analytics="columnar"))) as client:
        copy = client.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=60.0)
        yield dataclasses.replace(
            seeded, client=client, read_path="columnar", primary=seeded.client, served=[]
        )


@pytest.fixture(scope="package", params=READ_PATHS)
def dataset(request: pytest.FixtureRequest, seeded: Dataset) -> Iterator[Dataset]:
    if request.param == "primary":
        yield seeded
        return
    with columnar_view(seeded) as columnar:
        yield columnar
