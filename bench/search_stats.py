"""The search statistics (the dashboard's search page, GET /query/top-search-queries) timed on
a loaded database's columnar copy, in process: with the fold marks the copy keeps
(analytics.search_folds) and, on the same copy in the same run, with the window over every
search the primary store runs (the copy's rollups unused), checking both answer the same.

    .venv/bin/python bench/search_stats.py --database-url sqlite:////data/demo-3M.db \\
        --analytics-path /data/demo-3M.columnar.duckdb --runs 10 [--compare]

Periods end at the data's newest event. Prints Markdown: wall median and p95 (nearest rank)
and CPU per call (time.process_time over the runs: this process's threads, DuckDB's included),
ms. With --compare each answer is also computed once on the primary store and must be equal.
Exits 1 on a disagreement.
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
from typing import Any

from sqlalchemy import Engine, func, select

from threadline.analytics.columnar import ColumnarCopy
from threadline.query.search_stats import search_page, top_search_queries
from threadline.store.engine import open_database
from threadline.store.tables import events, projects

DAY_US = 86_400_000_000


def _timed(engine: Engine, read: Callable[..., Any], runs: int) -> tuple[Any, list[float], float]:
    """The answer, each run's wall seconds and the CPU seconds per run (after a warm-up)."""
    with engine.connect() as connection:
        answer = read(connection)
    walls = []
    cpu = time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        with engine.connect() as connection:
            read(connection)
        walls.append(time.perf_counter() - started)
    return answer, walls, (time.process_time() - cpu) / runs


def _ms(walls: list[float], cpu: float) -> str:
    ordered = sorted(walls)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(walls) * 1000:,.0f} | {p95 * 1000:,.0f} | {cpu * 1000:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--analytics-path", required=True, help="the columnar copy (built)")
    parser.add_argument("--project", default="demo")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--compare", action="store_true", help="check against the primary")
    args = parser.parse_args()

    database = open_database(args.database_url)
    with database.reader.connect() as connection:
        project_id = connection.execute(
            select(projects.c.id).where(projects.c.name == args.project)
        ).scalar_one()
        newest = connection.execute(
            select(func.max(events.c.created_at)).where(events.c.project_id == project_id)
        ).scalar_one()
    copy = ColumnarCopy(database.reader, args.analytics_path)
    started = time.perf_counter()
    copy.start()
    assert copy.wait_until(0.0001, timeout=3600), "the columnar copy did not get ready"
    print(f"copy ready in {time.perf_counter() - started:.1f} s (resumed: {copy.resumed})")
    end = newest + 1
    reads: dict[str, Callable[..., Any]] = {
        f"search page, {days} days": functools.partial(
            search_page, project_id=project_id, after=end - days * DAY_US, before=end
        )
        for days in (30, 90)
    }
    reads["top-search-queries, 90 days"] = functools.partial(
        top_search_queries, project_id=project_id, after=end - 90 * DAY_US
    )
    window = copy.engine.execution_options(threadline_rollups=None)
    print(f"\nms, {args.runs} runs after a warm-up; load average {os.getloadavg()[0]:.2f} before\n")
    print("| read | marks: median | p95 | CPU/call | window: median | p95 | CPU/call | same |")
    print("|---|--:|--:|--:|--:|--:|--:|---|")
    failed = False
    for name, read in reads.items():
        marked, marked_walls, marked_cpu = _timed(copy.engine, read, args.runs)
        windowed, window_walls, window_cpu = _timed(window, read, args.runs)
        same = marked == windowed
        if args.compare:
            with database.reader.connect() as connection:
                same = same and read(connection) == marked
        failed = failed or not same
        print(
            f"| {name} | {_ms(marked_walls, marked_cpu)} | {_ms(window_walls, window_cpu)} | "
            f"{'yes' if same else '**NO**'} |",
            flush=True,
        )
    print(f"\nload average {os.getloadavg()[0]:.2f} after")
    copy.stop()
    database.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
