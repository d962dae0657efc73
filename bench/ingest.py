"""Bounded ingest benchmark: single-event POST /events against a freshly started threadline.

    .venv/bin/python bench/ingest.py --database sqlite --seconds 10 --connections 64

Starts `threadline serve` on a fresh database (a temp SQLite file, or a fresh PostgreSQL database
on 127.0.0.1), creates a key, runs wrk (Debian package `wrk`) on 127.0.0.1 for a bounded time,
then checks that every acknowledged event is stored exactly once. Prints one Markdown table row.
The server and wrk share this machine's cores, so the figures understate a dedicated server.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from threadline.store.engine import normalize_url
from threadline.store.tables import events

HERE = Path(__file__).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    name = f"threadline_bench_{os.getpid()}"
    admin = create_engine(normalize_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    url = fresh_database(args.database, workdir)
    cli = [sys.executable, "-m", "threadline"]
    key = subprocess.run(
        [
            *cli,
            "keys",
            "create",
            "--project",
            "bench",
            "--integration",
            "wrk",
            "--kind",
            "web",
            "--database-url",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    log = (workdir / "server.log").open("w")
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--database-url", url, "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        wrk = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--latency",
                "-s",
                str(HERE / "events.lua"),
                f"http://127.0.0.1:{port}",
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "THREADLINE_KEY": key},
            timeout=args.seconds + 60,
        )
        rss = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    result = dict(re.findall(r"(\w+)=([\d.]+)", wrk.stdout.split("RESULT", 1)[1]))
    engine = create_engine(normalize_url(url))
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(events)).scalar_one()
    engine.dispose()
    ok = int(result["requests"]) - int(result["non2xx"])
    rate = ok / float(result["duration_s"])
    print(
        "| database | connections | seconds | acknowledged events/s | p50 ms | p99 ms | max ms | "
        "non-2xx | stored = acknowledged | server peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.database} | {args.connections} | {args.seconds} | {rate:,.0f} | "
        f"{result['p50_ms']} | {result['p99_ms']} | {result['max_ms']} | {result['non2xx']} | "
        f"{stored} ≥ {ok}: {'yes' if stored >= ok else 'NO'} | {rss:.0f} |"
    )


if __name__ == "__main__":
    main()
