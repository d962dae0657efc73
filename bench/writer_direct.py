"""The writer without HTTP: how fast event writes commit through it, and what CPU they cost.

    .venv/bin/python bench/writer_direct.py [--events 20000] [--database-url URL]

Three ways, each on a fresh database (a temp SQLite file, or a PostgreSQL database created on
the given server and dropped after):
- singles: one writer job per event, all submitted at once (group commit batches them);
- batches: one writer job per 100 events, as POST /batch submits them (store.batch.BatchWrite);
- statements: one statement per event in one transaction, no writer (the per-statement cost).
For each: events/s and the process's CPU per event (event loop and writer thread together), on
bodies decoded beforehand, so HTTP and JSON parsing are not in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from threadline.store.batch import BatchWrite
from threadline.store.engine import Database, open_database
from threadline.store.events import EventWrite, insert_events, prepare_event
from threadline.store.migrate import upgrade
from threadline.store.writer import Writer
from threadline.wire.decode import decode
from threadline.wire.events import EventIn

BODY = (
    b'{"id":"e%d","type":"assistant_message_copied","messageId":"msg-%d","entityType":"message",'
    b'"properties":{"source":"bench"},"userProperties":{"id":"u-%d"}}'
)
# What bench/common.lua's next_event() sends through HTTP (--body wrk): more properties, and
# message and user ids that repeat.
WRK_BODY = (
    b'{"id":"b1-1-%d","type":"assistant_message_copied","messageId":"msg-%d",'
    b'"entityType":"message","properties":{"source":"bench","page":"/docs/start"},'
    b'"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}'
)
BATCH = 100
WRK = False  # --body wrk


def writes(n: int) -> list[EventWrite]:
    if WRK:
        texts = [WRK_BODY % (i, i % 5000, i % 20000) for i in range(1, n + 1)]
    else:
        texts = [BODY % (i, i, i) for i in range(n)]
    bodies: list[EventIn] = [decode(text, EventIn) for text in texts]
    return [prepare_event(project_id="p", integration_id="i", body=body) for body in bodies]


async def submit_all(writer: Writer, jobs: list[Any], per_commit: int = 0) -> None:
    """Every job at once (the writer commits as many together as it can), or `per_commit` jobs
    at a time, each group waited for, so each commit holds that many jobs as under load."""
    group = per_commit or len(jobs)
    for start in range(0, len(jobs), group):
        await asyncio.gather(*(writer.submit(job) for job in jobs[start : start + group]))


def singles(database: Database, n: int, per_commit: int) -> tuple[float, float, str]:
    return _through_writer(database, writes(n), n, per_commit)


def batches(database: Database, n: int, per_commit: int) -> tuple[float, float, str]:
    rows = writes(n)
    jobs = [BatchWrite(list(rows[i : i + BATCH])) for i in range(0, n, BATCH)]
    return _through_writer(database, jobs, n, per_commit)


def _through_writer(
    database: Database, jobs: list[Any], n: int, per_commit: int
) -> tuple[float, float, str]:
    writer = Writer(database.writer, queue_size=len(jobs))
    writer.start()
    try:
        rate, cpu = _timed(lambda: asyncio.run(submit_all(writer, jobs, per_commit)), n)
    finally:
        writer.stop()
    return rate, cpu, f"{writer.batches} commits"


def statements(database: Database, n: int, _per_commit: int) -> tuple[float, float, str]:
    rows = writes(n)

    def run() -> None:
        with database.writer.begin() as connection:
            for write in rows:
                insert_events(connection, [write])

    rate, cpu = _timed(run, n)
    return rate, cpu, "1 commit"


def _timed(run: Callable[[], None], n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return n / (time.perf_counter() - wall), (time.process_time() - cpu) / n * 1e6


@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[Database]:
    if url is None:
        database = open_database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
        upgrade(database.writer)
        yield database
        database.dispose()
        return
    name = f"threadline_writer_direct_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        database = open_database(str(make_url(url).set(database=name)))
        upgrade(database.writer)
        yield database
        database.dispose()
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    parser.add_argument("--ways", default="singles,batches,statements")
    parser.add_argument(
        "--jobs-per-commit", type=int, default=0, help="submit this many jobs at a time (0: all)"
    )
    parser.add_argument("--body", choices=["plain", "wrk"], default="plain")
    args = parser.parse_args()
    global WRK
    WRK = args.body == "wrk"
    ways = {"singles": singles, "batches": batches, "statements": statements}
    for way in args.ways.split(","):
        with fresh_database(args.database_url) as database:
            rate, cpu, note = ways[way](database, args.events, args.jobs_per_commit)
        print(f"{way:10s} {rate:9,.0f} events/s  {cpu:6.1f} µs CPU/event  ({note})")


if __name__ == "__main__":
    main()
