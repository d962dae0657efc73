"""Measure bench/multiprocess.py's prototype beside `threadline serve` (issue 14, session 5).

    .venv/bin/python bench/multiprocess_run.py --modes threadline,one,split,split,one,threadline

Each mode gets a fresh SQLite file (migrated, with a web key, by the real CLI) and one wrk run of
bench/events.lua (as bench/run.py's events scenario); then every acknowledged event must be
stored once. CPU is read from /proc for every process of the mode (the writer process and its
HTTP processes for split), per acknowledged event: the figure to compare on a busy machine.
Modes: threadline (`threadline serve`, the columnar copy on), threadline-nocopy (the same with
THREADLINE_ANALYTICS=off, which the prototype does not have), one, split (--http-processes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import run
from servers import HERE, Database, Server, create_key, free_port

MODES = ("threadline", "threadline-nocopy", "one", "split")


def _cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of `pid` itself, and of it with its live descendants."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0, 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own, own + sum(_cpu(int(child))[1] for child in children)


def start(mode: str, database: Database, workdir: Path, http_processes: int) -> Server:
    log = workdir / f"{mode}.log"
    env = {"THREADLINE_INSIGHTS": "off"}
    if mode.startswith("threadline"):
        if mode == "threadline-nocopy":
            env["THREADLINE_ANALYTICS"] = "off"
        return Server.threadline(database.url, log, env=env)
    port = free_port()
    path = database.url.removeprefix("sqlite:///")
    command = [sys.executable, str(HERE / "multiprocess.py"), f"serve-{mode}"]
    command += ["--database", path, "--port", str(port)]
    command += ["--http-processes", str(http_processes)]
    return Server(command, port, log)


def measure(mode: str, args: argparse.Namespace, workdir: Path, number: int) -> str:
    scenario = run.Scenario("events", "events.lua", 1, args.connections)
    database = Database("sqlite", workdir, f"{mode.replace('-', '_')}_{number}")
    key = create_key(database.url)
    server = start(mode, database, workdir, args.http_processes)
    try:
        before = _cpu(server.process.pid)
        result = run.run_wrk(server, scenario, args, key, name=mode)
        after = _cpu(server.process.pid)
        own, cpu = after[0] - before[0], after[1] - before[1]
    finally:
        server.stop()
    result.server = mode
    stored, distinct = database.count_events()
    ack = result.acknowledged
    w = result.wrk
    intact = "yes" if stored >= ack and stored == distinct else "**NO**"
    return (
        f"| {mode} | {w['requests'] / result.seconds:,.0f} | {w.get('p50_ms', 0):.1f} | "
        f"{w.get('p99_ms', 0):.1f} | {stored:,} ≥ {ack:,}: {intact} | "
        f"{cpu / result.seconds:.2f} + {result.wrk_cpu:.2f} | {cpu * 1e6 / max(ack, 1):,.0f} | "
        f"{(cpu - own) * 1e6 / max(ack, 1):,.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modes", default="threadline,one,split")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--http-processes", type=int, default=2)
    args = parser.parse_args()
    # What run.run_wrk reads of bench/run.py's arguments.
    args.profile, args.no_status_count, args.wrk_timeout = None, False, 10
    modes = [mode.strip() for mode in args.modes.split(",")]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"load average {load} before; {args.seconds} s each; wrk 1 thread, {args.connections}")
    print(
        "| mode | requests/s | p50 ms | p99 ms | stored ≥ acknowledged | CPU cores server + wrk "
        "| server CPU µs/event | of which HTTP processes (split) |"
    )
    print("|---|--:|--:|--:|---|---|--:|--:|")
    with tempfile.TemporaryDirectory(prefix="multiprocess-") as tmp:
        for number, mode in enumerate(modes):
            print(measure(mode, args, Path(tmp), number), flush=True)
    with open("/proc/loadavg") as f:
        print(f"load average {f.read().split()[0]} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
