"""PostgreSQL only (SQLite has one writer at a time): two instances' writers, each with a batch
of the same two rows in opposite arrival orders, lock them in one order (store.writer.lock_key)
and so never deadlock. In arrival order this interleaving deadlocks every time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text, update

from tests.store.test_writer import Gate, add_project
from threadline.store.engine import Database, open_database
from threadline.store.tables import projects
from threadline.store.writer import Job, Writer, locking

WAIT_S = 30  # a bound on each wait below, never reached when the writer is right


@pytest.fixture
def watcher(pg: Database) -> Database:
    with pg.writer.begin() as connection:
        for name in ("row-a", "row-b"):
            add_project(name)(connection)
    return pg


@pytest.fixture
def instances(postgres_url: str, watcher: Database) -> Iterator[tuple[Writer, Writer]]:
    databases = [open_database(postgres_url, read_pool_size=1) for _ in range(2)]
    writers = [Writer(database.writer) for database in databases]
    for writer in writers:
        writer.start()
    yield writers[0], writers[1]
    for writer in writers:
        writer.stop()
    for database in databases:
        database.dispose()


class Interleaving:
    """Forces the order of events that deadlocks two arrival-ordered batches: the first
    instance locks the row it runs first; then the second instance locks the row it runs first,
    or waits for it; only then does each go on."""

    def __init__(self, watcher: Database) -> None:
        self.watcher = watcher
        self.first_locked = threading.Event()
        self.second_locked = threading.Event()
        self.ran: list[tuple[str, str]] = []

    def job(self, instance: str, row: str) -> Job[str]:
        def run(connection: Connection) -> str:
            # The job an instance runs first (once: a re-run after a deadlock goes straight on).
            first = all(ran != instance for ran, _ in self.ran)
            self.ran.append((instance, row))
            if instance == "second" and first:
                assert self.first_locked.wait(WAIT_S)
            connection.execute(update(projects).where(projects.c.id == row).values(created_at=1))
            if instance == "second" and first:
                self.second_locked.set()
            if instance == "first" and first:
                self.first_locked.set()
                self._until_the_second_locked_or_waits()
            return row

        return locking(run, "projects", row)

    def _until_the_second_locked_or_waits(self) -> None:
        deadline = time.monotonic() + WAIT_S
        with self.watcher.reader.connect() as watching:
            while not self.second_locked.is_set():
                assert time.monotonic() < deadline, "the second instance never got going"
                waiting = watching.execute(_WAITING_FOR_A_LOCK).scalar_one()
                watching.rollback()
                if waiting:
                    return


_WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock'"
)


def test_two_batches_of_the_same_rows_in_opposite_orders_do_not_deadlock(
    instances: tuple[Writer, Writer], watcher: Database
) -> None:
    one, two = instances
    forced = Interleaving(watcher)
    # Arrival orders: b then a on the first instance, a then b on the second.
    batches = {
        one: [forced.job("first", "row-b"), forced.job("first", "row-a")],
        two: [forced.job("second", "row-a"), forced.job("second", "row-b")],
    }

    async def scenario() -> list[list[str]]:
        gates = {writer: Gate() for writer in batches}
        held = [await gates[writer].hold(writer) for writer in batches]
        tasks = {
            writer: [asyncio.ensure_future(writer.submit(job)) for job in jobs]
            for writer, jobs in batches.items()
        }
        await asyncio.sleep(0)  # every submit has queued its job behind its writer's gate
        for gate in gates.values():
            gate.open()
        await asyncio.gather(*held)
        return [list(await asyncio.gather(*tasks[writer])) for writer in batches]

    # Each job answers its own submit, whatever order the batch ran them in.
    assert asyncio.run(scenario()) == [["row-b", "row-a"], ["row-a", "row-b"]]
    assert one.conflicts == 0 and two.conflicts == 0, forced.ran
    assert [row for instance, row in forced.ran if instance == "first"][:2] == ["row-a", "row-b"]
