"""Issue 18's reproduction: one heavy analytic query (200 jsonContains conditions, ~19 KB) over
~215,000 events, alone and three at once, timed end to end with the server's peak RSS.

    .venv/bin/python bench/query_limits.py                         # SQLite, both read paths
    .venv/bin/python bench/query_limits.py --source /tmp/before    # another checkout's server
    .venv/bin/python bench/query_limits.py --databases sqlite,postgresql --events 215000

It loads bench/dataset.py's demo data once per database (threadline/store/bulk.py), then per read
path (THREADLINE_ANALYTICS off / columnar) starts a fresh `threadline serve` with the threadline
of --source (default: this checkout) on PYTHONPATH and the settings of --env, waits for its
columnar copy, sends the query once, then three at once, and prints one Markdown row per run:
statuses (0: no answer within 600 s), seconds per request, and the server's peak RSS
(VmHWM) after it. With a checkout from
before issue 18 (`git archive <commit> | tar -x -C /tmp/before`) the same command measures the
unbounded server; unknown THREADLINE_* settings are ignored there.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import msgspec
import servers
from dataset import bench_shape, generate, load
from servers import Server

from threadline.store.engine import open_database

HERE = Path(__file__).resolve().parent
CONDITIONS = 200
CLIENT_TIMEOUT = 600  # seconds; a request unanswered by then shows as status 0


def heavy_query() -> bytes:
    """200 property conditions, any of which may match (a filter over many pages); none does."""
    conditions = [
        {
            "condition": {
                "field": "properties",
                "operator": "jsonContains",
                "value": {"page": f"/docs/none/{n}", "theme": "dark"},
            }
        }
        for n in range(CONDITIONS)
    ]
    body = {
        "select": [{"type": "aggregation", "aggregation": "count"}],
        "where": {"or": conditions},
    }
    return msgspec.json.encode(body)


def _post(url: str, key: str, body: bytes) -> tuple[int, float, str]:
    request = urllib.request.Request(
        f"{url}/query/events",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    except TimeoutError:  # an unbounded server may take many minutes
        status, text = 0, f"no answer within {CLIENT_TIMEOUT} s"
    return status, time.perf_counter() - started, text


def _wait_columnar(server: Server) -> None:
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        ready = msgspec.json.decode(server.get("/ready") or b"{}")
        if ready.get("analytics", {}).get("columnarReady"):
            return
        time.sleep(0.2)
    raise RuntimeError("the server's columnar copy was not ready within an hour")


def _runs(server: Server, key: str, body: bytes) -> list[tuple[str, list[tuple[int, float]]]]:
    alone = _post(server.url, key, body)
    rows = [("1 alone", [alone[:2]], server.peak_rss_mb())]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda _: _post(server.url, key, body), range(3)))
    rows.append(("3 at once", [t[:2] for t in together], server.peak_rss_mb()))
    return [
        (f"{label} | {_describe(results)} | {rss:.0f}", results) for label, results, rss in rows
    ]


def _describe(results: list[tuple[int, float]]) -> str:
    statuses = ", ".join(str(status) for status, _ in results)
    seconds = ", ".join(f"{s:.2f}" for _, s in results)
    return f"{statuses} | {seconds}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=215_000)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--read-paths", default="off,columnar")
    parser.add_argument("--source", default=str(HERE.parent), help="threadline checkout to serve")
    parser.add_argument("--env", action="append", default=[], help="THREADLINE_X=value")
    args = parser.parse_args()
    body = heavy_query()
    env = {"PYTHONPATH": args.source, **dict(item.split("=", 1) for item in args.env)}
    print(f"Query: {CONDITIONS} jsonContains conditions, {len(body) / 1024:.1f} KB; ", end="")
    print(f"server: {args.source}; settings: {args.env or 'defaults'}\n")
    print("| database | read path | run | statuses | seconds | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    dataset = generate(bench_shape(args.events))
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as workdir:
        for kind in args.databases.split(","):
            database = servers.Database(kind, Path(workdir), "threadline_bench_limits")
            engines = open_database(database.url)
            key = load(engines, dataset).api_key
            engines.dispose()
            for path in args.read_paths.split(","):
                log = Path(workdir) / f"{kind}-{path}.log"
                server = Server.threadline(database.url, log, {**env, "THREADLINE_ANALYTICS": path})
                try:
                    if path == "columnar":
                        _wait_columnar(server)
                    for row, _ in _runs(server, key, body):
                        print(f"| {kind} | {path} | {row} |", flush=True)
                finally:
                    server.stop()
            database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
