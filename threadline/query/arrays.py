"""numpy arrays in and out of statements on the columnar copy, without a Python object per value.

DuckDB binds a list parameter one Python int at a time (50,000 seqs: ~17 ms of CPU) and SQLAlchemy
builds a row object per result row; a relation registered from numpy arrays costs ~0.5 ms, and a
result fetched as numpy columns ~5 ms for 400,000 rows (docs/insights.md, "Search at a million
threads, quiet")."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Executable, TableClause, column, table

_names = itertools.count()


@contextlib.contextmanager
def registered(connection: Connection, **columns: npt.NDArray[Any]) -> Iterator[TableClause]:
    """A relation of these equally long columns, named for this statement only, usable in
    statements on `connection` (a connection to the columnar copy) until the block ends."""
    name = f"arrays_{next(_names)}"
    raw = connection.connection.driver_connection
    assert raw is not None  # a connection checked out of the copy's pool
    raw.register(name, columns)
    try:
        yield table(name, *(column(key) for key in columns))
    finally:
        raw.unregister(name)


def fetched(connection: Connection, statement: Executable) -> dict[str, npt.NDArray[Any]]:
    """The statement's result as one numpy array per column (a connection to the columnar copy).
    For columns that are never NULL: DuckDB gives a nullable column as a masked array, and the
    mask is dropped here."""
    result = connection.execute(statement)
    try:
        columns: dict[str, npt.NDArray[Any]] = result.cursor.fetchnumpy()
    finally:
        result.close()
    return {key: np.asarray(values) for key, values in columns.items()}
