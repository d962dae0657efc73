"""How long a SQLite writer waits while `threadline backup` copies the database: the online
backup API against VACUUM INTO, alternating, in one run (docs/operations.md).

    .venv/bin/python bench/backup_blocking.py --events 400000 --rounds 2

Builds a threadline database of --events events (bulk inserts, ~0.5 KB each), then, for each
round and method, runs one writer thread that commits single-event transactions as fast as it
can (WAL, synchronous=FULL, as serve's writer) while the backup runs, and prints the writer's
commit latency (p50, p99, max) during the backup beside a baseline without one, the backup's
duration and size. Numbers are noisy on a shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadline.maintenance.backup import SqliteMethod, backup
from threadline.store.engine import open_database
from threadline.store.migrate import upgrade

PROPS = '{"plan":"team","locale":"en-GB","page":"/docs/getting-started/installation"}'


def build(path: Path, count: int) -> None:
    database = open_database(f"sqlite:///{path}")
    upgrade(database.writer)
    database.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    rows = (
        (
            "proj",
            f"e{i}",
            "message",
            "message:copied",
            f"m{i}",
            f"c{i // 10}",
            PROPS,
            f'{{"userId":"u{i % 5000}"}}',
            1_700_000_000_000_000 + i,
        )
        for i in range(count)
    )
    connection.executemany(
        "INSERT INTO events (project_id, id, entity_type, type, message_id, conversation_id, "
        "properties, user_properties, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


class Writer(threading.Thread):
    def __init__(self, path: Path, prefix: str) -> None:
        super().__init__(daemon=True)
        self.path, self.prefix = path, prefix
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        n = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT INTO events (project_id, id, entity_type, type, created_at) "
                "VALUES ('proj', ?, 'message', 'bench', 1)",
                (f"{self.prefix}-{n}",),
            )
            connection.execute("COMMIT")
            self.latencies.append(time.perf_counter() - started)
            n += 1
        connection.close()


def measure(path: Path, label: str, action: object) -> str:
    writer = Writer(path, f"{label}-{time.monotonic_ns()}")
    writer.start()
    time.sleep(0.3)  # the writer warms up before the measured window
    writer.latencies.clear()
    started = time.perf_counter()
    extra = action()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    writer.stop.set()
    writer.join()
    ms = sorted(x * 1000 for x in writer.latencies)
    p99 = ms[int(len(ms) * 0.99) - 1] if ms else float("nan")
    return (
        f"| {label} | {seconds:.2f} s | {len(ms):,} | {statistics.median(ms):.1f} | "
        f"{p99:.1f} | {ms[-1]:.1f} | {extra} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadline-backup-bench-") as work:
        path = Path(work) / "source.db"
        build(path, args.events)
        print(
            f"database: {path.stat().st_size / 1e6:.0f} MB, {args.events:,} events; "
            f"load: {os.getloadavg()[0]:.2f}"
        )
        print("| during | took | writes | p50 ms | p99 ms | max ms | backup |")
        print("|---|---|---|---|---|---|---|")
        for round_ in range(args.rounds):
            methods: list[SqliteMethod] = ["backup-api", "vacuum-into"]
            if round_ % 2:
                methods.reverse()
            print(measure(path, "nothing (baseline, 2 s)", lambda: time.sleep(2.0) or ""))
            for method in methods:
                target = Path(work) / f"{method}-{round_}.db"

                def run(method: SqliteMethod = method, target: Path = target) -> str:
                    result = backup(f"sqlite:///{path}", target, sqlite_method=method)
                    return f"{result.bytes / 1e6:.0f} MB"

                print(measure(path, method, run))
                target.unlink()
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
