"""Single-write latency while `serve` purges a large backlog of old data (docs/operations.md).

    .venv/bin/python bench/retention_purge.py --conversations 20000 --database sqlite

Fills a fresh database with --conversations conversations (5 messages, 1 feedback and 5 events
each) dated 400 days ago in a project with a 30-day retention, then runs serve's writer
(threadline.store.writer.Writer) and sends one event insert at a time through it, as an HTTP
write would, measuring how long each waits for its commit: first with nothing else running
(baseline), then while threadline.maintenance.purger.purge_once deletes the whole backlog, then
the baseline again. HTTP is left out on purpose: what a purge can stall is the writer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Connection, create_engine, func, select, text

from threadline.maintenance import retention
from threadline.maintenance.purger import purge_once
from threadline.store.engine import normalize_url, open_database
from threadline.store.migrate import upgrade
from threadline.store.tables import conversations, events, feedback, messages, projects
from threadline.store.writer import Writer
from threadline.timestamps import DAY_US, now_us

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def fill(connection: Connection, count: int) -> None:
    old = now_us() - 400 * DAY_US
    connection.execute(
        projects.insert(),
        [
            {"id": "old", "name": "old", "created_at": old, "retention_days": 30},
            {"id": "live", "name": "live", "created_at": old, "retention_days": None},
        ],
    )
    chunk = 2_000
    for start in range(0, count, chunk):
        ids = range(start, min(count, start + chunk))
        stamp = {"project_id": "old", "created_at": old, "updated_at": old}
        connection.execute(
            conversations.insert(), [{"id": f"c{i}", "type": "openai", **stamp} for i in ids]
        )
        connection.execute(
            messages.insert(),
            [
                {
                    "id": f"c{i}m{j}",
                    "conversation_id": f"c{i}",
                    "position": j,
                    "role": "user",
                    "content": "How do I configure the widget for single sign-on? " * 4,
                    **stamp,
                }
                for i in ids
                for j in range(5)
            ],
        )
        connection.execute(
            feedback.insert(),
            [{"id": f"f{i}", "message_id": f"c{i}m1", "type": "positive", **stamp} for i in ids],
        )
        connection.execute(
            events.insert(),
            [
                {
                    "project_id": "old",
                    "id": f"e{i}-{j}",
                    "entity_type": "message",
                    "type": "message:copied",
                    "message_id": f"c{i}m{j}",
                    "conversation_id": f"c{i}",
                    "created_at": old,
                }
                for i in ids
                for j in range(5)
            ],
        )


def one_event(connection: Connection) -> None:
    connection.execute(
        events.insert().values(
            project_id="live",
            id=uuid.uuid4().hex,
            entity_type="message",
            type="bench",
            created_at=now_us(),
        )
    )


async def writes_until(writer: Writer, done: asyncio.Event, seconds: float) -> list[float]:
    latencies = []
    deadline = time.perf_counter() + seconds
    while not done.is_set() and time.perf_counter() < deadline:
        started = time.perf_counter()
        await writer.submit(one_event)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summary(label: str, latencies: list[float], seconds: float) -> str:
    ms = sorted(latencies)
    p = lambda q: ms[min(len(ms) - 1, int(len(ms) * q))]  # noqa: E731
    return (
        f"| {label} | {seconds:.1f} s | {len(ms):,} | {p(0.5):.2f} | {p(0.99):.2f} | {ms[-1]:.1f} |"
    )


async def measure(url: str, baseline_seconds: float) -> None:
    database = open_database(url)
    writer = Writer(database.writer)
    writer.start()
    try:
        print("| while | took | writes | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|---|")
        never = asyncio.Event()
        started = time.perf_counter()
        base = await writes_until(writer, never, baseline_seconds)
        print(summary("nothing (baseline)", base, time.perf_counter() - started))
        done = asyncio.Event()

        async def purge() -> int:
            try:
                return await purge_once(writer)
            finally:
                done.set()

        started = time.perf_counter()
        purging = asyncio.create_task(purge())
        during = await writes_until(writer, done, 3600)
        deleted = await purging
        took = time.perf_counter() - started
        print(summary(f"purging {deleted:,} rows", during, took))
        started = time.perf_counter()
        base = await writes_until(writer, never, baseline_seconds)
        print(summary("nothing (baseline)", base, time.perf_counter() - started))
        with database.reader.connect() as connection:
            left = connection.execute(
                select(func.count()).select_from(messages).where(messages.c.project_id == "old")
            ).scalar()
        print(f"\nold messages left: {left}; load average after: {os.getloadavg()[0]:.2f}")
    finally:
        writer.stop()
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument(
        "--conversations-per-batch", type=int, default=retention.CONVERSATIONS_PER_BATCH
    )
    args = parser.parse_args()
    retention.CONVERSATIONS_PER_BATCH = args.conversations_per_batch
    with tempfile.TemporaryDirectory(prefix="threadline-retention-bench-") as work:
        name = f"threadline_retention_bench_{os.getpid()}"
        admin = create_engine(normalize_url(ADMIN), isolation_level="AUTOCOMMIT")
        if args.database == "sqlite":
            url = f"sqlite:///{Path(work) / 'bench.db'}"
        else:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = normalize_url(ADMIN).set(database=name).render_as_string(hide_password=False)
        try:
            database = open_database(url)
            upgrade(database.writer)
            started = time.perf_counter()
            with database.writer.begin() as connection:
                fill(connection, args.conversations)
            database.dispose()
            print(
                f"{args.database}: {args.conversations:,} old conversations filled in "
                f"{time.perf_counter() - started:.0f} s; {args.conversations_per_batch} "
                f"conversations per batch; load average {os.getloadavg()[0]:.2f}\n"
            )
            asyncio.run(measure(url, args.baseline_seconds))
        finally:
            if args.database == "postgresql":
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
