"""Where a dashboard page's time goes: every SQL statement it runs, timed, by page.

    .venv/bin/python bench/dashboard_profile.py --database-url sqlite:///<db> \\
        --analytics-path <copy.duckdb> --project bench --to 2026-11-23

Runs the app in process (Starlette's TestClient), signs in through the form, opens each page of
bench/dashboard.py twice (the second is timed) and prints, per page, its time and the statements
that took the most of it, with which store answered (columnar copy or primary).

With --runs N it instead opens each page N more times and prints its median wall time and its
CPU time per page (time.process_time of the whole process: the request's Python, the copy's
DuckDB threads and SQLite; the copy's sync thread is idle): a figure that two runs in the same
minute can compare on a busy machine, where wall times cannot be compared.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from typing import Any

from dashboard import CSRF, TRANSCRIPT, create_api_key, page_paths
from sqlalchemy import event
from starlette.testclient import TestClient

from threadline.app import create_app
from threadline.config import Settings

Timed = list[tuple[float, str, str]]  # (ms, store, statement head)


def _listen(engine: Any, store: str, timed: Timed) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def started(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info.setdefault("started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def finished(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not conn.info.get("started"):  # began before we listened
            return
        elapsed = (time.perf_counter() - conn.info["started"].pop()) * 1000
        head = re.sub(r"\s+", " ", statement)[:150]
        timed.append((elapsed, store, head))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--analytics-path", required=True)
    parser.add_argument("--project", default="bench")
    parser.add_argument("--to", required=True)
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument("--runs", type=int, default=0, help="time each page N times (CPU)")
    parser.add_argument("--pages", default="", help="only the pages whose name contains this")
    args = parser.parse_args()
    key = create_api_key(args.database_url, args.project)
    settings = Settings(database_url=args.database_url, analytics_path=args.analytics_path)
    with TestClient(create_app(settings)) as client:
        ctx = client.app.state.services  # type: ignore[attr-defined]
        assert ctx.columnar.wait_until(time.monotonic(), timeout=3600)
        timed: Timed = []
        _listen(ctx.columnar.engine, "columnar", timed)
        _listen(ctx.database.reader, "primary", timed)
        form = client.get("/dashboard/sign-in").text
        csrf = CSRF.search(form)
        assert csrf
        client.post("/dashboard/sign-in", data={"key": key, "csrf": csrf.group(1), "tz": "UTC"})
        pages = {name: path for name, path in page_paths(args.to).items() if args.pages in name}
        transcript = TRANSCRIPT.search(client.get(page_paths(args.to)["conversations"]).text)
        if transcript and args.pages in "transcript":
            pages["transcript"] = transcript.group(1)
        if args.runs:
            _cpu_per_page(client, pages, args.runs)
            return 0
        for name, path in pages.items():
            client.get(path)
            timed.clear()
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            total = (time.perf_counter() - started) * 1000
            sql = sum(ms for ms, _, _ in timed)
            print(f"\n{name}: {total:,.0f} ms, {len(timed)} statements, {sql:,.0f} ms in SQL")
            for ms, store, head in sorted(timed, reverse=True)[: args.top]:
                print(f"  {ms:7,.0f} ms  {store:8}  {head}")
    return 0


def _cpu_per_page(client: TestClient, pages: dict[str, str], runs: int) -> None:
    print(f"load average {os.getloadavg()[0]:.2f} before; {runs} runs after a warm-up\n")
    print("| page | median ms | CPU ms per page |\n|---|--:|--:|")
    for name, path in pages.items():
        assert client.get(path).status_code == 200
        walls = []
        cpu = time.process_time()
        for _ in range(runs):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            walls.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
        median = statistics.median(walls) * 1000
        print(f"| {name} | {median:,.0f} | {cpu * 1000 / runs:,.1f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    sys.exit(main())
