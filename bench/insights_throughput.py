"""Insight pipeline throughput: label a backlog of demo conversations, report threads per second
and the labelling process's peak RSS.

    .venv/bin/python bench/insights_throughput.py                     # 2,000,000 demo events
    .venv/bin/python bench/insights_throughput.py --events 200000 --labeller constant
    .venv/bin/python bench/insights_throughput.py --events 1400000 --data D.db --load-only
    .venv/bin/python bench/insights_throughput.py --data D.db        # times a copy of D.db

With --data, the demo events are loaded into that file once (under load, if need be: --load-only
stops there) and each run labels a fresh copy of it, so the timed part can run on a quiet machine.

Loads `threadline demo` data into a fresh SQLite file, then runs the backlog exactly as
`threadline insights run` does (threadline.insights.run.run_backlog) in a child process, whose
wall time and peak RSS (ru_maxrss) are measured. --labeller picks the per-thread labeller:
`labels` (threadline.insights.labels, the real one) or `constant` (fixed labels: measures
segmentation, embedding, storage and clustering alone).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys
from threadline.insights.model import Labels
from threadline.insights.run import run_backlog

def constant(thread, vocabulary):
    return Labels(
        ("en",), "neutral", "neutral", "how_to", True, True, True, True, None, None, (), ()
    )

labeller = constant if sys.argv[2] == "constant" else None
done = run_backlog(sys.argv[1], project=None, since_us=None, progress=lambda *_: None,
                   labeller=labeller)
print(done.claimed, done.threads_labelled, done.failed)
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--labeller", choices=("labels", "constant"), default="labels")
    parser.add_argument("--data", type=Path, help="demo events kept in this SQLite file")
    parser.add_argument("--load-only", action="store_true", help="with --data: load, then stop")
    args = parser.parse_args()
    if args.data is not None and not args.data.exists():
        _load(args.events, f"sqlite:///{args.data}")
    if args.load_only:
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="threadline-insights-bench-", dir=_beside(args.data)))
    url = f"sqlite:///{workdir / 'bench.db'}"
    if args.data is not None:
        shutil.copyfile(args.data, workdir / "bench.db")
    else:
        _load(args.events, url)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, args.labeller],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    conversations, threads, failed = (int(x) for x in done.stdout.split())
    with sqlite3.connect(workdir / "bench.db") as db:
        stored = db.execute("SELECT count(*) FROM semantic_threads").fetchone()[0]
    print(
        f"| labeller | conversations | threads | failed | seconds | threads/s | peak RSS MB |\n"
        f"|---|---|---|---|---|---|---|\n"
        f"| {args.labeller} | {conversations:,} | {threads:,} (stored {stored:,}) | {failed} "
        f"| {seconds:.0f} | {threads / seconds:.0f} | {peak_mb:.0f} |"
    )
    print(f"cores: {os.cpu_count()}, load before: {os.getloadavg()[0]:.1f}")
    if args.data is not None:
        shutil.rmtree(workdir)
    return 0


def _beside(data: Path | None) -> Path | None:
    """Where the run's copy goes: beside --data (the same disk), else the temp directory."""
    return data.resolve().parent if data is not None else None


def _load(events: int, url: str) -> None:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "threadline",
            "demo",
            "--no-serve",
            "--events",
            str(events),
            "--database-url",
            url,
        ],
        check=True,
        capture_output=True,
    )
    print(f"loaded {events:,} demo events in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
