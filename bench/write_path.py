"""The event loop's CPU per POST /events in process, through the write endpoints' own ASGI path
(api.ingest) and through the Starlette stack it bypasses (issue 14); no sockets, so uvicorn's
share is left out and the difference is the layers alone.

    .venv/bin/python bench/write_path.py --requests 12800

Each mode gets a fresh SQLite file, a warm-up, then `--requests` POSTs, 64 at once; the figure is
the main thread's CPU time (the writer thread's is not counted) divided by the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from starlette.applications import Starlette

from threadline.app import ThreadlineApp, create_app
from threadline.auth import issue_key
from threadline.config import Settings

CONCURRENT = 64
_ids = itertools.count()


def _event() -> bytes:
    return (
        b'{"id":"b-%d","type":"assistant_message_copied","messageId":"msg-1",'
        b'"entityType":"message","properties":{"source":"bench","page":"/docs/start"},'
        b'"userProperties":{"id":"user-1","identificationType":"COOKIED"}}' % next(_ids)
    )


async def post(target: Any, headers: list[tuple[bytes, bytes]], path: str, body: bytes) -> None:
    """One POST through the ASGI app `target`, without a socket; it must answer 200."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("bench", 80),
        "client": ("127.0.0.1", 1),
        "headers": headers,
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await target(scope, receive, send)
    assert status == [200], status


async def _run(target: Any, headers: list[tuple[bytes, bytes]], total: int) -> None:
    async def client() -> None:
        for _ in range(total // CONCURRENT):
            await post(target, headers, "/events", _event())

    await asyncio.gather(*(client() for _ in range(CONCURRENT)))


def web_key_headers(services: Any) -> list[tuple[bytes, bytes]]:
    """The ASGI headers of a JSON write with a new web key of project "bench"."""
    with services.database.writer.begin() as connection:
        key = issue_key(connection, project="bench", integration="w", kind="web").secret
    return [
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {key}".encode()),
    ]


def measure(mode: str, requests: int, workdir: Path) -> float:
    """Main-thread CPU µs per request for `mode` ("front" or "starlette")."""
    app: ThreadlineApp = create_app(Settings(database_url=f"sqlite:///{workdir / mode}.db"))
    services = app.state.services
    services.start()
    try:
        headers = web_key_headers(services)

        async def starlette_only(scope: Any, receive: Any, send: Any) -> None:
            await Starlette.__call__(app, scope, receive, send)

        target = app if mode == "front" else starlette_only

        async def both() -> float:
            await _run(target, headers, CONCURRENT * 20)  # warm-up: caches, pools
            began = time.thread_time()
            await _run(target, headers, requests)
            return (time.thread_time() - began) / requests * 1e6

        return uvloop.run(both())
    finally:
        services.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=12800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for mode in ("starlette", "front"):
            cpu = measure(mode, args.requests, Path(directory))
            print(f"{mode}: {cpu:.0f} µs of main-thread CPU per POST /events")


if __name__ == "__main__":
    main()
