"""How long typical query-language queries take at a million events, on SQLite and PostgreSQL.

    .venv/bin/python bench/queries.py                          # 1M events, both backends
    .venv/bin/python bench/queries.py --events 20000 --runs 2  # a quick smoke run

For each database (a fresh temp SQLite file; a PostgreSQL database `threadline_bench_queries`
created on postgresql://postgres@127.0.0.1:5432 and dropped after) it migrates the schema with
the real migrations, loads the synthetic dataset of bench/dataset.py straight into the tables,
then runs each query below through `threadline.query.run.run_query` on a pooled reader
connection, as `POST /query/<view>` does: one warm-up run, then --runs timed runs (median and
p95, nearest rank). It then starts the real `threadline serve` on the same database and times
each query again end to end over HTTP (--http-runs, median). Every result is checked against
figures computed while generating the data, and the two backends' results against each other.
Last, it prints the plans (EXPLAIN QUERY PLAN; EXPLAIN ANALYZE, BUFFERS) of the --explain
slowest queries per backend. --sqlite-analyze runs ANALYZE on SQLite after the load, which
threadline itself never does, to show what the planner's statistics change.

It prints Markdown, and exits 1 if a query failed, answered wrongly or the backends disagreed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import math
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import servers
from dataset import DAY_US, END, END_US, Dataset, Expected, Loaded, Shape, generate, load
from servers import Database as BenchDatabase
from servers import Server
from sqlalchemy import Connection, Engine, event, text

from threadline.analytics.columnar import ColumnarCopy
from threadline.query.compile import PAGE_SIZE
from threadline.query.run import compile_for, run_query
from threadline.store.engine import Database, open_database
from threadline.timestamps import to_iso
from threadline.wire.query import QUERY_TYPES, QueryData

DATABASES = ("sqlite", "postgresql")
# primary: SQL on the database itself; columnar: the DuckDB copy threadline.analytics keeps.
READ_PATHS = ("primary", "columnar")
PG_DATABASE = "threadline_bench_queries"
HTTP_PATHS = {
    "conversations": "/query/conversations",
    "events": "/query/events",
    "feedback": "/query/feedback",
}


def _iso_days_before_end(days: int) -> str:
    return (END - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


Check = Callable[[QueryData, Expected], str | None]


@dataclasses.dataclass(frozen=True)
class Query:
    name: str
    view: str
    what: str
    body: dict[str, Any]
    check: Check


def _rows_equal(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> str | None:
    if got == want:
        return None
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"row {i}: got {g}, want {w}"
    return f"{len(got)} rows, want {len(want)}"


def _check_day_type(data: QueryData, expected: Expected) -> str | None:
    cutoff = END_US - 30 * DAY_US
    wanted = ("message:copied", "chat_share_button_clicked")
    want = [
        {"createdAt_day": to_iso(day), "type": kind, "count": n}
        for (day, kind), n in sorted(expected.day_type_counts.items())
        if kind in wanted and day >= cutoff
    ]
    return _rows_equal(data.result, want)


def _check_types(data: QueryData, expected: Expected) -> str | None:
    want = [
        {"type": kind, "count": n}
        for kind, n in sorted(expected.type_counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return _rows_equal(data.result, want)


def _check_daily_users(data: QueryData, expected: Expected) -> str | None:
    want = [
        {"createdAt_day": to_iso(day), "countDistinct_userProperties.userId": n}
        for day, n in sorted(expected.daily_users.items())
    ]
    return _rows_equal(data.result, want)


def _check_search(data: QueryData, expected: Expected) -> str | None:
    ranked = sorted(expected.search_counts.items(), key=lambda item: (-item[1], item[0]))
    want = [{"searchQuery": q, "count_id": n} for q, n in ranked[:1000]]
    problem = _rows_equal(data.result, want)
    if problem is None and data.total != len(ranked):
        problem = f"total {data.total}, want {len(ranked)}"
    return problem


def _check_weeks(data: QueryData, expected: Expected) -> str | None:
    want = [
        {"firstMessageTime_week": to_iso(week), "count": n}
        for week, n in sorted(expected.conversation_weeks.items())
    ]
    return _rows_equal(data.result, want)


def _check_feedback(data: QueryData, expected: Expected) -> str | None:
    # No orderBy: time buckets first, then the largest count, then the group keys (compile.py).
    ordered = sorted(
        expected.feedback_days.items(), key=lambda item: (item[0][0], -item[1], item[0][1])
    )
    want = [{"createdAt_day": to_iso(day), "type": kind, "count": n} for (day, kind), n in ordered]
    return _rows_equal(data.result, want)


def _check_dark(data: QueryData, expected: Expected) -> str | None:
    want = [
        {"createdAt_day": to_iso(day), "count": n} for day, n in sorted(expected.dark_days.items())
    ]
    return _rows_equal(data.result, want)


def _check_pages(data: QueryData, expected: Expected) -> str | None:
    ranked = sorted(expected.pages_7d.items(), key=lambda item: (-item[1], item[0]))
    want = [{"properties.page": page, "count": n} for page, n in ranked]
    return _rows_equal(data.result, want)


def _check_newest(data: QueryData, expected: Expected) -> str | None:
    if data.total != expected.events:
        return f"total {data.total}, want {expected.events}"
    if data.count != min(1000, expected.events):
        return f"count {data.count}"
    newest = data.result[0].get("createdAt") if data.result else None
    if newest != to_iso(expected.newest_event_us):
        return f"first createdAt {newest}, want {to_iso(expected.newest_event_us)}"
    times = [row["createdAt"] for row in data.result]
    if times != sorted(times, reverse=True):
        return "rows not newest first"
    if any("conversationId" not in row for row in data.result if row["eventType"] != "search"):
        return "a message or conversation event without its conversationId"
    return None


def _check_user(data: QueryData, expected: Expected) -> str | None:
    want = expected.user_events[expected.lookup_user]
    if data.total != want:
        return f"total {data.total}, want {want}"
    strays = [
        row
        for row in data.result
        if row.get("userProperties", {}).get("userId") != expected.lookup_user
    ]
    return f"{len(strays)} rows of other users" if strays else None


def _check_conversation(data: QueryData, expected: Expected) -> str | None:
    want = expected.conversation_events[expected.lookup_conversation]
    if data.total != want:
        return f"total {data.total}, want {want}"
    times = [row["createdAt"] for row in data.result]
    return None if times == sorted(times) else "rows not oldest first"


def queries(expected: Expected) -> list[Query]:
    count = {"type": "aggregation", "aggregation": "count"}
    day = {"type": "time", "timeUnit": "day", "field": "createdAt"}
    return [
        Query(
            "events_day_type_30d",
            "events",
            "reference §7.11: events per day and type, 2 types, last 30 days",
            {
                "select": [day, {"type": "field", "field": "type"}, count],
                "groupBy": [{"field": "type"}],
                "where": {
                    "and": [
                        {
                            "condition": {
                                "field": "type",
                                "operator": "in",
                                "value": ["message:copied", "chat_share_button_clicked"],
                            }
                        },
                        {
                            "condition": {
                                "field": "createdAt",
                                "operator": "gte",
                                "value": _iso_days_before_end(30),
                            }
                        },
                    ]
                },
                "orderBy": [{"field": "createdAt_day", "direction": "asc"}],
                "notes": "Count of events by type",
            },
            _check_day_type,
        ),
        Query(
            "events_by_type",
            "events",
            "events per type, all time",
            {"select": [{"type": "field", "field": "type"}, count], "groupBy": [{"field": "type"}]},
            _check_types,
        ),
        Query(
            "daily_active_users",
            "events",
            "countDistinct userProperties.userId per day, all time",
            {
                "select": [
                    day,
                    {
                        "type": "aggregation",
                        "aggregation": "countDistinct",
                        "field": "userProperties",
                        "path": ["userId"],
                    },
                ]
            },
            _check_daily_users,
        ),
        Query(
            "top_search_queries",
            "events",
            "search events per searchQuery, most first (no limit in the language: 1,000-row page)",
            {
                "select": [
                    {"type": "field", "field": "searchQuery"},
                    {"type": "aggregation", "aggregation": "count", "field": "id"},
                ],
                "groupBy": [{"field": "searchQuery"}],
                "where": {"condition": {"field": "eventType", "operator": "eq", "value": "search"}},
                "orderBy": [{"field": "count_id", "direction": "desc"}],
            },
            _check_search,
        ),
        Query(
            "conversations_per_week",
            "conversations",
            "conversations per week (firstMessageTime), all time",
            {"select": [{"type": "time", "timeUnit": "week"}, count]},
            _check_weeks,
        ),
        Query(
            "feedback_per_day_type",
            "feedback",
            "feedback per day and type (positive/negative), all time",
            {"select": [day, {"type": "field", "field": "type"}, count]},
            _check_feedback,
        ),
        Query(
            "dark_theme_per_day",
            "events",
            "events with properties.theme eq dark, per day, all time",
            {
                "select": [day, count],
                "where": {
                    "condition": {
                        "field": "properties",
                        "operator": "eq",
                        "value": {"path": ["theme"], "value": "dark"},
                    }
                },
            },
            _check_dark,
        ),
        Query(
            "top_pages_7d",
            "events",
            "events per properties.page, last 7 days, most first",
            {
                "select": [count],
                "groupBy": [{"field": "properties", "path": ["page"]}],
                "where": {
                    "condition": {
                        "field": "createdAt",
                        "operator": "gte",
                        "value": _iso_days_before_end(7),
                    }
                },
            },
            _check_pages,
        ),
        Query(
            "newest_events",
            "events",
            "`{}`: every field of the newest 1,000 events, and the total",
            {},
            _check_newest,
        ),
        Query(
            "user_events_jsonContains",
            "events",
            "one user's events: userProperties jsonContains {userId}, newest first",
            {
                "where": {
                    "condition": {
                        "field": "userProperties",
                        "operator": "jsonContains",
                        "value": {"userId": expected.lookup_user},
                    }
                }
            },
            _check_user,
        ),
        Query(
            "conversation_events",
            "events",
            "one conversation's events: conversationId eq, oldest first",
            {
                "select": [
                    {"type": "field", "field": "createdAt"},
                    {"type": "field", "field": "type"},
                    {"type": "field", "field": "messageId"},
                ],
                "where": {
                    "condition": {
                        "field": "conversationId",
                        "operator": "eq",
                        "value": expected.lookup_conversation,
                    }
                },
                "orderBy": [{"field": "createdAt", "direction": "asc"}],
            },
            _check_conversation,
        ),
    ]


# -- measuring ------------------------------------------------------------------------------


@dataclasses.dataclass
class Measured:
    query: Query
    seconds: list[float] = dataclasses.field(default_factory=list)
    cpu_seconds: list[float] = dataclasses.field(default_factory=list)  # this process's
    http_seconds: list[float] = dataclasses.field(default_factory=list)
    rows: int = 0
    total: int = 0
    digest: str = ""
    problem: str | None = None  # a wrong answer
    error: str | None = None  # an exception or an HTTP error
    plan: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000 if self.seconds else math.nan

    @property
    def p95_ms(self) -> float:
        return _nearest_rank(self.seconds, 0.95) * 1000

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_seconds) * 1000 if self.cpu_seconds else math.nan

    @property
    def http_median_ms(self) -> float:
        return statistics.median(self.http_seconds) * 1000 if self.http_seconds else math.nan


def _nearest_rank(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# Ids the store generates per database: left out when comparing the backends' answers.
_PER_DATABASE = ("projectId", "organizationId", "integrationId")


def _digest(data: QueryData) -> str:
    """A fingerprint of the answer, the same on both backends if the rows are."""
    rows = [{k: v for k, v in row.items() if k not in _PER_DATABASE} for row in data.result]
    encoded = msgspec.json.encode([rows, data.total, data.count], order="sorted")
    return hashlib.sha256(encoded).hexdigest()[:12]


def _body(query: Query) -> Any:
    return msgspec.json.decode(msgspec.json.encode(query.body), type=QUERY_TYPES[query.view].body)


def measure(
    engine: Engine, query: Query, project_id: str, expected: Expected, args: Any
) -> Measured:
    measured = Measured(query)
    try:
        body = _body(query)
        for run in range(args.runs + 1):  # the first run warms up and is not counted
            started, cpu = time.perf_counter(), time.process_time()
            with engine.connect() as connection:
                data = run_query(connection, view=query.view, body=body, project_id=project_id)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            if run == 0:
                measured.rows, measured.total = data.count, data.total
                measured.digest = _digest(data)
                measured.problem = query.check(data, expected)
                continue
            measured.seconds.append(elapsed)
            measured.cpu_seconds.append(cpu)
            if sum(measured.seconds) > args.budget:
                break
    except Exception as exc:
        measured.error = f"{type(exc).__name__}: {exc}"
    return measured


def measure_http(server: Server, api_key: str, measured: Measured, args: Any) -> None:
    request_body = msgspec.json.encode(measured.query.body)
    url = server.url + HTTP_PATHS[measured.query.view]
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    try:
        for run in range(args.http_runs + 1):
            request = urllib.request.Request(url, data=request_body, headers=headers)
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=600) as answer:
                payload = answer.read()
            elapsed = time.perf_counter() - started
            if run == 0:
                total = msgspec.json.decode(payload)["data"]["total"]
                if total != measured.total:
                    measured.error = f"HTTP total {total}, run_query total {measured.total}"
                continue
            measured.http_seconds.append(elapsed)
            if sum(measured.http_seconds) > args.budget:
                break
    except urllib.error.HTTPError as exc:
        measured.error = f"HTTP {exc.code}: {exc.read()[:500]!r}"
    except OSError as exc:
        measured.error = f"HTTP: {exc}"


class _Captured(Exception):
    pass


def _sql_of(connection: Connection, statement: Any) -> tuple[str, Any]:
    """The SQL and parameters the driver would be given for `statement` (not run)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            seen.append((sql, parameters))
            raise _Captured

    event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(statement)
    except _Captured:
        pass
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return seen[0]


