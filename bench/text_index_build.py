"""How long building the SQLite full-text index of messages takes for a populated database, as
migration 0015 builds it (every message folded by threadline_search_text, one transaction),
into a scratch file that is deleted afterwards; prints the time and the index's size.

    .venv/bin/python bench/text_index_build.py --database-url sqlite:////tmp/big.db \\
        --scratch /tmp/index-scratch.db
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from threadline.store.engine import open_database

_TABLE = (
    "CREATE VIRTUAL TABLE scratch.message_search USING fts5(text, "
    "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")"
)


def _remove(scratch: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    args = parser.parse_args()
    _remove(args.scratch)
    database = open_database(args.database_url, read_pool_size=1)
    raw = database.reader.raw_connection()
    connection = raw.driver_connection
    try:
        connection.execute("ATTACH DATABASE ? AS scratch", (str(args.scratch),))
        connection.execute(_TABLE)
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute(
            "INSERT INTO scratch.message_search (rowid, text) "
            "SELECT seq, threadline_search_text(content, content_parts) FROM main.messages"
        )
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        rows = connection.execute("SELECT count(*) FROM main.messages").fetchone()[0]
        connection.execute("DETACH DATABASE scratch")
        size = os.path.getsize(args.scratch) / 1e6
        print(f"index of {rows:,} messages built in {elapsed:.1f} s; {size:,.0f} MB")
    finally:
        raw.close()
        database.dispose()
        _remove(args.scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
