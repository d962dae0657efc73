"""`threadline demo --no-serve` (threadline.demo.project): loads once, reuses, --reset reloads;
every run prints a fresh api key that reads the data through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.insights.conftest import CountingLabeller
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.demo import project
from threadline.insights.worker import Worker
from threadline.store import insight_queue
from threadline.store.bulk import delete_project, find_project
from threadline.store.engine import open_database
from threadline.store.tables import conversations, metadata
from threadline.timestamps import now_us

EVENTS = "2000"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # the default ./threadline-demo.db lands here, not in the checkout


def demo(database_url: str, *args: str) -> Result:
    result = CliRunner().invoke(
        main, ["demo", "--no-serve", "--events", EVENTS, "--database-url", database_url, *args]
    )
    assert result.exit_code == 0, result.output
    return result


def read(database_url: str, key: str) -> tuple[int, str]:
    """The project's event count and its newest conversation's id, read with `key`."""
    headers = {"Authorization": f"Bearer {key}"}
    count = {"select": [{"type": "aggregation", "aggregation": "count"}]}
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        answer = client.post("/query/events", headers=headers, json=count)
        assert answer.status_code == 200, answer.text
        newest = client.get("/conversations?limit=1", headers=headers)
        assert newest.status_code == 200, newest.text
    return answer.json()["data"]["result"][0]["count"], newest.json()["conversations"][0]["id"]


def test_demo_loads_once_then_reuses_and_reset_reloads(database_url: str) -> None:
    first = demo(database_url)
    key = first.stdout.strip()
    assert key.startswith("tl_api_")  # the key alone on stdout
    assert "/dashboard" in first.stderr
    assert f"loaded {int(EVENTS):,} demo events" in first.stderr
    events, conversation = read(database_url, key)
    assert events == int(EVENTS)

    second = demo(database_url)
    assert "reusing the demo project's 2,000 events" in second.stderr
    new_key = second.stdout.strip()
    assert new_key != key
    assert read(database_url, new_key) == (events, conversation)
    assert read(database_url, key) == (events, conversation)  # earlier keys keep working

    third = demo(database_url, "--reset", "--seed", "2")
    assert "loaded 2,000 demo events" in third.stderr
    reset_key = third.stdout.strip()
    reloaded = read(database_url, reset_key)
    assert reloaded[0] == events
    assert reloaded[1] != conversation  # seed 2's conversations replaced seed 1's


def test_demo_defaults_to_its_own_sqlite_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--events", EVENTS])
    assert result.exit_code == 0, result.output
    path = tmp_path / "workdir" / "threadline-demo.db"
    assert path.exists()
    assert read(f"sqlite:///{path}", result.stdout.strip())[0] == int(EVENTS)


def _support_tickets(database_url: str) -> int:
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            query = select(func.count()).where(conversations.c.type == "support_ticket")
            return int(connection.execute(query).scalar_one())
    finally:
        database.dispose()


_INITIAL = {"condition": {"field": "isInitialQuestionAnswer", "operator": "eq", "value": True}}


def _threads(database_url: str, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        answer = client.post("/query/semantic-threads", headers=headers, json=body)
        assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["data"]["result"]
    return rows


def test_demo_labels_its_recent_conversations_before_serving(database_url: str) -> None:
    result = demo(database_url, "--days", "20")  # 100 conversations, fewer than LABEL_CONVERSATIONS
    assert "of the newest 100 conversations in " in result.stderr
    key = result.stdout.strip()
    conversations = _threads(
        database_url,
        key,
        {"select": [{"type": "aggregation", "aggregation": "countDistinct", "field": "id"}]},
    )
    languages = _threads(
        database_url,
        key,
        {
            "select": [
                {"type": "field", "field": "languages"},
                {"type": "aggregation", "aggregation": "count"},
            ]
        },
    )
    gaps = _threads(
        database_url,
        key,
        {
            "select": [{"type": "aggregation", "aggregation": "count"}],
            "where": {"condition": {"field": "gapSummary", "operator": "isNotNull"}},
        },
    )
    assert conversations[0]["countDistinct_id"] > 100  # 100 conversations, some with 2 threads
    assert {"de", "fr", "es", "pt", "ja"} & {code for row in languages for code in row["languages"]}
    assert gaps[0]["count"] > 0
    # A second run reuses the labelled threads: nothing is labelled in the foreground.
    again = demo(database_url)
    assert "reusing its labelled threads" in again.stderr
    assert "of the newest" not in again.stderr


def test_demo_labels_at_most_the_newest_conversations(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project, "LABEL_CONVERSATIONS", 10)
    result = demo(database_url, "--days", "20")
    assert " of the newest 10 conversations in " in result.stderr
    assert " insights run --database-url " in result.stderr  # how to label the rest
    labelled = _threads(
        database_url,
        result.stdout.strip(),
        {"select": [{"type": "aggregation", "aggregation": "count"}], "where": _INITIAL},
    )
    assert labelled[0]["count"] == 10  # one initial thread per conversation
    # The rest is in the change log the load wrote: serve's worker, following it, labels it.
    database = open_database(database_url, read_pool_size=1)
    try:
        later = now_us() + 3_600_000_000  # past the queue's debounce of fresh writes
        while insight_queue.enqueue_changes(database.writer, later):
            pass
        worker = Worker(database, labeller=CountingLabeller())
        while worker.drain_once(later).claimed:
            pass
    finally:
        database.dispose()
    initial = _threads(
        database_url,
        result.stdout.strip(),
        {"select": [{"type": "aggregation", "aggregation": "count"}], "where": _INITIAL},
    )
    # Every conversation, the support tickets too (a customer asks, an agent answers).
    assert _support_tickets(database_url) > 0
    assert initial[0]["count"] == 100
    # A rerun leaves what is left to the worker, even a queue an interrupted serve left behind.
    database = open_database(database_url, read_pool_size=1)
    try:
        insight_queue.enqueue_backlog(database.writer, "demo", None)
    finally:
        database.dispose()
    again = demo(database_url)
    assert "reusing its labelled threads" in again.stderr
    assert "of the newest" not in again.stderr


def test_demo_labels_nothing_when_insights_are_off(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_INSIGHTS", "off")
    result = demo(database_url)
    assert "labelled" not in result.stderr
    assert _threads(database_url, result.stdout.strip(), {}) == []


def test_reset_leaves_no_row_of_the_old_project_in_any_table(database_url: str) -> None:
    demo(database_url, "--days", "20")  # loaded and labelled: vectors, subjects, queue state
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            project_id = find_project(connection, "demo")
            assert project_id is not None
            delete_project(connection, project_id)
        with database.reader.connect() as connection:
            left = {
                table.name: connection.execute(
                    select(func.count()).where(table.c.project_id == project_id)
                ).scalar_one()
                for table in metadata.sorted_tables
                if "project_id" in table.c
            }
        assert "thread_vectors" in left and "insight_subjects" in left
        assert {name: count for name, count in left.items() if count} == {}
    finally:
        database.dispose()