def explain(database: Database, measured: Measured, project_id: str) -> str:
    """The plan of the page statement (and of the count, when run_query runs it): SQLite's
    EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (ANALYZE, BUFFERS), which runs it once more."""
    query = measured.query
    out = []
    with database.reader.connect() as connection:
        compiled = compile_for(connection, query.view, _body(query), project_id)
        statements = [("page", compiled.statement.limit(PAGE_SIZE))]
        if measured.rows == PAGE_SIZE:  # run_query counts the rows only on a full page
            statements.append(("count", compiled.count_statement()))
        for label, statement in statements:
            sql, parameters = _sql_of(connection, statement)
            raw: Any = connection.connection.driver_connection
            if connection.dialect.name == "postgresql":
                connection.rollback()
                cursor = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            else:
                cursor = raw.execute("EXPLAIN QUERY PLAN " + sql, parameters)
                plan = "\n".join(f"{row[0]:>3} {row[1]:>3} {row[3]}" for row in cursor.fetchall())
            out.append(f"-- {label} statement:\n{sql}\n-- parameters: {parameters!r}\n{plan}")
    return "\n\n".join(out)


# -- reporting ------------------------------------------------------------------------------


def _ms(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _git(*arguments: str) -> str:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "?"


def code_version() -> str:
    """threadline/'s tree and whether it had uncommitted changes: others edit the code while
    this runs, and only a change there changes what is measured."""
    tree = _git("rev-parse", "--short", "HEAD:threadline")
    dirty = _git("status", "--porcelain", "--", "threadline")
    return f"threadline/ tree {tree}" + (" with uncommitted changes" if dirty else "")


def code_commit() -> str:
    return _git("rev-parse", "--short", "HEAD")


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return (
        f"{dt.date.today().isoformat()}, nproc {os.cpu_count()} ({cpu}), {memory} RAM, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def print_table(results: dict[str, list[Measured]]) -> None:
    names = list(results)
    header = ["query", "view", "rows", "total"]
    for name in names:
        header += [f"{name} median", f"{name} p95", f"{name} CPU", f"{name} HTTP"]
    header.append("check")
    print("| " + " | ".join(header) + " |")
    print("|---|---|" + "--:|" * (len(header) - 3) + "---|")
    for i, measured in enumerate(results[names[0]]):
        cells = [f"`{measured.query.name}`", measured.query.view]
        cells += [f"{measured.rows:,}", f"{measured.total:,}"]
        notes = []
        for name in names:
            m = results[name][i]
            cells += [_ms(m.median_ms), _ms(m.p95_ms), _ms(m.cpu_median_ms)]
            cells.append(_ms(m.http_median_ms))
            if m.error:
                notes.append(f"{name} **ERROR** {m.error}")
            elif m.problem:
                notes.append(f"{name} **WRONG** {m.problem}")
        digests = {results[name][i].digest for name in names if not results[name][i].error}
        if len(digests) > 1:
            notes.append("**backends disagree**")
        cells.append("; ".join(notes) or "ok")
        print("| " + " | ".join(cells) + " |")


def report(
    dataset: Dataset,
    runs: dict[str, BackendRun],
    args: Any,
    load_average: float,
    code: tuple[str, str],
) -> None:
    results = {f"{kind} {path}": r for kind, run in runs.items() for path, r in run.results.items()}
    loads = {kind: run.loaded for kind, run in runs.items()}
    versions = {kind: run.version for kind, run in runs.items()}
    print(
        f"\n{machine()}; load average {load_average:.2f} before the run, "
        f"{os.getloadavg()[0]:.2f} after it."
    )
    if code[0] == code[1]:
        print(f"threadline: {code[0]} (commit {code_commit()})")
    else:
        print(
            f"threadline: **changed during the run**: {code[0]} at the start, {code[1]} at the end"
        )
    for name, version in versions.items():
        print(f"{name}: {version}")
    print(f"\nDataset (seed {dataset.shape.seed}, generated in {dataset.seconds:.0f} s): ")
    print(dataset.describe() + ".")
    for name, loaded in loads.items():
        tables = ", ".join(f"{table} {mb:,.0f}" for table, mb in loaded.table_mb.items())
        print(
            f"- {name}: loaded in {loaded.seconds:.0f} s; {loaded.size_mb:,.0f} MB on disk"
            + (f" (MB with indexes: {tables})" if tables else "")
        )
    for kind, run in runs.items():
        if run.columnar_build_seconds is not None:
            print(f"- {kind}: columnar copy built in {run.columnar_build_seconds:.0f} s")
        if run.freshness_seconds:
            fresh = sorted(run.freshness_seconds)
            print(
                f"- {kind}: an event written through HTTP was counted by the next query after "
                f"median {statistics.median(fresh) * 1000:.0f} ms, max {fresh[-1] * 1000:.0f} ms "
                f"({len(fresh)} events; `threadline serve` with its columnar copy)"
            )
    names = list(results)
    print(
        f"\nms per query through run_query: median and p95 (nearest rank) of {args.runs} runs "
        f"after one warm-up; HTTP: median of {args.http_runs} `POST /query/<view>` after one "
        "warm-up, through `threadline serve` on the same database. CPU: median CPU time of "
        "this process per run (SQLite runs inside it, so for SQLite this is all the work; for "
        "PostgreSQL it is only the Python side).\n"
    )
    print_table(results)
    print("\nQueries:\n")
    for measured in results[names[0]]:
        print(f"- `{measured.query.name}`: {measured.query.what}")
        print(f"  `{msgspec.json.encode(measured.query.body).decode()}`")
    for name in names:
        for measured in results[name]:
            if measured.plan:
                print(
                    f"\n### {name}: `{measured.query.name}` (median {_ms(measured.median_ms)} ms)\n"
                )
                print("```\n" + measured.plan + "\n```")


def failed(results: dict[str, list[Measured]]) -> bool:
    if any(m.error or m.problem for rows in results.values() for m in rows):
        return True
    per_query = zip(*results.values(), strict=True)
    return any(len({m.digest for m in row}) > 1 for row in per_query)


# -- main -----------------------------------------------------------------------------------


def _database_version(database: Database) -> str:
    with database.reader.connect() as connection:
        if connection.dialect.name == "postgresql":
            version = connection.execute(text("SHOW server_version")).scalar()
            settings = ", ".join(
                f"{name} {connection.execute(text(f'SHOW {name}')).scalar()}"
                for name in ("shared_buffers", "work_mem", "jit", "max_parallel_workers_per_gather")
            )
            return f"PostgreSQL {version} ({settings})"
        analyzed = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).scalar()
        return (
            f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL, "
            + ("ANALYZE run after the load" if analyzed else "no ANALYZE, as threadline leaves it")
            + ")"
        )


def _columnar_copy(database: Database, path: Path) -> tuple[ColumnarCopy, float]:
    """A columnar copy of the loaded database, built; and the seconds the build took."""
    copy = ColumnarCopy(database.reader, str(path))
    started = time.perf_counter()
    copy.start()
    if not copy.wait_until(time.monotonic(), timeout=3600):
        raise RuntimeError("the columnar copy was not built within an hour")
    return copy, time.perf_counter() - started


def _wait_columnar(server: Server) -> None:
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        ready = msgspec.json.decode(server.get("/ready") or b"{}")
        if ready.get("analytics", {}).get("columnarReady"):
            return
        time.sleep(0.2)
    raise RuntimeError("the server's columnar copy was not ready within an hour")


def measure_freshness(server: Server, api_key: str, runs: int = 20) -> list[float]:
    """Seconds from sending an event to the query API counting it, for `runs` events: the
    query is sent as soon as the write is answered, and repeated until it counts the event."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    seconds = []
    for run in range(runs):
        marker = f"freshness-{time.time_ns()}-{run}"
        event = {"type": "search", "entityType": "search", "searchQuery": marker}
        query = {
            "select": [{"type": "aggregation", "aggregation": "count"}],
            "where": {"condition": {"field": "searchQuery", "operator": "eq", "value": marker}},
        }
        started = time.perf_counter()
        post = urllib.request.Request(
            server.url + "/events", data=msgspec.json.encode(event), headers=headers
        )
        urllib.request.urlopen(post, timeout=30).read()
        while True:
            ask = urllib.request.Request(
                server.url + HTTP_PATHS["events"], data=msgspec.json.encode(query), headers=headers
            )
            answer = msgspec.json.decode(urllib.request.urlopen(ask, timeout=30).read())
            if answer["data"]["result"] and answer["data"]["result"][0]["count"] == 1:
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"event {marker} not visible after 30 s")
        seconds.append(time.perf_counter() - started)
    return seconds


@dataclasses.dataclass
class BackendRun:
    results: dict[str, list[Measured]]  # by read path
    loaded: Loaded
    version: str
    columnar_build_seconds: float | None = None
    freshness_seconds: list[float] = dataclasses.field(default_factory=list)


def _measure_all(
    kind: str, path: str, engine: Engine, dataset: Dataset, loaded: Loaded, args: Any
) -> list[Measured]:
    results = []
    for query in queries(dataset.expected):
        measured = measure(engine, query, loaded.project_id, dataset.expected, args)
        results.append(measured)
        print(
            f"{kind} {path}: {query.name}: median {_ms(measured.median_ms)} ms"
            + (f" ERROR {measured.error}" if measured.error else "")
            + (f" WRONG {measured.problem}" if measured.problem else ""),
            file=sys.stderr,
            flush=True,
        )
    return results


def _measure_http_all(
    kind: str, url: str, run: BackendRun, copy_path: Path, workdir: Path, args: Any
) -> None:
    """Each read path again, end to end through `threadline serve` on the same database."""
    for path in args.read_paths:
        env = {"THREADLINE_ANALYTICS": "off"}
        if path == "columnar":  # the server follows on from the copy built above
            env = {"THREADLINE_ANALYTICS": "columnar", "THREADLINE_ANALYTICS_PATH": str(copy_path)}
        server = Server.threadline(url, workdir / f"{kind}-{path}-server.log", env)
        try:
            if path == "columnar":
                _wait_columnar(server)
            for measured in run.results[path]:
                if not measured.error:
                    measure_http(server, run.loaded.api_key, measured, args)
            if path == "columnar":
                run.freshness_seconds = measure_freshness(server, run.loaded.api_key)
        finally:
            server.stop()


def run_backend(kind: str, dataset: Dataset, workdir: Path, args: Any) -> BackendRun:
    name = PG_DATABASE if kind == "postgresql" else "queries"
    holder = BenchDatabase(kind, workdir, name)
    database = open_database(holder.url)
    copy_path = workdir / f"{kind}.columnar.duckdb"
    try:
        print(f"{kind}: loading {dataset.describe()} ...", file=sys.stderr, flush=True)
        loaded = load(database, dataset)
        if kind == "sqlite" and args.sqlite_analyze:
            with database.writer.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        print(f"{kind}: loaded in {loaded.seconds:.0f} s", file=sys.stderr, flush=True)
        run = BackendRun({}, loaded, _database_version(database))
        for path in args.read_paths:
            if path == "primary":
                run.results[path] = _measure_all(kind, path, database.reader, dataset, loaded, args)
                continue
            copy, run.columnar_build_seconds = _columnar_copy(database, copy_path)
            print(
                f"{kind}: columnar copy built in {run.columnar_build_seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            try:
                run.results[path] = _measure_all(kind, path, copy.engine, dataset, loaded, args)
            finally:
                copy.stop()  # frees the file for the server, which follows on from it
        if args.http_runs:
            _measure_http_all(kind, holder.url, run, copy_path, workdir, args)
        primary = run.results.get("primary", [])
        slowest = sorted((m for m in primary if not m.error), key=lambda m: m.median_ms)
        for measured in slowest[::-1][: args.explain]:
            try:
                measured.plan = explain(database, measured, loaded.project_id)
            except Exception as exc:
                measured.plan = f"EXPLAIN failed: {type(exc).__name__}: {exc}"
        return run
    finally:
        database.dispose()
        if args.keep:  # out of servers.py's clean-up at exit
            servers._live_databases.remove(holder)
        else:
            holder.drop()


def _names_of(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def names(value: str) -> list[str]:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = set(names) - set(choices)
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {sorted(unknown)}; choose from {choices}")
        return names

    return names


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--databases", type=_names_of(DATABASES), default=list(DATABASES))
    parser.add_argument(
        "--read-paths",
        type=_names_of(READ_PATHS),
        default=list(READ_PATHS),
        help="primary: SQL on the database; columnar: the DuckDB copy (threadline.analytics)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query")
    parser.add_argument("--http-runs", type=int, default=3, help="timed HTTP runs (0: none)")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="stop timing a query once its timed runs add up to this many seconds",
    )
    parser.add_argument(
        "--explain", type=int, default=2, help="print the plans of the N slowest queries"
    )
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE on SQLite after the load (threadline itself never does)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"keep the databases (the temp dir's SQLite file, PostgreSQL {PG_DATABASE})",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_average = os.getloadavg()[0]
    code_at_start = code_version()
    workdir = Path(tempfile.mkdtemp(prefix="threadline-queries-"))
    try:
        started = time.perf_counter()
        dataset = generate(Shape.for_events(args.events, seed=args.seed))
        print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        runs = {kind: run_backend(kind, dataset, workdir, args) for kind in args.databases}
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    code = (code_at_start, code_version())
    report(dataset, runs, args, load_average, code)
    results = {f"{kind} {path}": r for kind, run in runs.items() for path, r in run.results.items()}
    return 1 if failed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
