"""The searches and clicks the search statistics read (query.searches.SEARCHES), kept in the
columnar copy at sync time: each search with its person and fold marks already worked out, so
the statistics neither filter nor parse every event nor window the searches of their range.

A search's marks depend only on the person's searches within FOLD_WINDOW_US of it: a search
inserted or deleted at time t can change the marks of that person's searches in
[t - window, t + window] and no others (a neighbour further away folds nothing, before or
after). A sync therefore takes the people its new and deleted searches name, and marks again
their searches in that span, windowing over a window's more on each side.
"""

from __future__ import annotations

from typing import Any

import duckdb
from duckdb_engine import Dialect
from sqlalchemy import (
    BigInteger,
    Boolean,
    ClauseElement,
    Column,
    ColumnElement,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    false,
    literal_column,
    null,
    select,
    true,
)

from threadline.analytics.shred import Shredded
from threadline.query.searches import (
    FOLD_WINDOW_US,
    SEARCHES,
    fold_marks,
    is_click,
    typed_searches,
)
from threadline.query.sql_duckdb import DuckDbSql
from threadline.store.tables import events
from threadline.timestamps import DAY_US

TABLE = SEARCHES.name
_DDL = ", ".join(f"{column.name} {column.type}" for column in SEARCHES.columns)
_DIALECT = Dialect()
# The people a sync touched and when, then the span of each one's searches marked again.
_TOUCHED = "search_touched"
_TOUCHED_DDL = "project_id VARCHAR, who VARCHAR, t BIGINT"
_ZONE = Table(
    "search_zone",
    MetaData(),
    Column("project_id", String),
    Column("who", String),
    Column("low", BigInteger),
    Column("high", BigInteger),
)
_REDONE = "search_redone"
# Search events a build marks in one statement, at most (unless one day has more): the window
# over them is held in DuckDB's memory whole.
PART_ROWS = 1_000_000


def _render(statement: ClauseElement) -> str:
    """DuckDB SQL for a statement built on query.searches, its constants inlined (the sync's
    own parameters, if any, are `?` in a _sql_condition)."""
    return str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _sql_condition(where: str) -> ColumnElement[bool]:
    """A condition of the sync's own (rollups' `where`), parameters as `?`."""
    return literal_column(f"({where})", Boolean())


def _rows(
    shredded: Shredded,
    *conditions: ColumnElement[bool],
    within: tuple[int | None, int | None] = (None, None),
) -> tuple[Select[Any], ...]:
    """SEARCHES' rows of the events matching `conditions`: its searches marked among
    themselves (right for a whole table; a sync marks again), and its clicks. `within`: only
    the rows at or after its first time and before its second (None: no bound), the searches
    marked from those within FOLD_WINDOW_US more on each side (a build's part)."""
    low, high = within
    wider = [*conditions, *_between(events.c.created_at, low, high, FOLD_WINDOW_US)]
    marks = fold_marks(typed_searches(DuckDbSql(shredded), *wider).subquery("typed"))
    marked = marks.subquery("marks")
    known = marked.c.who.is_not(None)
    searches = select(
        marked.c.project_id,
        marked.c.seq,
        marked.c.text,
        marked.c.at,
        marked.c.who,
        false(),
        case((known, marked.c.typed_on_at)),
        case((known, marked.c.erased_at)),
    ).where(*_between(marked.c.at, low, high))
    clicks = select(
        events.c.project_id,
        events.c.seq,
        events.c.search_query,
        events.c.created_at,
        null(),
        true(),
        null(),
        null(),
    ).where(
        events.c.entity_type == "search",
        *conditions,
        *_between(events.c.created_at, low, high),
        is_click(),
    )
    return searches, clicks


def _between(
    at: ColumnElement[Any], low: int | None, high: int | None, margin: int = 0
) -> list[ColumnElement[bool]]:
    """`at` in [low - margin, high + margin), each bound where given."""
    found = []
    if low is not None:
        found.append(at >= low - margin)
    if high is not None:
        found.append(at < high + margin)
    return found


def _cuts(cursor: duckdb.DuckDBPyConnection, part_rows: int) -> list[int]:
    """Times (day starts) cutting the copy's search events into parts of about part_rows
    each, whole days, in time order; none when they fit in one."""
    days = cursor.execute(
        f"SELECT created_at // {DAY_US} * {DAY_US} AS day, count(*) FROM events "
        "WHERE entity_type = 'search' GROUP BY ALL ORDER BY day"
    ).fetchall()
    cuts: list[int] = []
    taken = 0
    for day, count in days:
        if taken and taken + count > part_rows:
            cuts.append(int(day))
            taken = 0
        taken += int(count)
    return cuts


