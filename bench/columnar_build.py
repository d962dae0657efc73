"""How fast the columnar copy is built from the primary store: rows per second, per table.

    .venv/bin/python bench/columnar_build.py --database-url sqlite:///<db> [--runs 2]
    .venv/bin/python bench/columnar_build.py --database-url postgresql://postgres@127.0.0.1/<db>

Builds a new copy in a temporary directory (as a first start does, or a rebuild after a
migration) with ColumnarCopy's own build, `--runs` times, and prints the build's seconds, the
rows of each copied table and rows per second over all of them, and the CPU seconds the process
spent (the figure to compare on a shared machine). Run it under
/work/wt/_tools/quiet: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time

from sqlalchemy import func, select

from threadline.analytics.columnar import ColumnarCopy
from threadline.analytics.schema import MIRRORED
from threadline.store.engine import open_database


def _build(
    database_url: str, directory: str, threads: int, memory_limit: str
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: DuckDB's threads and the reader's)."""
    path = os.path.join(directory, "copy.duckdb")
    for leftover in (path, f"{path}.wal"):
        if os.path.exists(leftover):
            os.unlink(leftover)
    database = open_database(database_url)
    copy = ColumnarCopy(database.reader, path, threads=threads, memory_limit=memory_limit)
    began, began_cpu = time.perf_counter(), time.process_time()
    asked = time.monotonic()
    copy.start()
    try:
        assert copy.wait_until(asked, timeout=3600.0), "the copy was not built"
        return time.perf_counter() - began, time.process_time() - began_cpu
    finally:
        copy.stop()
        database.dispose()


def _rows(database_url: str) -> dict[str, int]:
    database = open_database(database_url)
    with database.reader.connect() as connection:
        counts = {
            table.name: int(connection.execute(select(func.count()).select_from(table)).scalar())
            for table in MIRRORED
        }
    database.dispose()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rows = _rows(args.database_url)
    total = sum(rows.values())
    print("rows:", ", ".join(f"{name} {count:,}" for name, count in rows.items()), f"= {total:,}")
    with tempfile.TemporaryDirectory(prefix="columnar-build-") as directory:
        for run in range(args.runs):
            seconds, cpu = _build(args.database_url, directory, args.threads, args.memory_limit)
            print(
                f"run {run + 1}: {seconds:.1f} s, {total / seconds:,.0f} rows/s; "
                f"CPU {cpu:.1f} s, {cpu / total * 1e6:.2f} µs a row (load average "
                f"{os.getloadavg()[0]:.2f})"
            )
    # The process's peak over all runs: the build's memory (issue 15 bounds the server's).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
