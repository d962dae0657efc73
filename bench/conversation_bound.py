"""Issue 18's bound: while one client hammers the largest allowed conversation, how long do
another project's single writes wait?

    .venv/bin/python bench/conversation_bound.py                      # SQLite and PostgreSQL, 20 s
    .venv/bin/python bench/conversation_bound.py --databases sqlite --seconds 10 --mode same

For each database: a fresh server on 127.0.0.1 (bench/servers.py) and two projects. Project
`hammer` first builds one conversation of --messages messages (default: the server's cap),
each message's content sized so the full-history post fills the body limit; then one client
re-posts that whole history back to back, each post answered with the whole history.
--mode edit (default) changes every message's content on every post, so each post rewrites
every row (the writer's worst case); --mode same re-posts it unchanged (the widget's common
case, recognised by digest); --mode tiny re-posts its first message only (issue 18's small
post answered with the whole history); --mode grow starts a new conversation of --messages
messages on each post (all inserts).
Meanwhile project `other` sends one small write at a time (alternately an event and a
two-message conversation), --interval-ms apart, and its latencies are reported: first for
--seconds with the hammer idle (the baseline), then for --seconds with it running.
Everything is bounded by --seconds; the hammer stops when the measuring ends.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
from servers import Database, Server

MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_MESSAGES = 500


def create_key(database_url: str, project: str) -> str:
    command = [sys.executable, "-m", "threadline", "keys", "create", "--project", project]
    command += ["--integration", "bench", "--kind", "web", "--database-url", database_url]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    return done.stdout.strip()


def _history(conversation_id: str, messages: int, content_bytes: int, variant: int) -> bytes:
    filler = ("abcdefghij" * (content_bytes // 10 + 1))[:content_bytes]
    return msgspec.json.encode(
        {
            "id": conversation_id,
            "type": "openai",
            "messages": [
                {
                    "id": f"{conversation_id}-m{i}",
                    "role": "user" if i % 2 == 0 else "assistant",
                    "content": f"{variant} {filler}",
                }
                for i in range(messages)
            ],
        }
    )


def _content_bytes(messages: int) -> int:
    """The largest content per message that keeps a full-history post within the body limit."""
    overhead = len(_history("conv_hammer_0", messages, 0, 0))
    return max(0, (MAX_BODY_BYTES - overhead) // messages - 8)


def _post(
    connection: http.client.HTTPConnection, path: str, body: bytes, key: str
) -> tuple[int, int]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request("POST", path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    return answer.status, len(data)


def _hammer(port: int, key: str, args: argparse.Namespace, stop_at: float, out: Any) -> None:
    """One client, one connection, one post after another until stop_at."""
    size = _content_bytes(args.messages)
    bodies = [_history("conv_hammer", args.messages, size, v) for v in (0, 1)]
    # The 60-byte re-post: one message of the conversation, answered with all of them.
    tiny = _history("conv_hammer", 1, size, 0)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    answer_bytes = 0
    posts = 0
    while time.monotonic() < stop_at:
        if args.mode == "grow":
            body = _history(f"conv_hammer_{posts}", args.messages, size, 0)
        elif args.mode == "tiny":
            body = tiny
        else:
            body = bodies[posts % 2 if args.mode == "edit" else 0]
        started = time.perf_counter()
        status, answer_bytes = _post(connection, "/conversations", body, key)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        posts += 1
    out.put(
        {
            "latencies": latencies,
            "statuses": statuses,
            "body_bytes": len(tiny if args.mode == "tiny" else bodies[0]),
            "answer_bytes": answer_bytes,
        }
    )


def _other_writes(port: int, key: str, seconds: float, interval: float) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    event = msgspec.json.encode({"type": "page_viewed", "entityType": "search", "searchQuery": "q"})
    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + seconds
    n = 0
    while time.monotonic() < stop_at:
        if n % 2:
            conversation = {
                "type": "openai",
                "messages": [
                    {"role": "user", "content": f"question {n}"},
                    {"role": "assistant", "content": "answer"},
                ],
            }
            path, body = "/conversations", msgspec.json.encode(conversation)
        else:
            path, body = "/events", event
        started = time.perf_counter()
        status, _ = _post(connection, path, body, key)
        latencies.append(time.perf_counter() - started)
        failures += status != 200
        n += 1
        time.sleep(interval)
    return {"latencies": latencies, "failures": failures}


def _percentiles(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return "n/a"
    ms = sorted(x * 1000 for x in latencies)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
    return f"{len(ms)} | {statistics.median(ms):.1f} | {p99:.1f} | {ms[-1]:.1f}"


def run(kind: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    database = Database(kind, workdir, f"threadline_bound_{os.getpid()}")
    try:
        hammer_key = create_key(database.url, "hammer")
        other_key = create_key(database.url, "other")
        env = {
            "THREADLINE_MAX_MESSAGES_PER_CONVERSATION": str(max(args.messages, DEFAULT_MESSAGES))
        }
        env["THREADLINE_MAX_MESSAGES_PER_POST"] = env["THREADLINE_MAX_MESSAGES_PER_CONVERSATION"]
        env.update(item.split("=", 1) for item in args.env)
        server = Server.threadline(database.url, workdir / f"{kind}.log", env)
        try:
            return _measure(kind, server, hammer_key, other_key, args)
        finally:
            server.stop()
    finally:
        database.drop()


def _measure(
    kind: str, server: Server, hammer_key: str, other_key: str, args: argparse.Namespace
) -> list[str]:
    interval = args.interval_ms / 1000
    idle = _other_writes(server.port, other_key, args.seconds, interval)
    # Build the conversation once (its first post is the largest insert), then hammer it.
    size = _content_bytes(args.messages)
    first = _history("conv_hammer", args.messages, size, 0)
    setup = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    status, _ = _post(setup, "/conversations", first, hammer_key)
    if status != 200:
        raise RuntimeError(f"building the conversation answered {status}")
    results: multiprocessing.Queue[Any] = multiprocessing.Queue()
    stop_at = time.monotonic() + args.seconds
    hammer = multiprocessing.Process(
        target=_hammer, args=(server.port, hammer_key, args, stop_at, results)
    )
    hammer.start()
    busy = _other_writes(server.port, other_key, args.seconds, interval)
    hammered = results.get(timeout=args.seconds + 120)
    hammer.join(timeout=30)
    rss = server.peak_rss_mb()
    label = f"{kind}, {args.messages} messages x {size:,} B, --mode {args.mode}"
    return [
        f"| {label} | idle | {_percentiles(idle['latencies'])} | {idle['failures']} | - | - |",
        f"| {label} | hammered | {_percentiles(busy['latencies'])} | {busy['failures']} "
        f"| {len(hammered['latencies'])} posts of {hammered['body_bytes'] / 1e6:.2f} MB, "
        f"answers {hammered['answer_bytes'] / 1e6:.2f} MB, median "
        f"{statistics.median(hammered['latencies']) * 1000:.0f} ms, statuses "
        f"{hammered['statuses']} | {rss:,.0f} |",
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase (idle, hammered)")
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--mode", choices=("edit", "same", "tiny", "grow"), default="edit")
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="more server settings"
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= 300 or not 0 < args.messages <= 100_000:
        parser.error("--seconds must be in (0, 300] and --messages in (0, 100000]")
    return args


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bound-"))
    print(
        "| database, conversation | hammer | other writes | p50 ms | p99 ms | max ms "
        "| failed | hammer posts | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|")
    try:
        for kind in args.databases.split(","):
            print(f"running {kind} ...", file=sys.stderr, flush=True)
            for line in run(kind, args, workdir):
                print(line, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
