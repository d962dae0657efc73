"""The group-commit Writer (threadline.store.writer) on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError

from threadline.errors import InternalError, Unavailable, Unprocessable
from threadline.store.batch import BatchWrite
from threadline.store.engine import Database, open_database
from threadline.store.events import EventWrite, prepare_event
from threadline.store.tables import events, projects
from threadline.store.writer import Job, Writer, locking
from threadline.wire.events import MessageEventIn

MakeWriter = Callable[..., Writer]


def add_project(name: str) -> Job[str]:
    """A job that inserts one project row and returns its name."""

    def job(connection: Connection) -> str:
        connection.execute(projects.insert().values(id=name, name=name, created_at=0))
        return name

    return job


def fail_after_insert(name: str, error: Exception) -> Job[str]:
    """A job that writes a row, then raises: none of its writes may survive."""

    def job(connection: Connection) -> str:
        add_project(name)(connection)
        raise error

    return job


def stored(database: Database) -> set[str]:
    with database.reader.connect() as connection:
        return set(connection.execute(select(projects.c.name)).scalars())


class Gate:
    """A job that keeps the writer busy until opened, so that the jobs after it queue up."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def job(self, connection: Connection) -> str:
        self.entered.set()
        self.opened.wait()
        return "gate"

    async def hold(self, writer: Writer) -> asyncio.Task[str]:
        """Submit the gate job and return once the writer thread is inside it."""
        task = asyncio.ensure_future(writer.submit(self.job))
        await asyncio.to_thread(self.entered.wait)
        return task

    def open(self) -> None:
        self.opened.set()


