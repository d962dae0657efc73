"""What threadline.observe adds to each request on the event loop (issue 16): threadline's
request middleware with its observer (timing, route template, the request's counts; request
logging off, its default) around a do-nothing ASGI app, against the same middleware without an
observer (as before issue 16), alternating in one process.

    .venv/bin/python bench/observe_overhead.py --requests 100000 --rounds 5

Compare the added µs with the server's event-loop CPU per event in bench/run.py's table: the
throughput of a whole run on a shared machine is too noisy to show a few per cent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from starlette.routing import Route

from threadline.middleware import RequestContextMiddleware
from threadline.observe.metrics import Metrics
from threadline.observe.requests import RequestObserver

ROUTE = Route("/conversations/{id}", lambda request: None)


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    # What routing leaves in the scope, then a minimal answer.
    scope["route"] = ROUTE
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(_message: dict[str, Any]) -> None:
    return None


async def run(app: Any, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        scope = {"type": "http", "method": "GET", "path": "/conversations/x", "root_path": ""}
        await app(scope, _receive, _send)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    before = RequestContextMiddleware(bare)
    observed = RequestContextMiddleware(bare, RequestObserver(Metrics(), log_requests=False))
    added = []
    for _ in range(args.rounds):
        plain = asyncio.run(run(before, args.requests))
        with_metrics = asyncio.run(run(observed, args.requests))
        added.append(with_metrics - plain)
        print(f"without {plain:.2f} µs, observed {with_metrics:.2f} µs: +{added[-1]:.2f} µs")
    print(
        f"added per request: median {statistics.median(added):.2f} µs "
        f"(min {min(added):.2f}, max {max(added):.2f}); load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
