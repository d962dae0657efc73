"""The typical queries of bench/queries.py, timed on a database that is already loaded (a
`threadline demo` database of 3M, 10M or 50M events) and its columnar copy, in process through
`threadline.query.run.run_query` as POST /query/<view> runs them.

    .venv/bin/python bench/queries_at_scale.py --database-url sqlite:////data/demo-10M.db \\
        --analytics-path /data/demo-10M.columnar.duckdb --runs 20
    .venv/bin/python bench/queries_at_scale.py ... --compare   # and check against the primary

bench/queries.py generates and loads its own data every run (20 minutes at 10M events); this
reuses a database. Dates are relative to the data's newest event; the user and conversation
looked up are the project's most active ones. With --compare each answer is also computed on
the primary store (slow: the primary path takes seconds per query at 10M) and must be equal.
Prints Markdown (median and p95, nearest rank, and CPU per run, ms); exits 1 on an error or a
disagreement.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from typing import Any

import msgspec
from sqlalchemy import Connection, func, select

from threadline.analytics.columnar import ColumnarCopy
from threadline.query.run import run_query
from threadline.store.engine import open_database
from threadline.store.tables import conversations, events, projects
from threadline.timestamps import to_iso
from threadline.wire.query import QUERY_TYPES

DAY_US = 86_400_000_000
COUNT = {"type": "aggregation", "aggregation": "count"}
DAY = {"type": "time", "timeUnit": "day", "field": "createdAt"}
USERS = {
    "type": "aggregation",
    "aggregation": "countDistinct",
    "field": "userProperties",
    "path": ["userId"],
}


def _since(end_day_us: int, days: int) -> dict[str, Any]:
    """createdAt from midnight UTC `days` days before the end of the data's last day."""
    value = to_iso(end_day_us - days * DAY_US)
    return {"condition": {"field": "createdAt", "operator": "gte", "value": value}}


def bodies(end_day_us: int, user: str, conversation: str) -> dict[str, tuple[str, Any]]:
    """bench/queries.py's queries (same names), dated from the data's end."""
    return {
        "events_per_day_30d": ("events", {"select": [DAY, COUNT], "where": _since(end_day_us, 30)}),
        "events_per_day_90d": ("events", {"select": [DAY, COUNT]}),
        "weekly_users": (
            "events",
            {"select": [{"type": "time", "timeUnit": "week", "field": "createdAt"}, USERS]},
        ),
        "events_day_type_30d": (
            "events",
            {
                "select": [DAY, {"type": "field", "field": "type"}, COUNT],
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
                        _since(end_day_us, 30),
                    ]
                },
                "orderBy": [{"field": "createdAt_day", "direction": "asc"}],
            },
        ),
        "events_by_type": (
            "events",
            {"select": [{"type": "field", "field": "type"}, COUNT], "groupBy": [{"field": "type"}]},
        ),
        "daily_active_users": ("events", {"select": [DAY, USERS]}),
        "users_30d": ("events", {"select": [USERS], "where": _since(end_day_us, 30)}),
        "top_search_queries": (
            "events",
            {
                "select": [
                    {"type": "field", "field": "searchQuery"},
                    {"type": "aggregation", "aggregation": "count", "field": "id"},
                ],
                "groupBy": [{"field": "searchQuery"}],
                "where": {"condition": {"field": "eventType", "operator": "eq", "value": "search"}},
                "orderBy": [{"field": "count_id", "direction": "desc"}],
            },
        ),
        "conversations_per_week": (
            "conversations",
            {"select": [{"type": "time", "timeUnit": "week"}, COUNT]},
        ),
        "feedback_per_day_type": (
            "feedback",
            {"select": [DAY, {"type": "field", "field": "type"}, COUNT]},
        ),
        "dark_theme_per_day": (
            "events",
            {
                "select": [DAY, COUNT],
                "where": {
                    "condition": {
                        "field": "properties",
                        "operator": "eq",
                        "value": {"path": ["theme"], "value": "dark"},
                    }
                },
            },
        ),
        "top_pages_7d": (
            "events",
            {
                "select": [COUNT],
                "groupBy": [{"field": "properties", "path": ["page"]}],
                "where": _since(end_day_us, 7),
            },
        ),
        "newest_events": ("events", {}),
        "user_events_jsonContains": (
            "events",
            {
                "where": {
                    "condition": {
                        "field": "userProperties",
                        "operator": "jsonContains",
                        "value": {"userId": user},
                    }
                }
            },
        ),
        "conversation_events": (
            "events",
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
                        "value": conversation,
                    }
                },
                "orderBy": [{"field": "createdAt", "direction": "asc"}],
            },
        ),
    }