def run(scenario: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(scenario)


async def submit_now(writer: Writer, job: Job[Any]) -> BaseException | None:
    """Submit, give the loop one turn, and return the error the submit was refused with."""
    task = asyncio.ensure_future(writer.submit(job))
    await asyncio.sleep(0)
    assert task.done(), "submit waited instead of refusing at once"
    return task.exception()


async def one_batch(writer: Writer, gate: Gate, jobs: list[Job[Any]]) -> list[Any]:
    """Queue every job behind the gate so the writer takes them in one batch; their outcomes."""
    held = await gate.hold(writer)
    tasks = [asyncio.ensure_future(writer.submit(job)) for job in jobs]
    await asyncio.sleep(0)  # every submit has queued its job
    assert writer.queued == len(jobs)
    gate.open()
    assert await held == "gate"
    return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def make_writer(db: Database) -> Iterator[MakeWriter]:
    writers: list[Writer] = []

    def make(**options: Any) -> Writer:
        writer = Writer(db.writer, **options)
        writer.start()
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        writer.stop()


@pytest.fixture
def writer(make_writer: MakeWriter) -> Writer:
    return make_writer()


@pytest.fixture
def gate(make_writer: MakeWriter) -> Iterator[Gate]:
    # Depends on make_writer so that it is opened before the writers are stopped.
    gate = Gate()
    yield gate
    gate.open()


def test_concurrent_submits_all_commit(writer: Writer, db: Database) -> None:
    names = [f"p{i}" for i in range(300)]

    async def scenario() -> list[str]:
        return await asyncio.gather(*(writer.submit(add_project(name)) for name in names))

    assert run(scenario()) == names
    assert stored(db) == set(names)
    assert writer.jobs == 300
    assert writer.batches < writer.jobs


def test_queued_jobs_commit_together(writer: Writer, gate: Gate, db: Database) -> None:
    names = [f"p{i}" for i in range(300)]
    assert run(one_batch(writer, gate, [add_project(name) for name in names])) == names
    assert stored(db) == set(names)
    # The gate alone, then all 300 in one transaction.
    assert (writer.batches, writer.jobs) == (2, 301)


def test_a_batch_holds_at_most_max_batch_jobs(
    make_writer: MakeWriter, gate: Gate, db: Database
) -> None:
    writer = make_writer(max_batch=100)
    run(one_batch(writer, gate, [add_project(f"p{i}") for i in range(250)]))
    assert len(stored(db)) == 250
    assert (writer.batches, writer.jobs) == (1 + 3, 1 + 250)


def test_a_refused_job_gets_its_error_and_the_rest_of_its_batch_commits(
    writer: Writer, gate: Gate, db: Database
) -> None:
    refusal = Unprocessable("no such conversation")
    jobs = [add_project("a"), fail_after_insert("bad", refusal), add_project("b")]
    outcomes = run(one_batch(writer, gate, jobs))
    assert outcomes == ["a", refusal, "b"]
    assert stored(db) == {"a", "b"}


def test_an_unexpected_exception_is_an_internal_error_for_its_job_alone(
    writer: Writer, gate: Gate, db: Database
) -> None:
    jobs = [add_project("a"), fail_after_insert("bad", RuntimeError("bug")), add_project("b")]
    first, failed, last = run(one_batch(writer, gate, jobs))
    assert (first, last) == ("a", "b")
    assert isinstance(failed, InternalError)
    assert "bug" not in failed.detail
    assert stored(db) == {"a", "b"}


def test_a_database_error_caused_by_one_job_fails_that_job_alone(
    writer: Writer, gate: Gate, db: Database
) -> None:
    run(writer.submit(add_project("taken")))
    first, duplicate, last = run(
        one_batch(writer, gate, [add_project("a"), add_project("taken"), add_project("b")])
    )
    assert (first, last) == ("a", "b")
    assert isinstance(duplicate, InternalError)
    assert stored(db) == {"taken", "a", "b"}


def test_a_full_queue_refuses_at_once_with_retry_after(
    make_writer: MakeWriter, gate: Gate, db: Database
) -> None:
    writer = make_writer(queue_size=1, retry_after=7)

    async def scenario() -> None:
        held = await gate.hold(writer)
        waiting = asyncio.ensure_future(writer.submit(add_project("queued")))
        refused = await submit_now(writer, add_project("refused"))
        assert isinstance(refused, Unavailable)
        assert refused.retry_after == 7
        assert refused.headers == {"Retry-After": "7"}
        assert not waiting.done()
        gate.open()
        assert await held == "gate"
        assert await waiting == "queued"

    run(scenario())
    assert stored(db) == {"queued"}


def test_stop_commits_and_answers_everything_queued_before_it(
    writer: Writer, gate: Gate, db: Database
) -> None:
    names = [f"p{i}" for i in range(20)]

    async def scenario() -> list[Any]:
        held = await gate.hold(writer)
        tasks = [asyncio.ensure_future(writer.submit(add_project(name))) for name in names]
        await asyncio.sleep(0)
        stopper = threading.Thread(target=writer.stop)
        stopper.start()
        while writer.queued <= len(names):  # until stop() has queued its marker
            await asyncio.sleep(0.001)
        late = asyncio.ensure_future(writer.submit(add_project("late")))
        await asyncio.sleep(0)
        gate.open()
        await held
        await asyncio.to_thread(stopper.join)
        return await asyncio.gather(*tasks, late, return_exceptions=True)

    *answers, late = run(scenario())
    assert answers == names
    # A job that slipped in behind the stop marker is refused, never left waiting.
    assert isinstance(late, Unavailable)
    assert stored(db) == set(names)


def test_after_stop_submit_is_refused(writer: Writer, db: Database) -> None:
    writer.stop()
    refused = run(submit_now(writer, add_project("after")))
    assert isinstance(refused, Unavailable)
    assert stored(db) == set()


def test_unreachable_database_refuses_every_job_and_the_writer_keeps_going() -> None:
    # Nothing listens on port 1: every connection attempt is refused at once.
    database = open_database("postgresql://postgres@127.0.0.1:1/none")
    writer = Writer(database.writer, retry_after=3)
    writer.start()

    async def scenario() -> tuple[list[Any], BaseException | None]:
        jobs = [writer.submit(add_project(f"p{i}")) for i in range(5)]
        first = await asyncio.gather(*jobs, return_exceptions=True)
        try:
            await writer.submit(add_project("later"))
        except Unavailable as exc:
            return first, exc
        return first, None

    try:
        first, later = run(scenario())
    finally:
        writer.stop()
        database.dispose()
    for error in [*first, later]:
        assert isinstance(error, Unavailable)
        assert error.retry_after == 3


def test_the_writer_recovers_when_the_database_comes_back(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "threadline.db"
    path.mkdir()  # a directory where the database file should be: SQLite cannot open it
    database = open_database(f"sqlite:///{path}")
    writer = Writer(database.writer)
    writer.start()

    async def scenario() -> tuple[BaseException | None, str]:
        try:
            await writer.submit(add_project("lost"))
        except Unavailable as exc:
            refused: BaseException | None = exc
        else:
            refused = None
        path.rmdir()
        shutil.copyfile(sqlite_template, path)
        return refused, await writer.submit(add_project("found"))

    try:
        refused, found = run(scenario())
        assert isinstance(refused, Unavailable)
        assert found == "found"
        assert stored(database) == {"found"}
    finally:
        writer.stop()
        database.dispose()


def event_write(event_id: str, event_type: str = "t") -> EventWrite:
    body = MessageEventIn(type=event_type, messageId="m", id=event_id)
    return prepare_event(project_id="p", integration_id="i", body=body)


def stored_events(database: Database) -> list[tuple[str, str]]:
    with database.reader.connect() as connection:
        return sorted(map(tuple, connection.execute(select(events.c.id, events.c.type))))  # type: ignore[arg-type]


def test_event_writes_of_one_batch_share_one_statement(
    writer: Writer, gate: Gate, db: Database
) -> None:
    # e2 is sent twice in the same batch, with another type the second time: stored once, and
    # both callers get the event stored first.
    jobs = [event_write("e1"), event_write("e2"), event_write("e2", "other"), event_write("e3")]
    results = run(one_batch(writer, gate, jobs))
    assert [(r["id"], r["type"]) for r in results] == [
        ("e1", "t"),
        ("e2", "t"),
        ("e2", "t"),
        ("e3", "t"),
    ]
    assert stored_events(db) == [("e1", "t"), ("e2", "t"), ("e3", "t")]


def test_a_failing_group_is_retried_one_by_one(writer: Writer, gate: Gate, db: Database) -> None:
    bad = event_write("e2")
    bad.row["type"] = None  # NOT NULL: this row alone cannot be stored
    results = run(one_batch(writer, gate, [event_write("e1"), bad, event_write("e3")]))
    assert results[0]["id"] == "e1" and results[2]["id"] == "e3"
    assert isinstance(results[1], InternalError)
    assert stored_events(db) == [("e1", "t"), ("e3", "t")]


def test_a_deadlock_is_re_run_not_refused(writer: Writer, db: Database) -> None:
    # What PostgreSQL raises when it picks this transaction as a deadlock's victim: it rolled
    # the transaction back, and running it again is the remedy, not a 503.
    attempts: list[int] = []

    def job(connection: Connection) -> str:
        attempts.append(1)
        add_project("after-deadlock")(connection)
        if len(attempts) == 1:
            raise OperationalError("UPDATE ...", {}, psycopg.errors.DeadlockDetected())
        return "done"

    assert run(writer.submit(job)) == "done"
    assert len(attempts) == 2
    assert stored(db) == {"after-deadlock"}


def test_a_batch_runs_its_jobs_in_lock_order_and_answers_each_its_own(
    writer: Writer, gate: Gate, db: Database
) -> None:
    # Keyed jobs run in key order (so instances sharing PostgreSQL lock rows in one order);
    # unkeyed ones first, as they came; every submit still gets its own job's answer.
    ran: list[str] = []

    def job(name: str, *key: str) -> Job[str]:
        def run(connection: Connection) -> str:
            ran.append(name)
            return add_project(name)(connection)

        return locking(run, *key) if key else run

    jobs = [
        job("c", "conversations", "p", "c"),
        job("free-1"),
        job("a", "conversations", "p", "a"),
        job("f", "feedback", "p", "a"),
        job("free-2"),
        job("b", "conversations", "p", "b"),
    ]
    assert run(one_batch(writer, gate, jobs)) == ["c", "free-1", "a", "f", "free-2", "b"]
    assert ran == ["free-1", "free-2", "a", "b", "c", "f"]
    assert stored(db) == {"a", "b", "c", "f", "free-1", "free-2"}


def test_a_lasting_database_error_is_still_refused(writer: Writer) -> None:
    def job(connection: Connection) -> str:
        raise OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown())

    assert isinstance(run(submit_and_catch(writer, job)), Unavailable)


async def submit_and_catch(writer: Writer, job: Job[Any]) -> BaseException | None:
    try:
        await writer.submit(job)
    except Exception as exc:
        return exc
    return None


class Broken:
    """A job the writer cannot even inspect: nothing it does may stop the writer thread."""

    @property
    def run_many(self) -> None:
        raise RuntimeError("broken job")

    def __call__(self, connection: Connection) -> str:
        return "never"


def test_the_writer_survives_a_failure_outside_any_job(writer: Writer, db: Database) -> None:
    assert isinstance(run(submit_and_catch(writer, Broken())), InternalError)
    assert run(writer.submit(add_project("still-writing"))) == "still-writing"
    assert stored(db) == {"still-writing"}


def test_a_batch_with_a_bad_event_fails_alone(writer: Writer, gate: Gate, db: Database) -> None:
    # A POST /batch job whose events cannot all be stored (the prebuilt executemany fails on
    # one row) is refused whole; the jobs committed beside it are not touched.
    bad = event_write("b2")
    bad.row["type"] = None  # NOT NULL
    jobs: list[Job[Any]] = [
        event_write("e1"),
        BatchWrite([event_write("b1"), bad, event_write("b3")]),
        BatchWrite([event_write("b4")]),
        event_write("e2"),
    ]
    first, refused, good, last = run(one_batch(writer, gate, jobs))
    assert isinstance(refused, InternalError)
    assert first["id"] == "e1" and last["id"] == "e2" and good[0]["id"] == "b4"
    assert stored_events(db) == [("b4", "t"), ("e1", "t"), ("e2", "t")]


def test_an_event_group_during_an_outage_is_refused_and_then_stored(
    tmp_path: Path, sqlite_template: Path
) -> None:
    # The prebuilt statements' driver errors reach the writer as SQLAlchemy's: an outage is a
    # 503 for every event of the group, and the next group, on a fresh connection, commits.
    path = tmp_path / "threadline.db"
    path.mkdir()  # a directory where the database file should be: SQLite cannot open it
    database = open_database(f"sqlite:///{path}")
    writer = Writer(database.writer)
    writer.start()

    async def scenario() -> tuple[list[Any], list[Any]]:
        lost = [writer.submit(event_write(f"lost{i}")) for i in range(3)]
        refused = await asyncio.gather(*lost, return_exceptions=True)
        path.rmdir()
        shutil.copyfile(sqlite_template, path)
        found = [writer.submit(event_write(f"found{i}")) for i in range(3)]
        return refused, await asyncio.gather(*found)

    try:
        refused, found = run(scenario())
        assert all(isinstance(error, Unavailable) for error in refused)
        assert [row["id"] for row in found] == ["found0", "found1", "found2"]
        assert [event_id for event_id, _ in stored_events(database)] == [
            "found0",
            "found1",
            "found2",
        ]
    finally:
        writer.stop()
        database.dispose()


def test_many_event_loops_are_each_answered(writer: Writer, db: Database) -> None:
    # Answers are handed to each caller's own loop in one call per loop and commit.
    def in_own_loop(event_id: str) -> Any:
        return asyncio.run(writer.submit(event_write(event_id)))

    threads = [threading.Thread(target=in_own_loop, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert [event_id for event_id, _ in stored_events(db)] == ["t0", "t1", "t2", "t3"]
