"""Bounded ingest load test: threadline on SQLite and PostgreSQL beside a bare-ASGI ceiling.

    .venv/bin/python bench/run.py                       # everything, 10 s per scenario
    .venv/bin/python bench/run.py --seconds 3 --databases sqlite --scenarios ceiling,events

Every scenario gets a freshly started server on 127.0.0.1 (and a fresh database: a temp SQLite
file, or a PostgreSQL database created on postgresql://postgres@127.0.0.1:5432 and dropped after),
a web key made with the real CLI, and one wrk run (Debian package `wrk`, 1 thread: wrk and the
server share the machine's cores). It then reads the server's peak RSS (VmHWM), stops it with
SIGTERM, checks that every acknowledged event is stored once, and prints one Markdown table.

Scenarios: ceiling (bench/ceiling.py with each script below), events (one event per POST /events),
feedback (one POST /feedback each), conversations (POST /conversations, each posted five times
with its history growing; its rows are conversations, at least one per five acknowledged posts),
batch (POST /batch with --batch-size events), overload (POST /events at --overload-connections);
events-redact is events with the project redacting every kind at ingest, search and
search-redact the same pair with a search query holding an email address and a phone number
(issue 16: `--scenarios events,events-redact,events,events-redact` alternates them).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import servers
from servers import HERE, Database, Server, create_key
from sqlalchemy.exc import SQLAlchemyError

_RUNS = itertools.count(1)
SCENARIOS = (
    "ceiling",
    "events",
    "events-backlog",
    "events-insights",
    "batch",
    "overload",
    "events-redact",
    "search",
    "search-redact",
    "feedback",
    "conversations",
)
DATABASES = ("sqlite", "postgresql")


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    events_per_request: int
    connections: int
    # THREADLINE_* settings of the server, and demo events loaded before it starts (their
    # conversations give the insight worker a backlog to label during the run).
    env: tuple[tuple[str, str], ...] = (("THREADLINE_INSIGHTS", "off"),)
    preload_events: int = 0
    # `threadline projects set --redact` for the bench project before the server starts.
    redact: str = ""
    # The table whose rows are counted after the run, and how many acknowledged requests make
    # one row at least (conversations.lua posts each conversation several times, growing).
    table: str = "events"
    requests_per_row: int = 1


@dataclasses.dataclass
class Result:
    server: str  # "ceiling", "sqlite" or "postgresql"
    scenario: Scenario
    wrk: dict[str, float] = dataclasses.field(default_factory=dict)
    peak_rss_mb: float = float("nan")
    server_cpu: tuple[float, float] = (float("nan"), float("nan"))  # CPU s: main, others
    wrk_cpu: float = float("nan")
    stored: int | None = None
    distinct: int | None = None
    writes_per_commit: float | None = None
    error: str | None = None

    @property
    def seconds(self) -> float:
        return self.wrk.get("duration_s", 0.0) or float("nan")

    @property
    def acknowledged(self) -> int:
        """Events in 2xx answers (the batch scenario assumes every item accepted; the stored
        row count checks that)."""
        if self.wrk.get("counted"):
            ok = self.wrk["status_2xx"]
        else:
            ok = self.wrk.get("requests", 0) - self.wrk.get("non2xx", 0)
        return int(ok) * self.scenario.events_per_request

    @property
    def events_per_second(self) -> float:
        return self.acknowledged / self.seconds

    @property
    def intact(self) -> bool:
        """Every acknowledged event stored, none twice (always true of the ceiling)."""
        if self.server == "ceiling" or self.error:
            return self.error is None
        at_least = self.acknowledged // self.scenario.requests_per_row
        return (self.stored or 0) >= at_least and self.stored == self.distinct


def start_profiler(server: Server, args: argparse.Namespace, name: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server for the length of the wrk run, into --profile/NAME.txt
    (collapsed stacks, one line per stack and thread: speedscope.app or flamegraph.pl read it)."""
    args.profile.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking"]
    command += ["--threads", "--gil", "--format", "raw", "--duration", str(args.seconds)]
    command += ["--pid", str(server.process.pid), "-o", str(args.profile / f"{name}.txt")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_wrk(
    server: Server, scenario: Scenario, args: argparse.Namespace, key: str, name: str
) -> Result:
    """One bounded wrk run against a server that is up; the server is left running."""
    env = {
        **os.environ,
        "THREADLINE_KEY": key,
        "BENCH_BATCH_SIZE": str(scenario.events_per_request),
        "BENCH_COUNT_STATUS": "0" if args.no_status_count else "1",
        "BENCH_RUN": str(int(time.time())),
    }
    command = ["wrk", "-t1", f"-c{scenario.connections}", f"-d{args.seconds}s"]
    command += [f"--timeout={args.wrk_timeout}s", "-s", str(HERE / scenario.script), server.url]
    profiler = start_profiler(server, args, name) if args.profile else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = server.cpu_seconds()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=args.seconds + 60, check=True
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # before py-spy is reaped
    finally:
        if profiler is not None:
            try:
                profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                profiler.kill()
                profiler.wait()
    match = re.search(r"^RESULT (.*)$", done.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no RESULT line from wrk: {done.stdout}{done.stderr}")
    result = Result(server="", scenario=scenario)
    result.wrk = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", match.group(1))}
    wrk_seconds = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    result.wrk_cpu = wrk_seconds / result.seconds
    main, others = server.cpu_seconds()
    result.server_cpu = (main - server_cpu[0], others - server_cpu[1])
    result.peak_rss_mb = server.peak_rss_mb()
    return result


def run_ceiling(scenario: Scenario, args: argparse.Namespace, workdir: Path) -> Result:
    server = Server.ceiling(workdir / f"ceiling-{scenario.name}.log")
    try:
        result = run_wrk(server, scenario, args, key="none", name=f"ceiling-{scenario.name}")
    finally:
        server.stop()
    result.server = "ceiling"
    return result


def run_threadline(
    kind: str, scenario: Scenario, args: argparse.Namespace, workdir: Path
) -> Result:
    # Numbered: a scenario repeated in one run (alternating comparisons) gets a fresh database.
    name = f"threadline_bench_{os.getpid()}_{next(_RUNS)}_{scenario.name.replace('-', '_')}"
    database = Database(kind, workdir, name)
    try:
        key = create_key(database.url)
        if scenario.redact:
            redact(database.url, scenario.redact)
        if scenario.preload_events:
            preload(database.url, scenario.preload_events)
        server = Server.threadline(
            database.url, workdir / f"{kind}-{scenario.name}.log", env=dict(scenario.env)
        )
        try:
            result = run_wrk(server, scenario, args, key, name=f"{kind}-{scenario.name}")
            ready = server.get("/ready")
        finally:
            code = server.stop()
        if code not in (0, None):
            raise RuntimeError(f"threadline exited with {code}: {server.log_tail()}")
        result.server = kind
        result.stored, result.distinct = database.count_events(scenario.table)
        writer = msgspec.json.decode(ready or b"{}").get("writer", {})
        if writer.get("commits"):
            result.writes_per_commit = writer["committedWrites"] / writer["commits"]
        return result
    finally:
        database.drop()


def redact(database_url: str, kinds: str) -> None:
    command = [sys.executable, "-m", "threadline", "projects", "set", "--project", "bench"]
    command += ["--redact", kinds, "--database-url", database_url]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def preload(database_url: str, events: int) -> None:
    """Demo data (with its conversations and their change log) before the server starts."""
    command = [sys.executable, "-m", "threadline", "demo", "--no-serve", "--events", str(events)]
    command += ["--database-url", database_url]
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def measure(server: str, scenario: Scenario, args: argparse.Namespace, workdir: Path) -> Result:
    label = f"{server} {scenario.name} ({scenario.connections} connections)"
    print(f"running {label} for {args.seconds} s ...", file=sys.stderr, flush=True)
    try:
        if server == "ceiling":
            return run_ceiling(scenario, args, workdir)
        return run_threadline(server, scenario, args, workdir)
    except (RuntimeError, OSError, subprocess.SubprocessError, SQLAlchemyError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        print(f"{label} FAILED: {detail}", file=sys.stderr)
        return Result(server=server, scenario=scenario, error=str(exc).splitlines()[0][:80])


def _number(value: float, digits: int = 0) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"


def _cpu_cells(result: Result) -> tuple[str, str]:
    """Cores busy (server + wrk), and the server's CPU per acknowledged event split between
    its main thread (the event loop: HTTP, JSON, the app) and its other threads (the writer)."""
    main, others = result.server_cpu
    cores = f"{(main + others) / result.seconds:.2f} + {result.wrk_cpu:.2f}"
    if not result.acknowledged:
        return cores, "—"
    per_event = 1e6 / result.acknowledged
    return cores, f"{main * per_event:,.0f} + {others * per_event:,.0f}"


def row(result: Result, ceilings: dict[tuple[str, int], Result]) -> str:
    s = result.scenario
    if result.error:
        return f"| {result.server} | {s.name} | {s.connections} | failed: {result.error} |"
    w = result.wrk
    ceiling = ceilings.get((s.script, s.connections))
    ratio = "—"
    if ceiling is not None and result.server != "ceiling" and not ceiling.error:
        ratio = f"{result.events_per_second / ceiling.events_per_second:.2f}"
    shed = f"{w['status_503']:,.0f}" if w.get("counted") else "?"
    if w.get("status_503_no_retry_after"):
        shed += f" ({w['status_503_no_retry_after']:,.0f} without Retry-After)"
    other = w["status_other"] if w.get("counted") else w["non2xx"]
    socket_errors = w["connect"] + w["read"] + w["write"] + w["timeout"]
    stored = "—"
    if result.server != "ceiling":
        mark = "yes" if result.intact else "**NO**"
        at_least = result.acknowledged // s.requests_per_row
        stored = f"{result.stored:,} ≥ {at_least:,}: {mark}"
    per_commit = "—" if result.writes_per_commit is None else f"{result.writes_per_commit:,.0f}"
    cells = [
        result.server,
        s.name,
        str(s.connections),
        _number(w["requests"] / result.seconds),
        _number(result.events_per_second),
        ratio,
        _number(w["p50_ms"], 1),
        _number(w["p99_ms"], 1),
        _number(w["max_ms"], 0),
        shed,
        f"{other:,.0f}",
        f"{socket_errors:,.0f}",
        stored,
        per_commit,
        _number(result.peak_rss_mb),
        *_cpu_cells(result),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| server | scenario | conns | requests/s | events/s | vs ceiling | p50 ms | p99 ms | max ms "
    "| 503 | other non-2xx | socket errors | stored ≥ acknowledged | writes/commit "
    "| peak RSS MB | CPU cores server + wrk | server CPU µs/event: loop + other threads |\n"
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|---|--:|"
)


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()
    return (
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"wrk {wrk[1] if len(wrk) > 1 else '?'}"
    )


def _scenario_checks(r: Result, ceiling: Result | None) -> list[tuple[str, bool]]:
    w = r.wrk
    if r.scenario.name == "events":
        checks = [
            (f"{r.events_per_second:,.0f} events/s ≥ 5,000", r.events_per_second >= 5000),
            (f"p99 {w['p99_ms']:.1f} ms ≤ 50", w["p99_ms"] <= 50),
        ]
        if ceiling is not None and not ceiling.error:
            share = r.events_per_second / ceiling.events_per_second
            checks.append((f"{share:.2f} of the ceiling ≥ 0.5", share >= 0.5))
        return checks
    if r.scenario.name == "batch":
        return [(f"{r.events_per_second:,.0f} events/s ≥ 20,000", r.events_per_second >= 20000)]
    other, bare = w.get("status_other", 0), w.get("status_503_no_retry_after", 0)
    return [
        (f"{other:,.0f} non-2xx other than 503", other == 0),
        (f"{bare:,.0f} 503s without Retry-After", bare == 0),
    ]


def targets(results: list[Result], ceilings: dict[tuple[str, int], Result]) -> list[str]:
    """Issue 5's targets, checked against this run's figures: one line per scenario."""
    lines = []
    for r in results:
        if r.error or r.server == "ceiling":
            continue
        checks = _scenario_checks(r, ceilings.get((r.scenario.script, r.scenario.connections)))
        checks.append((f"peak RSS {r.peak_rss_mb:,.0f} MB ≤ 512", r.peak_rss_mb <= 512))
        checks.append(("every acknowledged event stored once", r.intact))
        marks = "; ".join(f"{text}: {'met' if ok else '**NOT met**'}" for text, ok in checks)
        lines.append(f"- {r.server} {r.scenario.name}: {marks}")
    return lines


def report(results: list[Result], args: argparse.Namespace, load: float) -> None:
    ceilings = {
        (r.scenario.script, r.scenario.connections): r for r in results if r.server == "ceiling"
    }
    print(
        f"\n{machine()}; load average {load:.2f} before the run; {args.seconds} s per scenario, "
        "wrk 1 thread on the same cores.\n"
    )
    print(HEADER)
    for result in results:
        print(row(result, ceilings))
    print("\nTargets (issue 5; stated for SQLite, PostgreSQL beside it):\n")
    print("\n".join(targets(results, ceilings)))


def plan(args: argparse.Namespace) -> list[tuple[str, Scenario]]:
    """(server, scenario) pairs in run order: the ceiling for each script first."""
    catalogue = {
        "events": Scenario("events", "events.lua", 1, args.connections),
        # events-backlog: the same on a database holding --insights-backlog demo events;
        # events-insights: that, with the insight worker on and busy labelling their
        # conversations in a child process while wrk posts (docs/insights.md). Compare the two.
        "events-backlog": Scenario(
            "events-backlog",
            "events.lua",
            1,
            args.connections,
            preload_events=args.insights_backlog,
        ),
        "events-insights": Scenario(
            "events-insights",
            "events.lua",
            1,
            args.connections,
            env=(("THREADLINE_INSIGHTS", "on"),),
            preload_events=args.insights_backlog,
        ),
        "batch": Scenario("batch", "batch.lua", args.batch_size, args.connections),
        "events-redact": Scenario("events-redact", "events.lua", 1, args.connections, redact=_ALL),
        "search": Scenario("search", "search.lua", 1, args.connections),
        "search-redact": Scenario("search-redact", "search.lua", 1, args.connections, redact=_ALL),
        "overload": Scenario("overload", "events.lua", 1, args.overload_connections),
        # The widget's traffic (issue 14): thumbs up/down, and conversations posted whole as
        # they grow, five posts each.
        "feedback": Scenario("feedback", "feedback.lua", 1, args.connections, table="feedback"),
        "conversations": Scenario(
            "conversations",
            "conversations.lua",
            1,
            args.connections,
            table="conversations",
            requests_per_row=5,
        ),
    }
    chosen = [catalogue[name] for name in args.scenarios if name in catalogue]
    runs: list[tuple[str, Scenario]] = []
    if "ceiling" in args.scenarios:
        for scenario in chosen or [catalogue["events"]]:
            runs.append(("ceiling", scenario))
    runs += [(database, scenario) for database in args.databases for scenario in chosen]
    return runs


_ALL = "email,phone,card,secret,ip"


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(value: str) -> list[str]:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = set(names) - set(allowed)
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {sorted(unknown)}; choose from {allowed}")
        return names

    return parse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per scenario")
    parser.add_argument(
        "--http-server",
        choices=["uvicorn", "granian"],
        default="uvicorn",
        help="serve the ceiling and threadline with this (granian: installed aside, issue 14)",
    )
    parser.add_argument("--databases", type=_names(DATABASES), default=list(DATABASES))
    parser.add_argument("--scenarios", type=_names(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--overload-connections", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=100, help="events per POST /batch")
    parser.add_argument(
        "--insights-backlog",
        type=int,
        default=100_000,
        help="demo events loaded before events-insights (5 conversations per 100 events)",
    )
    parser.add_argument("--wrk-timeout", type=int, default=10, help="seconds before wrk gives up")
    parser.add_argument(
        "--no-status-count",
        action="store_true",
        help="leave out wrk's response hook (503s are then not told apart; measured no "
        "cheaper for wrk, see docs/performance.md)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each server with py-spy into DIR (costs CPU: figures drop)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    servers.HTTP_SERVER = args.http_server
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    # SIGTERM runs the finally blocks and atexit cleanup, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    try:
        results = [measure(server, scenario, args, workdir) for server, scenario in plan(args)]
    finally:
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, args, load)
    return 0 if all(r.intact for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
