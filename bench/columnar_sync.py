"""The columnar copy's incremental sync alone: the CPU it spends per event it follows.

    .venv/bin/python bench/columnar_sync.py [--events 50000] [--per-sync 2500] [--database-url URL]

A fresh database (a temp SQLite file, or a PostgreSQL database created on the given server and
dropped after) gets --preload events, so the copy's build finds their JSON keys and shreds them
as a serving copy would; then, --events / --per-sync times, --per-sync events are committed
(bench/run.py's batch bodies, one transaction, not measured) and the copy syncs them (measured:
the whole process's CPU, DuckDB's threads included, and the wall clock). --per-sync 2500 is what
one sync takes in at 10,000 events/s with the copy's 0.25 s interval.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

from writer_direct import fresh_database

from threadline.analytics.columnar import ColumnarCopy
from threadline.store.engine import Database
from threadline.store.events import insert_events, prepare_event
from threadline.wire.decode import decode
from threadline.wire.events import EventIn

BODY = (
    b'{"id":"s%d","type":"assistant_message_copied","messageId":"msg-%d","entityType":"message",'
    b'"properties":{"source":"bench","page":"/docs/start"},'
    b'"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}'
)


def commit_events(database: Database, first: int, n: int) -> None:
    writes = [
        prepare_event(
            project_id="p",
            integration_id="i",
            body=decode(BODY % (i, i % 5000, i % 20000), EventIn),
        )
        for i in range(first, first + n)
    ]
    with database.writer.begin() as connection:
        insert_events(connection, writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--per-sync", type=int, default=2_500)
    parser.add_argument("--preload", type=int, default=1_000)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    with fresh_database(args.database_url) as database:
        commit_events(database, 0, args.preload)
        # A file, as a server keeps it (its commits write DuckDB's WAL).
        directory = tempfile.mkdtemp(prefix="threadline-bench-")
        copy = ColumnarCopy(database.writer, f"{directory}/copy.duckdb")
        cursor = copy._database.cursor()
        copy._build(cursor)
        cpu = wall = 0.0
        syncs = 0
        for first in range(args.preload, args.preload + args.events, args.per_sync):
            commit_events(database, first, args.per_sync)
            began_wall, began_cpu = time.perf_counter(), time.process_time()
            copy._sync(cursor)
            cpu += time.process_time() - began_cpu
            wall += time.perf_counter() - began_wall
            syncs += 1
        synced = syncs * args.per_sync
        (copied,) = cursor.execute("SELECT count(*) FROM events").fetchone() or (0,)
        cursor.close()
        copy.stop()
        shutil.rmtree(directory)
    assert copied == args.preload + synced, (copied, args.preload + synced)
    print(
        f"{synced:,} events in {syncs} syncs of {args.per_sync}: "
        f"{cpu / synced * 1e6:6.1f} µs CPU/event, {wall / synced * 1e6:6.1f} µs wall/event"
    )


if __name__ == "__main__":
    main()
