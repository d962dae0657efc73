"""Conversation text search alone, in process on the primary store: the full-text index
(query.text_search: page 1 of every match, ranked when few, with the total) against the
`LIKE` scan it replaced (the newest 1,000 matching conversations, no total beyond them), on the
same data.

    .venv/bin/python bench/text_search.py --database-url sqlite:////tmp/big.db --project demo \\
        --to 2026-12-06

Each query runs once to warm up, then --runs times; prints median and p95 (nearest rank) in ms,
how many conversations each found and, for the index, its CPU time per search
(time.process_time: comparable between two runs in the same minute on a busy machine).
--index-only leaves the LIKE scan out; --page N asks for the Nth page of 25 (the dashboard's
"page 5" reads past four pages of matches).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from threadline.query.text_search import ranked_conversations
from threadline.store.engine import open_database
from threadline.store.tables import conversations, messages, projects

QUERIES = ("export", "api key", "課金", "webhook retries")


def like_search(connection: Connection, project: str, start: int, end: int, text: str) -> int:
    """The search before issue 15 (dashboard/data.py at d3c1192): a case-blind LIKE over every
    message of the project, the newest 1,000 conversations of the period."""
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matching = select(messages.c.conversation_id).where(
        messages.c.project_id == project,
        func.lower(messages.c.content).like(pattern, escape="\\"),
    )
    first = func.coalesce(conversations.c.first_message_at, conversations.c.created_at)
    statement = (
        select(conversations.c.id)
        .where(
            conversations.c.project_id == project,
            first >= start,
            first < end,
            conversations.c.id.in_(matching),
        )
        .order_by(first.desc(), conversations.c.id.desc())
        .limit(1_000)
    )
    return len(connection.execute(statement).all())


def index_search(
    connection: Connection, project: str, start: int, end: int, text: str, page: int = 1
) -> int:
    first = func.coalesce(conversations.c.first_message_at, conversations.c.created_at)
    ranked = ranked_conversations(
        connection,
        project_id=project,
        query=text,
        conditions=[first >= start, first < end],
        limit=25,
        offset=(page - 1) * 25,
    )
    return ranked.total


def _timed(run: Callable[[], int], runs: int) -> tuple[list[float], int, float]:
    """(wall seconds of each run, what the first found, CPU seconds per run)."""
    found = run()
    seconds = []
    cpu = time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds, found, (time.process_time() - cpu) / runs


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--project", default="demo", help="a project's name or id")
    parser.add_argument("--to", required=True, help="last day of the data (UTC)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 90])
    parser.add_argument("--page", type=int, default=1, help="the index search's page of 25")
    parser.add_argument("--index-only", action="store_true", help="leave the LIKE scan out")
    args = parser.parse_args()
    database = open_database(args.database_url, read_pool_size=1)
    end_day = datetime.strptime(args.to, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
    end = int(end_day.timestamp() * 1_000_000)
    print(f"load average {os.getloadavg()[0]:.2f} before; {args.runs} runs after a warm-up\n")
    like = "" if args.index_only else "LIKE median | LIKE p95 | LIKE found (≤ 1,000) | "
    print(f"| query | days | {like}index median | index p95 | index total | index CPU per search |")
    print("|---|--:|" + "--:|" * (4 if args.index_only else 7))
    searches: dict[str, Any] = {"index": functools.partial(index_search, page=args.page)}
    if not args.index_only:
        searches = {"like": like_search, **searches}
    with database.reader.connect() as connection:
        project = connection.execute(
            select(projects.c.id).where(
                (projects.c.id == args.project) | (projects.c.name == args.project)
            )
        ).scalar_one()
        for text in QUERIES:
            for days in args.days:
                start = end - days * 86_400_000_000
                row = [f"`{text}`", str(days)]
                for search in searches.values():
                    seconds, found, cpu = _timed(
                        functools.partial(search, connection, project, start, end, text),
                        args.runs,
                    )
                    row += [
                        f"{statistics.median(seconds) * 1000:,.0f}",
                        f"{_p95(seconds) * 1000:,.0f}",
                        f"{found:,}",
                    ]
                row.append(f"{cpu * 1000:,.1f}")
                print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} after")
    database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