def _marked_again() -> str:
    """The statement marking again the searches of the people in _ZONE (a span each), from
    their searches within a window more on each side; $low and $high bound them all."""
    kept, zone = SEARCHES.c, _ZONE.c
    near = (
        select(
            kept.project_id,
            kept.seq,
            kept.search_query.label("text"),
            kept.created_at.label("at"),
            kept.who,
        )
        .join(
            _ZONE,
            and_(
                zone.project_id == kept.project_id,
                zone.who == kept.who,
                kept.created_at >= zone.low - FOLD_WINDOW_US,
                kept.created_at <= zone.high + FOLD_WINDOW_US,
            ),
        )
        # Bounds on created_at alone too: DuckDB skips the row groups outside them.
        .where(
            kept.click.is_(False),
            kept.created_at >= literal_column("$low"),
            kept.created_at <= literal_column("$high"),
        )
        .subquery("typed")
    )
    marks = fold_marks(near).subquery("marks")
    redone = select(marks.c.seq, marks.c.typed_on_at, marks.c.erased_at).join(
        _ZONE,
        and_(
            zone.project_id == marks.c.project_id,
            zone.who == marks.c.who,
            marks.c.at >= zone.low,
            marks.c.at <= zone.high,
        ),
    )
    return f"CREATE OR REPLACE TEMP TABLE {_REDONE} AS {_render(redone)}"


_MARK_AGAIN = _marked_again()
# Where a sync's own condition goes in the statements rendered once per copy.
_WHERE = "__sync_where__"


class KeptSearches:
    """The sync thread's side: build, before_delete, take_in (in the sync's transaction)."""

    def __init__(self) -> None:
        # The statements adding a sync's rows, rendered once per set of shredded columns
        # (rendering them each time took ~6 ms of a sync).
        self._inserts: tuple[str, tuple[str, ...]] = ("", ())

    def build(
        self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded, part_rows: int = PART_ROWS
    ) -> None:
        """Every search and click of the copy, in time order (DuckDB then skips whole row
        groups outside a range), marked part by part: whole days of about part_rows search
        events, each part's searches marked from those within a window around it (the same
        marks as over all searches at once, which ran out of DuckDB's memory limit at 50M
        events: docs/performance.md, issue 15 session 6)."""
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(f"CREATE TABLE {TABLE} ({_DDL})")
        cuts = _cuts(cursor, part_rows)
        for low, high in zip([None, *cuts], [*cuts, None], strict=True):
            searches, clicks = _rows(shredded, within=(low, high))
            cursor.execute(
                f"INSERT INTO {TABLE} SELECT * FROM ({_render(searches)} UNION ALL "
                f"{_render(clicks)}) ORDER BY 4"
            )

    def before_delete(self, cursor: duckdb.DuckDBPyConnection, seqs: list[int]) -> None:
        """Notes who searched in the events about to be deleted, and when (for take_in, in the
        same transaction)."""
        if seqs:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_TOUCHED} ({_TOUCHED_DDL})")
            cursor.execute(
                f"INSERT INTO {_TOUCHED} SELECT project_id, who, created_at FROM {TABLE} "
                "WHERE who IS NOT NULL AND seq IN (SELECT unnest(?::BIGINT[]))",
                [seqs],
            )

    def take_in(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        inserted: tuple[str, list[Any]] | None,
        deleted: list[int],
    ) -> None:
        """Takes out the events deleted (`deleted`: their seqs), adds those just inserted
        (`inserted`: SQL naming them and its parameters), and marks again the searches near
        either."""
        if deleted:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE seq IN (SELECT unnest(?::BIGINT[]))", [deleted]
            )
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_TOUCHED} ({_TOUCHED_DDL})")
        if inserted is not None:
            where, parameters = inserted
            for statement in self._inserting(shredded):
                cursor.execute(statement.replace(_WHERE, where), parameters)
            cursor.execute(
                f"INSERT INTO {_TOUCHED} SELECT project_id, who, created_at FROM {TABLE} "
                f"WHERE who IS NOT NULL AND {where}",
                parameters,
            )
        bounds = cursor.execute(f"SELECT min(t), max(t) FROM {_TOUCHED}").fetchone()
        if bounds is not None and bounds[0] is not None:
            self._mark_again(cursor, int(bounds[0]), int(bounds[1]))
        cursor.execute(f"DROP TABLE {_TOUCHED}")

    def _inserting(self, shredded: Shredded) -> tuple[str, ...]:
        key = shredded.encode()
        if self._inserts[0] != key:
            rows = _rows(shredded, _sql_condition(_WHERE))
            self._inserts = (key, tuple(f"INSERT INTO {TABLE} {_render(r)}" for r in rows))
        return self._inserts[1]

    @staticmethod
    def _mark_again(cursor: duckdb.DuckDBPyConnection, first: int, last: int) -> None:
        """Marks again the touched people's searches within a window of their touched times
        (first to last: the earliest and latest of them all)."""
        cursor.execute(
            f"CREATE OR REPLACE TEMP TABLE {_ZONE.name} AS SELECT project_id, who, "
            f"min(t) - {FOLD_WINDOW_US} AS low, max(t) + {FOLD_WINDOW_US} AS high "
            f"FROM {_TOUCHED} GROUP BY ALL"
        )
        window = 2 * FOLD_WINDOW_US
        cursor.execute(_MARK_AGAIN, {"low": first - window, "high": last + window})
        # The marked searches are within a window of the touched times: bounds on created_at
        # let DuckDB skip the other row groups rather than join every search of the copy.
        cursor.execute(
            f"UPDATE {TABLE} SET typed_on_at = r.typed_on_at, erased_at = r.erased_at "
            f"FROM {_REDONE} r WHERE {TABLE}.seq = r.seq AND {TABLE}.created_at "
            f"BETWEEN {first - FOLD_WINDOW_US} AND {last + FOLD_WINDOW_US}"
        )
        for name in (_REDONE, _ZONE.name):
            cursor.execute(f"DROP TABLE {name}")
