"""Single-event ingest with the insight worker labelling a backlog vs with it off, alternated.

    .venv/bin/python bench/ingest_insights.py                      # 6 rounds of 30 s on + 30 s off
    .venv/bin/python bench/ingest_insights.py --rounds 2 --seconds 5 --backlog-events 20000  # smoke

One SQLite database holds --backlog-events demo events (5 conversations per 100 events): the
worker's backlog. Each round runs one phase with THREADLINE_INSIGHTS=off and one with it on,
their order swapped every round (off-on, on-off, ...), so drift in the machine's load falls on
both sides alike. A phase starts `threadline serve` on that database, waits --settle seconds (the
worker's child process loads its model and starts labelling), runs wrk's single-event script
(bench/events.lua, as bench/run.py's events scenario) for --seconds, and stops the server. It
records events/s and p99, the server's CPU, the worker's CPU (the server's child processes), and
how many conversations the worker labelled in the phase, so an "on" phase is known to have had a
real backlog. The summary gives each round's on/off ratio, their median and spread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from run import Scenario, preload, run_wrk
from servers import Database, Server, create_key
from sqlalchemy import create_engine, text

TICKS = os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the processes whose parent is `pid` (the insight
    worker's spawned child and multiprocessing's helper)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # fields[1] is ppid (the state is fields[0])
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def queue_state(url: str) -> tuple[int, int]:
    """(conversations waiting in the insights queue, semantic threads stored)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            waiting = connection.execute(text("SELECT count(*) FROM insights_queue")).scalar()
            threads = connection.execute(text("SELECT count(*) FROM semantic_threads")).scalar()
    finally:
        engine.dispose()
    return int(waiting or 0), int(threads or 0)


def phase(
    url: str, key: str, mode: str, args: argparse.Namespace, workdir: Path, n: int
) -> dict[str, float]:
    scenario = Scenario(f"insights-{mode}", "events.lua", 1, args.connections)
    env = {"THREADLINE_INSIGHTS": mode}
    if args.cpu_share is not None:
        env["THREADLINE_INSIGHTS_CPU_SHARE"] = str(args.cpu_share)
    waiting_before, threads_before = queue_state(url)
    server = Server.threadline(url, workdir / f"phase-{n}-{mode}.log", env)
    try:
        time.sleep(args.settle)  # a fixed warm-up, not a wait for a condition
        worker_before = children_cpu(server.process.pid)
        result = run_wrk(server, scenario, args, key, name=f"phase-{n}-{mode}")
        worker = children_cpu(server.process.pid) - worker_before
    finally:
        server.stop()
    waiting_after, threads_after = queue_state(url)
    main, others = result.server_cpu
    return {
        "events_per_second": result.events_per_second,
        "p99_ms": result.wrk["p99_ms"],
        "server_cores": (main + others) / result.seconds,
        "worker_cores": worker / result.seconds,
        "waiting_before": waiting_before,
        "threads_labelled": threads_after - threads_before,
        "waiting_after": waiting_after,
        "load": os.getloadavg()[0],
    }


def summary(phases: list[tuple[int, str, dict[str, float]]]) -> None:
    print("\n| round | phase | events/s | p99 ms | server cores | worker cores | queue before "
          "| threads labelled | load avg |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|")  # fmt: skip
    for n, mode, p in phases:
        print(
            f"| {n} | {mode} | {p['events_per_second']:,.0f} | {p['p99_ms']:.1f} "
            f"| {p['server_cores']:.2f} | {p['worker_cores']:.2f} | {p['waiting_before']:,.0f} "
            f"| {p['threads_labelled']:,.0f} | {p['load']:.1f} |"
        )
    ratios = []
    for n in sorted({n for n, _, _ in phases}):
        by_mode = {mode: p for m, mode, p in phases if m == n}
        ratios.append(by_mode["on"]["events_per_second"] / by_mode["off"]["events_per_second"])
    on = [p["events_per_second"] for _, mode, p in phases if mode == "on"]
    off = [p["events_per_second"] for _, mode, p in phases if mode == "off"]
    worker = [p["worker_cores"] for _, mode, p in phases if mode == "on"]
    print(f"\nper round on/off: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(
        f"median on/off {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max "
        f"{max(ratios):.3f}); events/s on: median {statistics.median(on):,.0f} "
        f"({min(on):,.0f}-{max(on):,.0f}), off: median {statistics.median(off):,.0f} "
        f"({min(off):,.0f}-{max(off):,.0f}); worker cores while on: median "
        f"{statistics.median(worker):.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=30, help="wrk duration per phase")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before wrk starts")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--backlog-events", type=int, default=400_000)
    parser.add_argument("--cpu-share", type=float, help="THREADLINE_INSIGHTS_CPU_SHARE")
    parser.add_argument("--wrk-timeout", type=int, default=10)
    parser.add_argument("--database-url", help="a database preloaded before (reused as it is)")
    args = parser.parse_args()
    # run_wrk's options that this bench does not vary.
    args.no_status_count, args.profile = False, None
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="threadline-ingest-insights-"))
    database = None
    try:
        url = args.database_url
        if url is None:
            database = Database("sqlite", workdir, "ingest_insights")
            url = database.url
            started = time.perf_counter()
            preload(url, args.backlog_events)
            print(f"{args.backlog_events:,} demo events loaded in "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
        key = create_key(url)
        print(f"load average {os.getloadavg()[0]:.2f} before", file=sys.stderr)
        phases = []
        for n in range(1, args.rounds + 1):
            for mode in ("off", "on") if n % 2 else ("on", "off"):
                print(f"round {n}: insights {mode} for {args.seconds} s ...", file=sys.stderr)
                phases.append((n, mode, phase(url, key, mode, args, workdir, n)))
        summary(phases)
    finally:
        if database is not None:
            database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
