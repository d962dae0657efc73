"""The columnar copy follows the primary store: new rows, updates and deletes show up in the
query API at once; it survives a restart and is rebuilt when it no longer fits its database.
On real SQLite and PostgreSQL (tests/conftest.py)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import delete, func, insert, make_url, select
from starlette.testclient import TestClient

from threadline.analytics import build, columnar
from threadline.analytics.columnar import (
    CHANGES_RETENTION_US,
    ColumnarCopy,
    default_path,
    forget_old_changes,
)
from threadline.analytics.concurrent import WIDTH, concurrently
from threadline.analytics.schema import READ_TYPES
from threadline.app import create_app
from threadline.config import Settings
from threadline.errors import Unavailable
from threadline.store.engine import Database, open_database
from threadline.store.tables import changes, events
from threadline.timestamps import now_us

COUNT_BY_TYPE = {
    "select": [{"type": "field", "field": "type"}, {"type": "aggregation", "aggregation": "count"}],
    "groupBy": [{"field": "type"}],
    "orderBy": [{"field": "type", "direction": "asc"}],
}


def _event(kind: str) -> dict[str, Any]:
    return {"type": kind, "entityType": "search", "searchQuery": "how to"}


def _conversation(id_: str, *contents: str) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "openai",
        "messages": [
            {"id": f"{id_}_{i}", "role": "user", "content": text} for i, text in enumerate(contents)
        ],
    }


def _query(client: TestClient, headers: dict[str, str], view: str, body: Any) -> list[Any]:
    response = client.post(f"/query/{view}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: list[Any] = response.json()["data"]["result"]
    return result


def _served(client: TestClient) -> dict[str, int]:
    return dict(client.app.state.services.analytic_reads)  # type: ignore[attr-defined]


@pytest.fixture
def ready(client: TestClient) -> Iterator[TestClient]:
    """The test client, once its columnar copy is built (reads before then use the primary)."""
    copy = client.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy is not None and copy.wait_until(time.monotonic(), timeout=30.0)
    yield client


def test_a_write_is_in_the_next_query(ready: TestClient, api_headers: dict[str, str]) -> None:
    for kind in ("search", "search", "page_view"):
        response = ready.post("/events", json=_event(kind), headers=api_headers)
        assert response.status_code == 200, response.text
        before = _served(ready)
        rows = _query(ready, api_headers, "events", COUNT_BY_TYPE)
        assert _served(ready)["columnar"] == before["columnar"] + 1
    assert rows == [{"type": "page_view", "count": 1}, {"type": "search", "count": 2}]


def test_updates_and_deletes_follow(ready: TestClient, api_headers: dict[str, str]) -> None:
    count_messages = {
        "select": [
            {"type": "field", "field": "id"},
            {"type": "field", "field": "userMessageCount"},
        ],
        "orderBy": [{"field": "id", "direction": "asc"}],
    }
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    for body in (_conversation("c1", "hi"), _conversation("c2", "a")):
        assert ready.post("/conversations", json=body, headers=api_headers).status_code == 200
    # Synced before each read, so the copy answers it however busy the machine: a sync that
    # took over the read's 1 s freshness wait (load ~10) left the read to the primary store.
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert _query(ready, api_headers, "conversations", count_messages) == [
        {"id": "c1", "userMessageCount": 1},
        {"id": "c2", "userMessageCount": 1},
    ]
    # The upsert replaces c1's history; the delete removes c2 and its messages.
    updated = _conversation("c1", "hi", "again", "and again")
    assert ready.post("/conversations", json=updated, headers=api_headers).status_code == 200
    assert ready.delete("/conversations/c2", headers=api_headers).status_code in (200, 204)
    assert copy.wait_until(time.monotonic(), timeout=30.0)
    assert _query(ready, api_headers, "conversations", count_messages) == [
        {"id": "c1", "userMessageCount": 3}
    ]
    served = _served(ready)
    assert served["columnar"] >= 2, served


def test_an_event_given_a_deleted_events_seq_is_copied(
    ready: TestClient, api_headers: dict[str, str], db: Database
) -> None:
    """SQLite gives the seq of a deleted newest event (erasure, retention) to the next one."""
    for kind in ("search", "page_view"):
        assert ready.post("/events", json=_event(kind), headers=api_headers).status_code == 200
    assert len(_query(ready, api_headers, "events", COUNT_BY_TYPE)) == 2
    with db.writer.begin() as connection:
        newest = connection.execute(select(func.max(events.c.seq))).scalar_one()
        connection.execute(delete(events).where(events.c.seq == newest))
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy.wait_until(time.monotonic(), timeout=30.0)  # a delete made outside the server
    assert _query(ready, api_headers, "events", COUNT_BY_TYPE) == [{"type": "search", "count": 1}]
    assert ready.post("/events", json=_event("signup"), headers=api_headers).status_code == 200
    assert _query(ready, api_headers, "events", COUNT_BY_TYPE) == [
        {"type": "search", "count": 1},
        {"type": "signup", "count": 1},
    ]


def test_feedback_is_followed(ready: TestClient, api_headers: dict[str, str]) -> None:
    conversation = {
        "id": "c1",
        "type": "openai",
        "messages": [
            {"id": "u1", "role": "user", "content": "q"},
            {"id": "a1", "role": "assistant", "content": "a"},
        ],
    }
    assert ready.post("/conversations", json=conversation, headers=api_headers).status_code == 200
    feedback = {"type": "negative", "messageId": "a1", "reasons": [{"label": "Inaccurate"}]}
    assert ready.post("/feedback", json=feedback, headers=api_headers).status_code in (200, 201)
    by_type = {
        "select": [
            {"type": "field", "field": "type"},
            {"type": "aggregation", "aggregation": "count"},
        ],
        "groupBy": [{"field": "type"}],
    }
    assert _query(ready, api_headers, "feedback", by_type) == [{"type": "negative", "count": 1}]


def test_the_copy_survives_a_restart(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    settings = Settings(database_url=database_url, analytics_path=str(tmp_path / "copy.duckdb"))
    with TestClient(create_app(settings)) as first:
        for _ in range(3):
            assert first.post("/events", json=_event("x"), headers=api_headers).status_code == 200
        assert _query(first, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 3}]
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert copy.resumed
        assert second.post("/events", json=_event("x"), headers=api_headers).status_code == 200
        assert _query(second, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 4}]


def test_a_build_cut_short_after_a_commit_is_built_again_not_followed(
    database_url: str, tmp_path: Path, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A build commits every COMMIT_ROWS rows; one that stops half way (a crash, a kill) must
    # not leave a copy the next start takes for whole: the old copy's state went first.
    settings = Settings(database_url=database_url, analytics_path=str(tmp_path / "copy.duckdb"))
    with TestClient(create_app(settings)) as first:
        for _ in range(5):
            assert first.post("/events", json=_event("x"), headers=api_headers).status_code == 200
        assert _query(first, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 5}]
    # The copy of the next start is rebuilt (another database's identity), in chunks of 2
    # rows committed every 2, and the third chunk of events fails.
    monkeypatch.setattr(build, "CHUNK_ROWS", 2)
    monkeypatch.setattr(build, "CSV_CHUNK_ROWS", 2)
    monkeypatch.setattr(build, "COMMIT_ROWS", 2)
    copy_path = str(tmp_path / "copy.duckdb")
    with duckdb.connect(copy_path) as raw:
        raw.execute("UPDATE columnar_state SET value = 'elsewhere' WHERE name = 'identity'")
    inserted = build._insert
    calls = {"events": 0}

    def failing(cursor: Any, table_name: str, *rest: Any) -> list[int]:
        if table_name == "events":
            calls["events"] += 1
            if calls["events"] == 3:
                raise RuntimeError("the machine went down")
        return inserted(cursor, table_name, *rest)

    monkeypatch.setattr(build, "_insert", failing)
    db = open_database(database_url)
    try:
        cut = ColumnarCopy(db.reader, copy_path)
        cut.start()
        assert not cut.wait_until(time.monotonic(), timeout=1.0)  # the build failed
        cut.stop()
    finally:
        db.dispose()
    with duckdb.connect(copy_path) as raw:
        assert raw.execute("SELECT count(*) FROM columnar_state").fetchone() == (0,)
        (kept,) = raw.execute("SELECT count(*) FROM events").fetchone() or (0,)
        assert 0 < kept < 5  # committed part way
    monkeypatch.setattr(build, "_insert", inserted)
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert not copy.resumed  # built again, whole
        assert _query(second, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 5}]


def test_the_default_copy_is_on_disk_and_survives_a_restart(
    database_url: str, state_directory: Path, api_headers: dict[str, str]
) -> None:
    # No THREADLINE_ANALYTICS_PATH: beside a SQLite file, in the state directory for
    # PostgreSQL (it was rebuilt in memory at every start before).
    settings = Settings(database_url=database_url)
    with TestClient(create_app(settings)) as first:
        copy = first.app.state.services.columnar  # type: ignore[attr-defined]
        assert first.post("/events", json=_event("x"), headers=api_headers).status_code == 200
        assert _query(first, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 1}]
        where = Path(copy.path)
    if database_url.startswith("sqlite"):
        assert where == Path(database_url.removeprefix("sqlite:///")).with_suffix(
            ".columnar.duckdb"
        )
    else:
        assert where.parent == state_directory
    assert where.is_file()
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert copy.resumed
        assert _query(second, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 1}]


def test_default_paths(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert default_path(make_url("sqlite:////srv/t.db"), state) == "/srv/t.columnar.duckdb"
    assert default_path(make_url("sqlite://"), state) == ":memory:"
    server = make_url("postgresql+psycopg://u:secret@db.example:5433/prod")
    assert default_path(server, state) == str(state / "db.example-5433-prod.columnar.duckdb")
    assert state.is_dir()
    blocked = tmp_path / "file"
    blocked.write_text("")  # a directory cannot be made under a file
    assert default_path(server, blocked / "threadline") == ":memory:"


def test_a_copy_ahead_of_the_changes_log_is_rebuilt(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    # As after a restore of an older backup: the copy has followed changes the store lost.
    path = tmp_path / "copy.duckdb"
    settings = Settings(database_url=database_url, analytics_path=str(path))
    with TestClient(create_app(settings)) as first:
        posted = first.post("/conversations", json=_conversation("c1", "hi"), headers=api_headers)
        assert posted.status_code == 200, posted.text
        copy = first.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
    with duckdb.connect(str(path)) as kept:
        kept.execute("UPDATE columnar_state SET value = '999999' WHERE name = 'changes'")
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert not copy.resumed


def test_a_copy_of_another_database_is_rebuilt(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    path = tmp_path / "copy.duckdb"
    settings = Settings(database_url=database_url, analytics_path=str(path))
    with TestClient(create_app(settings)) as first:
        assert first.post("/events", json=_event("x"), headers=api_headers).status_code == 200
        assert _query(first, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 1}]
    with duckdb.connect(str(path)) as copy:  # as if made from a database since deleted
        copy.execute("UPDATE columnar_state SET value = 'elsewhere' WHERE name = 'identity'")
        copy.execute(
            "INSERT INTO events (seq, project_id, type) "
            "SELECT seq + 1000, project_id, 'ghost' FROM events"
        )
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert not copy.resumed
        assert _query(second, api_headers, "events", COUNT_BY_TYPE) == [{"type": "x", "count": 1}]


def test_a_copy_made_with_other_columns_is_rebuilt(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    # A copy kept from before a migration added a column (messages.digest, revision 0006):
    # following it would insert rows it has no column for.
    path = tmp_path / "copy.duckdb"
    settings = Settings(database_url=database_url, analytics_path=str(path))
    with TestClient(create_app(settings)) as first:
        posted = first.post("/conversations", json=_conversation("c1", "hi"), headers=api_headers)
        assert posted.status_code == 200, posted.text
    with duckdb.connect(str(path)) as copy:
        copy.execute("ALTER TABLE messages DROP COLUMN digest")
        copy.execute("DELETE FROM columnar_state WHERE name = 'columns'")
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert not copy.resumed
        posted = second.post(
            "/conversations", json=_conversation("c1", "hi", "again"), headers=api_headers
        )
        assert posted.status_code == 200, posted.text
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        count = {"select": [{"type": "aggregation", "aggregation": "count"}]}
        assert _query(second, api_headers, "conversations", count) == [{"count": 1}]
        assert _served(second)["columnar"] >= 1


def test_old_changes_are_forgotten_but_the_newest_kept(db: Database) -> None:
    old = now_us() - CHANGES_RETENTION_US - 1_000_000
    with db.writer.begin() as connection:
        connection.execute(
            insert(changes),
            [{"table_name": "messages", "row_seq": n, "created_at": old} for n in range(3)]
            + [{"table_name": "messages", "row_seq": 9, "created_at": now_us()}],
        )
        assert forget_old_changes(connection) == 3
        assert connection.execute(select(func.count()).select_from(changes)).scalar() == 1
        connection.execute(changes.update().values(created_at=old))
        assert forget_old_changes(connection) == 0  # the newest stays, however old


def _search(query: str, **properties: Any) -> dict[str, Any]:
    return {**_event("search"), "searchQuery": query, "properties": properties}


def test_keys_new_since_the_copy_was_built_are_read_from_the_documents(
    ready: TestClient, api_headers: dict[str, str]
) -> None:
    # Built on an empty store, the copy has no columns of its own for any key: "plan" and
    # "theme" are read from the JSON, and property discovery parses the documents.
    copy = ready.app.state.services.columnar  # type: ignore[attr-defined]
    assert copy.shredded.keys == {}
    for plan in ("pro", "pro", "free"):
        body = _search("q", plan=plan, theme="dark")
        assert ready.post("/events", json=body, headers=api_headers).status_code == 200
    assert copy.wait_until(time.monotonic(), timeout=30.0)  # the copy answers, however busy
    by_plan = {
        "select": [
            {"type": "field", "field": "properties", "path": ["plan"]},
            {"type": "aggregation", "aggregation": "count"},
        ],
        "groupBy": [{"field": "properties", "path": ["plan"]}],
        "orderBy": [{"field": "count", "direction": "desc"}],
    }
    assert _query(ready, api_headers, "events", by_plan) == [
        {"properties.plan": "pro", "count": 2},
        {"properties.plan": "free", "count": 1},
    ]
    keys = ready.post(
        "/query/property-keys", json={"field": "properties"}, headers=api_headers
    ).json()
    assert keys == {"results": ["plan", "theme"]}
    assert _served(ready)["columnar"] == 2


def test_a_key_common_since_the_last_start_gets_columns_of_its_own(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    settings = Settings(database_url=database_url, analytics_path=str(tmp_path / "copy.duckdb"))
    with TestClient(create_app(settings)) as first:
        copy = first.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert copy.shredded.keys == {}
        for n in range(20):
            body = _search(f"q{n}", plan="pro")
            assert first.post("/events", json=body, headers=api_headers).status_code == 200
        assert copy.wait_until(time.monotonic(), timeout=30.0)
    with TestClient(create_app(settings)) as second:
        copy = second.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert not copy.resumed  # rebuilt, with "plan" shredded
        assert copy.shredded.keys["events"]["properties"] == ("plan",)
        count = {
            "select": [{"type": "aggregation", "aggregation": "count"}],
            "where": {
                "condition": {
                    "field": "properties",
                    "operator": "eq",
                    "value": {"path": ["plan"], "value": "pro"},
                }
            },
        }
        assert _query(second, api_headers, "events", count) == [{"count": 20}]
    with TestClient(create_app(settings)) as third:  # nothing new: followed on
        copy = third.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert copy.resumed


def test_duckdb_runs_within_the_configured_memory_threads_and_temp_directory(
    database_url: str, api_headers: dict[str, str]
) -> None:
    # On SQLite a copy on disk (the default); on PostgreSQL one kept in memory.
    in_memory = not database_url.startswith("sqlite")
    settings = Settings(
        database_url=database_url,
        analytics_memory_limit="256MiB",
        analytics_threads=1,
        analytics_path=":memory:" if in_memory else "",
    )
    with TestClient(create_app(settings)) as client:
        copy = client.app.state.services.columnar  # type: ignore[attr-defined]
        # Within the limit, the copy syncs rows (its JSON reader once allocated 2 GiB for any).
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert client.post("/events", json=_event("t"), headers=api_headers).status_code == 200
        assert _query(client, api_headers, "events", COUNT_BY_TYPE) == [{"type": "t", "count": 1}]
        assert _served(client)["columnar"] == 1
        assert copy.failures == 0
        with copy.engine.connect() as connection:
            applied = connection.exec_driver_sql(
                "SELECT current_setting('memory_limit'), current_setting('threads'), "
                "current_setting('temp_directory')"
            ).one()
        memory_limit, threads, temp_directory = applied
        assert (memory_limit, threads) == ("256.0 MiB", 1)
        if not in_memory:
            assert temp_directory == f"{copy.path}.tmp"
        else:  # in memory: a directory of its own, not ".tmp" in the working directory
            assert Path(temp_directory).is_dir()
            assert Path(temp_directory).name.startswith("threadline-columnar-")
    if in_memory:
        assert not Path(temp_directory).exists()


def test_a_read_past_duckdbs_memory_limit_is_a_503(db: Database) -> None:
    copy = ColumnarCopy(db.reader, ":memory:", memory_limit="1MB")  # not started: no sync
    grouping = (
        "SELECT s, count(*) FROM (SELECT 'v' || (range % 100000) AS s FROM range(1000000)) "
        "GROUP BY s"
    )
    try:
        with (
            pytest.raises(Unavailable) as raised,
            copy.reading(timeout=600.0, retry_after=3) as connection,
        ):
            connection.exec_driver_sql(grouping).all()
        assert "THREADLINE_ANALYTICS_MEMORY_LIMIT" in raised.value.detail
        assert raised.value.headers == {"Retry-After": "3"}
        with copy.reading(timeout=600.0, retry_after=3) as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        copy.stop()


def test_a_read_that_waits_out_the_pool_for_a_cursor_is_a_503(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar, "POOL_WAIT_SECONDS", 0.05)
    copy = ColumnarCopy(db.reader, ":memory:")  # not started: no sync
    try:
        reads = 0
        with contextlib.ExitStack() as held:
            with pytest.raises(Unavailable) as raised:
                while reads < 100:  # more reads than the pool has cursors, none ending
                    held.enter_context(copy.reading(timeout=600.0, retry_after=3))
                    reads += 1
            assert reads > 1  # the pool served some before it ran out
            assert raised.value.status == 503
            assert raised.value.headers == {"Retry-After": "3"}
            assert "busy" in raised.value.detail
        with copy.reading(timeout=600.0, retry_after=3) as connection:  # freed: served again
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        copy.stop()


def test_the_pool_holds_every_cursor_the_allowed_reads_can_take(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 15 reads at once (THREADLINE_MAX_CONCURRENT_QUERIES), each running its parts on WIDTH
    # cursors: with a pool of 20 some would each hold one and wait out the pool for a second.
    monkeypatch.setattr(columnar, "POOL_WAIT_SECONDS", 0.05)
    copy = ColumnarCopy(db.reader, ":memory:", reads=15)  # not started: no sync
    try:
        with contextlib.ExitStack() as held:
            for _ in range(15 * WIDTH):
                held.enter_context(copy.reading(timeout=600.0, retry_after=3))
    finally:
        copy.stop()


# A statement that runs for minutes unless interrupted.
ENDLESS = "SELECT count(*) FROM range(100000000000)"


def test_stop_ends_the_reads_still_running_then_closes(db: Database) -> None:
    # A read whose request went away may still be running when the server stops: DuckDB
    # refused to close under it ("connection is busy"), and exiting so could crash the process.
    copy = ColumnarCopy(db.reader, ":memory:")  # not started: no sync
    running = threading.Event()
    ended: list[BaseException] = []

    def read() -> None:
        try:
            with copy.reading(timeout=0, retry_after=1) as connection:
                parts = [lambda c: c.exec_driver_sql(ENDLESS).all()] * WIDTH
                running.set()
                concurrently(connection, parts)
        except BaseException as exc:
            ended.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    assert running.wait(30)
    copy.stop()  # raised ResourceInUse before, the read still running
    reader.join(30)
    assert not reader.is_alive() and len(ended) == 1
    assert isinstance(ended[0].__cause__ or ended[0], duckdb.InterruptException), ended
    with pytest.raises(Unavailable) as refused, copy.reading(timeout=1.0, retry_after=2):
        pass
    assert refused.value.headers == {"Retry-After": "2"}


def test_stop_interrupts_a_build_and_logs_no_failure(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    building = threading.Event()

    def endless_build(self: ColumnarCopy, cursor: duckdb.DuckDBPyConnection, *_: Any) -> None:
        building.set()
        cursor.execute(ENDLESS)

    monkeypatch.setattr(ColumnarCopy, "_build", endless_build)
    copy = ColumnarCopy(db.reader, ":memory:")
    copy.start()
    assert building.wait(30)
    began = time.monotonic()
    copy.stop()
    assert time.monotonic() - began < columnar.STOP_SECONDS
    assert copy._thread is not None and not copy._thread.is_alive()
    assert copy.failures == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records


def test_while_the_copy_is_built_the_primary_store_answers(
    database_url: str, tmp_path: Path, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The build is held at its first table until the gate opens: a copy of millions of rows
    # takes a minute or more, and the server answers meanwhile.
    gate = threading.Event()
    copy_table = build.copy_table

    def held(*args: Any, **kwargs: Any) -> int:
        assert gate.wait(timeout=30.0)
        return copy_table(*args, **kwargs)

    monkeypatch.setattr(build, "copy_table", held)
    settings = Settings(database_url=database_url, analytics_path=str(tmp_path / "copy.duckdb"))
    with TestClient(create_app(settings)) as client:
        copy = client.app.state.services.columnar  # type: ignore[attr-defined]
        for kind in ("a", "b", "b"):
            assert client.post("/events", json=_event(kind), headers=api_headers).status_code == 200
        expected = [{"type": "a", "count": 1}, {"type": "b", "count": 2}]
        assert _query(client, api_headers, "events", COUNT_BY_TYPE) == expected
        assert not copy.ready
        assert _served(client) == {"columnar": 0, "primary": 1}
        gate.set()
        assert copy.wait_until(time.monotonic(), timeout=30.0)
        assert _query(client, api_headers, "events", COUNT_BY_TYPE) == expected
        assert _served(client) == {"columnar": 1, "primary": 1}


TRICKY = [
    "",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\r\nlf\r",
    "back\\slash \\N",
    "NULL",
    " spaced ",
    "tab\there",
    "日本語 ü 🌊",
    "'quoted'",
    "control \x01 and \x1f\x01\x01",
]


def test_a_copy_built_from_the_primary_holds_what_the_sync_copied(
    database_url: str, tmp_path: Path, api_headers: dict[str, str]
) -> None:
    # A build reads rows its own way (from PostgreSQL as CSV: analytics.build_csv): text with
    # the CSV's own characters, empty texts and NULLs must come out as the sync copied them.
    settings = Settings(database_url=database_url, analytics_path=str(tmp_path / "synced.duckdb"))
    with TestClient(create_app(settings)) as client:
        for i, text in enumerate(TRICKY):
            body = {
                "type": text or "empty",
                "entityType": "search",
                "searchQuery": text,
                "properties": {"text": text, "n": i, "nested": {"list": [text, None]}},
                "userProperties": {"userId": text},
            }
            response = client.post("/events", json=body, headers=api_headers)
            assert response.status_code == 200, response.text
        response = client.post(
            "/events",
            json={"type": "bare", "entityType": "conversation", "conversationId": "c1"},
            headers=api_headers,
        )
        assert response.status_code == 200, response.text
        contents = [text for text in TRICKY if text]
        response = client.post(
            "/conversations", json=_conversation("c1", *contents), headers=api_headers
        )
        assert response.status_code in (200, 201), response.text
        copy = client.app.state.services.columnar  # type: ignore[attr-defined]
        assert copy.wait_until(time.monotonic(), timeout=30.0)
    db = open_database(database_url)
    try:
        rebuilt = ColumnarCopy(db.reader, str(tmp_path / "rebuilt.duckdb"))
        rebuilt.start()
        assert rebuilt.wait_until(time.monotonic(), timeout=30.0)
        rebuilt.stop()
    finally:
        db.dispose()
    for name, types in READ_TYPES.items():
        select_all = f"SELECT {', '.join(types)} FROM {name} ORDER BY seq"
        with duckdb.connect(str(tmp_path / "synced.duckdb"), read_only=True) as synced:
            expected = synced.execute(select_all).fetchall()
        with duckdb.connect(str(tmp_path / "rebuilt.duckdb"), read_only=True) as built:
            assert built.execute(select_all).fetchall() == expected, name
        if name == "events":
            queries = [row[list(types).index("search_query")] for row in expected]
            assert queries[: len(TRICKY)] == TRICKY and queries[-1] is None
