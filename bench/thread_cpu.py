"""Each thread's CPU per event in `threadline serve` under wrk, by thread name (issue 14, session 5:
why the writer thread costs about twice in the server what it costs alone).

    .venv/bin/python bench/thread_cpu.py --variants default,nocopy,switch=0.001 --scenario batch

Each variant is a fresh SQLite server (bench/threads_named.py names its threads), one wrk run of
bench/run.py's scenario, and the CPU each thread spent during it, read from /proc: the event loop
(the main thread), threadline-writer, threadline-columnar (with DuckDB's threads, which inherit
its name), the rest. Variants: default; nocopy (THREADLINE_ANALYTICS=off); switch=S
(sys.setswitchinterval(S), CPython's default 0.005); sync=S (the copy syncs at most every S
seconds, THREADLINE_ANALYTICS_SYNC_SECONDS, default 0.25); several at once joined by "+".
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import run
from servers import HERE, Database, Server, create_key, free_port

_TICK = os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of `pid`, summed by name (the main thread: "loop")."""
    cpu: dict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        name = "loop" if task.name == str(pid) else name
        cpu[name] += (int(fields[11]) + int(fields[12])) / _TICK
    return cpu


def environment(variant: str) -> dict[str, str]:
    env = {"THREADLINE_INSIGHTS": "off"}
    for part in variant.split("+"):
        if part == "nocopy":
            env["THREADLINE_ANALYTICS"] = "off"
        elif part.startswith("switch="):
            env["BENCH_SWITCH_INTERVAL"] = part.removeprefix("switch=")
        elif part.startswith("sync="):
            env["THREADLINE_ANALYTICS_SYNC_SECONDS"] = part.removeprefix("sync=")
        elif part != "default":
            raise SystemExit(f"unknown variant part {part!r}")
    return env


def measure(variant: str, scenario: run.Scenario, args: argparse.Namespace, workdir: Path) -> str:
    database = Database("sqlite", workdir, f"threads_{len(list(workdir.iterdir()))}")
    key = create_key(database.url)
    port = free_port()
    command = [sys.executable, str(HERE / "threads_named.py"), "-m", "threadline", "serve"]
    command += ["--port", str(port), "--database-url", database.url, "--log-level", "warning"]
    server = Server(command, port, workdir / f"{variant}.log", environment(variant))
    try:
        before = threads(server.process.pid)
        result = run.run_wrk(server, scenario, args, key, name=variant)
        after = threads(server.process.pid)
    finally:
        server.stop()
    events = result.acknowledged
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    named = ("loop", "threadline-writ", "threadline-colu")
    cells = [spent.get(name, 0.0) for name in named]
    cells.append(sum(seconds for name, seconds in spent.items() if name not in named))
    per_event = " | ".join(f"{seconds * 1e6 / max(events, 1):.1f}" for seconds in cells)
    return f"| {variant} | {result.events_per_second:,.0f} | {per_event} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", default="default,nocopy")
    parser.add_argument("--scenario", choices=["batch", "events"], default="batch")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    # What run.run_wrk reads of bench/run.py's arguments.
    args.profile, args.no_status_count, args.wrk_timeout = None, False, 10
    size = args.batch_size if args.scenario == "batch" else 1
    scenario = run.Scenario(
        args.scenario, "batch.lua" if size > 1 else "events.lua", size, args.connections
    )
    print(f"load average {os.getloadavg()[0]:.1f} before; {args.scenario}, {args.seconds} s each")
    print("| variant | events/s | CPU µs/event: loop | writer | copy (+DuckDB) | other |")
    print("|---|--:|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory(prefix="thread-cpu-") as tmp:
        for variant in args.variants.split(","):
            print(measure(variant, scenario, args, Path(tmp)), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
