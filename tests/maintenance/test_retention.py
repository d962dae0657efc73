"""Retention on real SQLite and PostgreSQL: what is old goes whole (a conversation active today
stays with every message), derived rows go with it, other projects are untouched, the columnar
copy follows a purge made by a running server, and the commands set, show and run it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text, update
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.maintenance.databases import backend_of
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.maintenance.purger import run_now
from threadline.maintenance.retention import PG_LOCK_KEY
from threadline.store.engine import Database
from threadline.store.tables import (
    changes,
    conversations,
    events,
    feedback,
    insights_queue,
    messages,
    projects,
    semantic_threads,
    thread_vectors,
)
from threadline.timestamps import DAY_US, now_us

OLD = 40 * DAY_US  # older than the 30 days set below


def _conversation(id_: str, *contents: str) -> dict[str, Any]:
    messages_ = [{"id": f"{id_}_{i}", "role": "user", "content": c} for i, c in enumerate(contents)]
    return {"id": id_, "type": "openai", "messages": messages_}


def _post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


def _age(db: Database, table: Any, age: int, **where: str) -> None:
    """Moves rows back in time (test setup: the API stamps writes with the present)."""
    conditions = [getattr(table.c, k) == v for k, v in where.items()]
    moment = now_us() - age
    values = {"created_at": moment}
    if "updated_at" in table.c:
        values["updated_at"] = moment
    with db.writer.begin() as connection:
        connection.execute(update(table).where(*conditions).values(**values))


def _thread(db: Database, project_id: str, conversation_id: str, age: int) -> None:
    """A semantic thread as the insight pipeline leaves it: the thread, its embedding and a
    queue row for its conversation."""
    moment = now_us() - age
    with db.writer.begin() as connection:
        connection.execute(
            semantic_threads.insert().values(
                project_id=project_id,
                id=f"t_{conversation_id}",
                first_message_at=moment,
                last_message_at=moment,
            )
        )
        connection.execute(
            thread_vectors.insert().values(
                project_id=project_id,
                thread_id=f"t_{conversation_id}",
                conversation_id=conversation_id,
                content_hash="h",
                vector=b"\0" * 8,
                created_at=moment,
            )
        )
        connection.execute(
            insights_queue.insert().values(
                project_id=project_id,
                conversation_id=conversation_id,
                due_at=moment,
                version=1,
                attempts=0,
            )
        )


def _project_id(db: Database, name: str) -> str:
    with db.reader.connect() as connection:
        return str(
            connection.execute(select(projects.c.id).where(projects.c.name == name)).scalar()
        )


@pytest.fixture
def aged(database_url: str, make_key: KeyMaker, db: Database) -> Iterator[dict[str, str]]:
    """Project docs: conversation `old` (40 days, with feedback, events and a thread),
    `alive` (started 40 days ago, a message today), an old stray event, an old search event and
    a new one; project other: the same old data, and no retention. Written through an app
    stopped before the test runs: two apps of one process on one SQLite file would share its
    columnar copy's DuckDB file (DuckDB opens a file once per process), which serve never does."""
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        _write(client, make_key, db)
    yield {"docs": _project_id(db, "docs"), "other": _project_id(db, "other")}