def _subjects(connection: Connection, project_id: str) -> tuple[int, str, str]:
    """(the data's last day, midnight UTC after it; the most active user; the conversation with
    the most messages)."""
    newest = connection.execute(
        select(func.max(events.c.created_at)).where(events.c.project_id == project_id)
    ).scalar_one()
    user_id = events.c.user_properties["userId"].as_string().label("user_id")
    user = connection.execute(
        select(user_id, func.count().label("n"))
        .where(events.c.project_id == project_id, events.c.created_at >= newest - DAY_US)
        .group_by(user_id)
        .order_by(func.count().desc())
        .limit(1)
    ).first()
    conversation = connection.execute(
        select(conversations.c.id)
        .where(conversations.c.project_id == project_id)
        .order_by(conversations.c.user_message_count.desc(), conversations.c.id)
        .limit(1)
    ).scalar_one()
    end_day = (newest // DAY_US + 1) * DAY_US
    return end_day, str(user[0]) if user else "", conversation


def _timed(
    engine: Any, view: str, body: Any, project_id: str, runs: int
) -> tuple[Any, list[float], float]:
    """The answer, the seconds of `runs` runs after a warm-up, and the process's CPU seconds
    per run (DuckDB's threads included): on a shared machine, the figure to compare."""
    seconds = []
    cpu = 0.0
    for run in range(runs + 1):
        began, began_cpu = time.perf_counter(), time.process_time()
        with engine.connect() as connection:
            data = run_query(connection, view=view, body=body, project_id=project_id)
        if run:
            seconds.append(time.perf_counter() - began)
            cpu += time.process_time() - began_cpu
    return data, seconds, cpu / max(1, runs)


def _ms(seconds: list[float], cpu: float) -> str:
    """median | p95 (nearest rank) | CPU per run, ms"""
    median = statistics.median(seconds) * 1000
    return f"{median:,.1f} | {_nearest_rank(seconds, 0.95) * 1000:,.1f} | {cpu * 1000:,.1f}"


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--analytics-path", required=True, help="the columnar copy (built)")
    parser.add_argument("--project", default="demo")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", help="comma-separated query names")
    parser.add_argument("--compare", action="store_true", help="check against the primary")
    parser.add_argument(
        "--without-rollups",
        action="store_true",
        help="also time each query on the copy with its rollups unused (SQL over the rows)",
    )
    args = parser.parse_args()

    database = open_database(args.database_url)
    with database.reader.connect() as connection:
        project_id = connection.execute(
            select(projects.c.id).where(projects.c.name == args.project)
        ).scalar_one()
        end_day, user, conversation = _subjects(connection, project_id)
    copy = ColumnarCopy(database.reader, args.analytics_path)
    started = time.perf_counter()
    copy.start()
    assert copy.wait_until(0.0001, timeout=3600), "the columnar copy did not get ready"
    print(f"copy ready in {time.perf_counter() - started:.1f} s (resumed: {copy.resumed})")
    load = os.getloadavg()[0]
    print(f"\nQueries, ms ({args.runs} runs after a warm-up; load average {load:.2f} before)\n")
    header = "| query | rows | median | p95 | CPU |"
    if args.without_rollups:
        header += " without rollups: median | p95 | CPU | same answer |"
    print(
        f"{header} primary agrees |\n|---|--:|--:|--:|--:|"
        f"{'--:|--:|--:|---|' * args.without_rollups}---|"
    )
    plain = copy.engine.execution_options(threadline_rollups=None)
    failed = False
    wanted = set(args.only.split(",")) if args.only else None
    for name, (view, raw) in bodies(end_day, user, conversation).items():
        if wanted is not None and name not in wanted:
            continue
        body = msgspec.convert(raw, QUERY_TYPES[view].body)
        data, seconds, cpu = _timed(copy.engine, view, body, project_id, args.runs)
        columns = f"| `{name}` | {data.count:,} | {_ms(seconds, cpu)} |"
        if args.without_rollups:
            sql, sql_seconds, sql_cpu = _timed(plain, view, body, project_id, args.runs)
            same = msgspec.json.encode(sql) == msgspec.json.encode(data)
            failed = failed or not same
            columns += f" {_ms(sql_seconds, sql_cpu)} | {'yes' if same else '**NO**'} |"
        agrees = "—"
        if args.compare:
            with database.reader.connect() as connection:
                primary = run_query(connection, view=view, body=body, project_id=project_id)
            same = msgspec.json.encode(primary) == msgspec.json.encode(data)
            agrees = "yes" if same else "**NO**"
            failed = failed or not same
        print(f"{columns} {agrees} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} after")
    copy.stop()
    database.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
