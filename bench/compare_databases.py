"""Compare two threadline databases row for row, table by table (for `threadline copy`, issue 17).

    python bench/compare_databases.py sqlite:///demo100k.db postgresql://postgres@127.0.0.1/copy

Every row of every copied table is encoded as canonical JSON (sorted keys) and the sorted lists
are compared: independent of the checksums `copy` itself prints. Holds one table in memory.
"""

from __future__ import annotations

import sys

import msgspec
from sqlalchemy import Table, select

from threadline.store.engine import open_database
from threadline.transfer.copy import copy_tables

_encode = msgspec.json.Encoder(order="sorted").encode


def rows(url: str, table: Table) -> list[bytes]:
    database = open_database(url, read_pool_size=1)
    try:
        with database.reader.connect() as connection:
            return sorted(_encode(list(row)) for row in connection.execute(select(table)))
    finally:
        database.dispose()


def main(first: str, second: str) -> int:
    different = 0
    for table in copy_tables():
        a, b = rows(first, table), rows(second, table)
        same = a == b
        different += not same
        print(f"{table.name:20} {len(a):>9,} {len(b):>9,}  {'equal' if same else 'DIFFERENT'}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