def _write(client: TestClient, make_key: KeyMaker, db: Database) -> None:
    docs, other = make_key.headers("api", "docs"), make_key.headers("api", "other")
    for headers in (docs, other):
        _post(client, headers, "/conversations", _conversation("old", "hi", "bye"))
        _post(
            client, headers, "/feedback", {"id": "fb_old", "messageId": "old_1", "type": "positive"}
        )
        _post(
            client,
            headers,
            "/events",
            {"id": "ev_conv", "type": "x", "entityType": "conversation", "conversationId": "old"},
        )
        _post(
            client,
            headers,
            "/events",
            {"id": "ev_msg", "type": "x", "entityType": "message", "messageId": "old_0"},
        )
        _post(
            client,
            headers,
            "/events",
            {"id": "ev_search", "type": "search", "entityType": "search", "searchQuery": "install"},
        )
        _post(
            client,
            headers,
            "/events",
            {"id": "ev_new", "type": "search", "entityType": "search", "searchQuery": "today"},
        )
        _post(client, headers, "/conversations", _conversation("alive", "then"))
        _post(
            client,
            headers,
            "/events",
            {
                "id": "ev_alive",
                "type": "x",
                "entityType": "conversation",
                "conversationId": "alive",
            },
        )
    for name in ("docs", "other"):
        project_id = _project_id(db, name)
        where = {"project_id": project_id}
        _age(db, conversations, OLD, id="old", **where)
        _age(db, messages, OLD, conversation_id="old", **where)
        _age(db, feedback, OLD, **where)
        for event_id in ("ev_conv", "ev_msg", "ev_search", "ev_alive"):
            _age(db, events, OLD, id=event_id, **where)
        _age(db, conversations, OLD, id="alive", **where)
        _age(db, messages, OLD, conversation_id="alive", **where)
        _thread(db, project_id, "old", OLD)
    # `alive` gets a new message today: its first message stays, 40 days old as it is.
    for headers in (docs, other):
        _post(client, headers, "/conversations", _conversation("alive", "then", "now"))


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _rows(db: Database, project_id: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with db.reader.connect() as connection:
        for table, column in (
            (conversations, "id"),
            (messages, "id"),
            (feedback, "id"),
            (events, "id"),
            (semantic_threads, "id"),
            (thread_vectors, "thread_id"),
            (insights_queue, "conversation_id"),
        ):
            statement = select(getattr(table.c, column)).where(table.c.project_id == project_id)
            out[table.name] = set(connection.execute(statement).scalars())
    return out


def test_old_conversations_go_whole_with_what_derives_from_them(
    database_url: str, db: Database, aged: dict[str, str]
) -> None:
    before_other = _rows(db, aged["other"])
    assert _cli("projects", "set", "--project", "docs", "--retention-days", "30",
                "--database-url", database_url).exit_code == 0  # fmt: skip
    result = _cli("retention", "run", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "docs\t30 days\tdeleted 1 conversations, 2 messages, 1 feedback, 3 events, "
        "1 semantic threads, 1 embeddings, 1 queued"
    ]
    assert _rows(db, aged["docs"]) == {
        "conversations": {"alive"},
        "messages": {"alive_0", "alive_1"},  # the 40-day-old first message stays with it
        "feedback": set(),
        "events": {"ev_new", "ev_alive"},  # an old event of a kept conversation stays too
        "semantic_threads": set(),
        "thread_vectors": set(),
        "insights_queue": set(),
    }
    assert _rows(db, aged["other"]) == before_other
    with db.reader.connect() as connection:
        logged = connection.execute(
            select(func.count()).select_from(changes).where(changes.c.table_name == "events")
        ).scalar()
    assert logged == 3  # event deletes reach the change log the columnar copy follows
    again = _cli("retention", "run", "--database-url", database_url, "--project", "docs")
    assert "deleted 0 conversations" in again.stdout


COUNT = [{"type": "aggregation", "aggregation": "count"}]


def _count(client: TestClient, headers: dict[str, str], view: str) -> int:
    response = client.post(f"/query/{view}", json={"select": COUNT}, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["result"][0]["count"])


def test_a_running_server_purges_at_start_and_its_columnar_copy_follows(
    database_url: str, db: Database, make_key: KeyMaker, aged: dict[str, str]
) -> None:
    headers = make_key.headers("api", "docs")
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        assert (_count(client, headers, "events"), _count(client, headers, "conversations")) == (
            5,
            2,
        )
    with db.writer.begin() as connection:
        connection.execute(
            update(projects).where(projects.c.id == aged["docs"]).values(retention_days=30)
        )
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        deadline = time.monotonic() + 30
        # The last batch deletes the stray old search event.
        while _ids_of(db, aged["docs"], events) != {"ev_new", "ev_alive"}:
            assert time.monotonic() < deadline, "the purge at start did not happen"
            time.sleep(0.02)
        # Reads wait for the copy to catch up with the writer's last commit (api.reads).
        assert _count(client, headers, "events") == 2
        assert _count(client, headers, "conversations") == 1
        other = make_key.headers("api", "other")
        assert (_count(client, other, "events"), _count(client, other, "conversations")) == (5, 2)


def _ids_of(db: Database, project_id: str, table: Any) -> set[str]:
    return _rows(db, project_id)[table.name]


def test_projects_set_and_list_show_the_retention(database_url: str) -> None:
    def set_days(value: str) -> Any:
        return _cli("projects", "set", "--project", "docs", "--retention-days", value,
                    "--database-url", database_url)  # fmt: skip

    def retention() -> str:
        header, row = _cli("projects", "list", "--database-url", database_url).stdout.splitlines()
        return row.split("\t")[header.split("\t").index("retention")]

    assert set_days("90").exit_code == 0
    assert retention() == "90 days"
    for bad in ("abc", "-3", "100000"):
        refused = set_days(bad)
        assert refused.exit_code == 2 and "--retention-days" in refused.stderr, refused.stderr
    assert set_days("none").exit_code == 0
    assert retention() == "forever"
    assert (
        "no project has a retention set"
        in _cli("retention", "run", "--database-url", database_url).stderr
    )


def test_one_instance_purges_at_a_time(
    database_url: str, db: Database, aged: dict[str, str]
) -> None:
    with db.writer.begin() as connection:
        docs = projects.c.id == aged["docs"]
        connection.execute(update(projects).where(docs).values(retention_days=30))
    postgresql = backend_of(database_url) == "postgresql"
    if postgresql:
        with db.reader.connect() as other_instance:  # another instance in the middle of a batch
            other_instance.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            assert run_now(db.writer, db.reader) is None  # this one leaves the purge to it
            assert _ids_of(db, aged["docs"], conversations) == {"old", "alive"}
            refused = _cli("retention", "run", "--database-url", database_url)
            assert refused.exit_code == 1
            assert "another threadline instance is purging" in refused.stderr
            other_instance.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            other_instance.commit()
    # SQLite takes no lock: one writer per file, and a second purge of the same rows is harmless.
    outcomes = run_now(db.writer, db.reader)
    assert outcomes is not None and [o.purged.conversations for o in outcomes] == [1]


def test_the_newest_event_waits_for_a_newer_one(database_url: str, db: Database) -> None:
    """SQLite hands a deleted highest rowid to the next insert, which the columnar copy (it
    follows events by seq) would then never see: the newest event stays until one is newer."""
    old = now_us() - OLD
    with db.writer.begin() as connection:
        connection.execute(
            projects.insert().values(id="p", name="p", created_at=old, retention_days=30)
        )
        rows = [{"id": f"e{i}", "entity_type": "search", "type": "search"} for i in range(3)]
        connection.execute(
            events.insert(), [{"project_id": "p", "created_at": old, **r} for r in rows]
        )
    outcomes = run_now(db.writer, db.reader)
    assert outcomes is not None and outcomes[0].purged.events == 2
    assert _ids_of(db, "p", events) == {"e2"}
    with db.writer.begin() as connection:
        connection.execute(
            events.insert().values(
                project_id="p", id="e3", entity_type="search", type="search", created_at=now_us()
            )
        )
    outcomes = run_now(db.writer, db.reader)
    assert outcomes is not None and outcomes[0].purged.events == 1
    assert _ids_of(db, "p", events) == {"e3"}
