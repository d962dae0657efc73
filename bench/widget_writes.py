"""The widget's writes in process: CPU per POST /feedback and per POST /conversations (a growing
history, as bench/conversations.lua posts it), and per single POST /events beside them, event
loop and the other threads apart (issue 14).

    .venv/bin/python bench/widget_writes.py [--requests 3200] [--database-url URL]
        [--scenarios events,feedback,conversations]

Each scenario gets a fresh database (a temp SQLite file, or a PostgreSQL database created on the
given server and dropped after) and the whole served application (the write front, the writer,
the columnar copy's sync), called as ASGI without sockets, 64 requests at once after a warm-up.
The figures are the main thread's CPU per write and the rest of the process's (writer, copy,
DuckDB); PostgreSQL's own backend CPU is not in them. No HTTP server, so uvicorn's share is left
out: compare before and after on the same machine, in the same minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from write_path import post, web_key_headers

from threadline.app import ThreadlineApp, create_app
from threadline.config import Settings

CONCURRENT = 64
# Posts per conversation, two messages longer each time (bench/conversations.lua).
POSTS = 5


def feedback_body(n: int) -> tuple[str, bytes]:
    kind = "negative" if n % 3 == 0 else "positive"
    return "/feedback", (
        b'{"id":"f-%d","type":"%s","messageId":"msg-%d",'
        b'"reasons":[{"label":"Inaccurate","details":"bench"}],"details":"from the bench",'
        b'"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}'
        % (n, kind.encode(), n % 5000, n % 20000)
    )


def conversation_body(n: int) -> tuple[str, bytes]:
    chat = b"c-%d" % (n // POSTS)
    messages = []
    for turn in range(n % POSTS + 1):
        messages.append(
            b'{"id":"%s-u%d","role":"user","content":"How do I configure the widget, step %d?"}'
            % (chat, turn, turn)
        )
        messages.append(
            b'{"id":"%s-a%d","role":"assistant","content":"Set the apiKey and the integration '
            b'in the settings, then reload the page (step %d)."}' % (chat, turn, turn)
        )
    return "/conversations", (
        b'{"id":"%s","type":"openai","messages":[%s],'
        b'"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}'
        % (chat, b",".join(messages), (n // POSTS) % 20000)
    )


def event_body(n: int) -> tuple[str, bytes]:
    return "/events", (
        b'{"id":"e-%d","type":"assistant_message_copied","messageId":"msg-%d",'
        b'"entityType":"message","properties":{"source":"bench"},'
        b'"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}'
        % (n, n % 5000, n % 20000)
    )


SCENARIOS: dict[str, Callable[[int], tuple[str, bytes]]] = {
    "events": event_body,
    "feedback": feedback_body,
    "conversations": conversation_body,
}


async def _run(app: Any, headers: list[tuple[bytes, bytes]], bodies: Iterator[Any], n: int) -> None:
    # Each client posts its own conversations in order, as a widget does: a post follows the
    # answer to the one before.
    async def client(mine: list[tuple[str, bytes]]) -> None:
        for path, body in mine:
            await post(app, headers, path, body)

    work = [next(bodies) for _ in range(n)]
    per_client: list[list[tuple[str, bytes]]] = [[] for _ in range(CONCURRENT)]
    for i, item in enumerate(work):
        per_client[(i // POSTS) % CONCURRENT].append(item)
    await asyncio.gather(*(client(mine) for mine in per_client))


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each of this process's threads so far, by thread name."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            name = names.get(int(task.name), "other")
            used = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
            seconds[name] = seconds.get(name, 0.0) + used
    return seconds


def measure(url: str, copy: Path, scenario: str, requests: int) -> tuple[float, float]:
    """(main-thread CPU µs per write, the other threads' CPU µs per write); each thread's
    share printed."""
    app: ThreadlineApp = create_app(Settings(database_url=url, analytics_path=str(copy)))
    services = app.state.services
    services.start()
    try:
        headers = web_key_headers(services)
        bodies = map(SCENARIOS[scenario], itertools.count())

        async def both() -> tuple[float, float]:
            await _run(app, headers, bodies, CONCURRENT * POSTS * 2)  # warm-up
            began_main, began_all = time.thread_time(), time.process_time()
            began_threads = thread_cpu()
            await _run(app, headers, bodies, requests)
            main = time.thread_time() - began_main
            everything = time.process_time() - began_all
            threads = thread_cpu()
            shares = {
                name: (used - began_threads.get(name, 0.0)) / requests * 1e6
                for name, used in threads.items()
            }
            print(
                f"  {scenario}, µs per write by thread (clock ticks, coarse): "
                + ", ".join(f"{name} {cpu:.0f}" for name, cpu in sorted(shares.items()))
            )
            return main / requests * 1e6, (everything - main) / requests * 1e6

        return uvloop.run(both())
    finally:
        services.stop()


@contextlib.contextmanager
def fresh_database(server: str | None, workdir: Path, name: str) -> Iterator[str]:
    if server is None:
        yield f"sqlite:///{workdir / name}.db"
        return
    database = f"bench_widget_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(server).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3200)
    parser.add_argument("--database-url", help="a PostgreSQL server; a temp SQLite file if not")
    parser.add_argument("--scenarios", default="feedback,conversations")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for scenario in args.scenarios.split(","):
            with fresh_database(args.database_url, Path(directory), scenario) as url:
                copy = Path(directory) / f"{scenario}.duckdb"
                loop, other = measure(url, copy, scenario, args.requests)
            print(f"{scenario}: {loop:.0f} + {other:.0f} µs CPU per write (loop + other threads)")


if __name__ == "__main__":
    main()
