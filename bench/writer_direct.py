"""The writer without HTTP: how fast event writes commit through it.

    .venv/bin/python bench/writer_direct.py [--events 5000]

Prints events/s through the group-commit Writer (all submitted at once) and for plain inserts
in one transaction on the same connection: the storage side's ceiling, before any HTTP cost.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

from threadline.store.engine import open_database
from threadline.store.events import insert_events, prepare_event
from threadline.store.migrate import upgrade
from threadline.store.writer import Writer
from threadline.wire.decode import decode
from threadline.wire.events import EventIn

BODY = (
    b'{"id":"e%d","type":"assistant_message_copied","messageId":"m","entityType":"message",'
    b'"properties":{"source":"bench"},"userProperties":{"id":"u"}}'
)


def event(i: int) -> EventIn:
    return decode(BODY % i, EventIn)  # type: ignore[no-any-return]


async def through_writer(writer: Writer, n: int) -> float:
    jobs = [prepare_event(project_id="p", integration_id="i", body=event(i)) for i in range(n)]
    started = time.perf_counter()
    await asyncio.gather(*(writer.submit(job) for job in jobs))
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    database = open_database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    upgrade(database.writer)
    writer = Writer(database.writer, queue_size=args.events)
    writer.start()
    try:
        rate = asyncio.run(through_writer(writer, args.events))
        print(f"through the writer: {rate:,.0f} events/s in {writer.batches} commits")
    finally:
        writer.stop()
    bodies = [event(args.events + i) for i in range(args.events)]
    started = time.perf_counter()
    with database.writer.begin() as connection:
        for body in bodies:
            write = prepare_event(project_id="p", integration_id="i", body=body)
            insert_events(connection, [write])
    rate = args.events / (time.perf_counter() - started)
    print(f"one statement per event, one transaction: {rate:,.0f} events/s")
    database.dispose()


if __name__ == "__main__":
    main()
