"""The marks that fold keystrokes into searches (store.searches.SEARCH_FOLDS), kept in the
columnar copy at sync time so the search statistics read a mark instead of windowing every
search of their range.

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
    String,
    Table,
    and_,
    literal_column,
    select,
)

from threadline.analytics.shred import Shredded
from threadline.query.sql_duckdb import DuckDbSql
from threadline.store.searches import FOLD_WINDOW_US, SEARCH_FOLDS, fold_marks, typed_searches
from threadline.store.tables import events

TABLE = SEARCH_FOLDS.name
_DDL = "project_id VARCHAR, seq BIGINT, typed_on_at BIGINT, erased_at BIGINT"
_DIALECT = Dialect()
# The people a sync touched, and when: their searches within a window of these are marked again.
_TOUCHED = "search_fold_touched"
_TOUCHED_DDL = "project_id VARCHAR, who VARCHAR, searched BIGINT"
_ZONE = Table(
    "search_fold_zone",
    MetaData(),
    Column("project_id", String),
    Column("who", String),
    Column("low", BigInteger),
    Column("high", BigInteger),
)


def _render(statement: ClauseElement) -> str:
    """DuckDB SQL for a statement of store.searches, its constants inlined (the sync's own
    parameters, if any, are `?` in a text() fragment)."""
    return str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _sql_condition(where: str) -> ColumnElement[bool]:
    """A condition of the sync's own (rollups' `where`), parameters as `?`."""
    return literal_column(f"({where})", Boolean())


def _kept(marks: Any) -> Any:
    """The marked searches of known people: the rows the table keeps."""
    return and_(
        marks.c.who.is_not(None),
        (marks.c.typed_on_at.is_not(None)) | (marks.c.erased_at.is_not(None)),
    )


class SearchFolds:
    """The sync thread's side: build, before_delete, take_in (in the sync's transaction)."""

    def __init__(self) -> None:
        # (project_id, who, at) of searches about to be deleted by the current sync.
        self._deleted: list[tuple[str, str, int]] = []

    def build(self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
        """Marks every search in the copy anew."""
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(f"CREATE TABLE {TABLE} ({_DDL})")
        marks = fold_marks(typed_searches(DuckDbSql(shredded)).subquery("typed")).subquery()
        cursor.execute(f"INSERT INTO {TABLE} {_render(_columns(marks).where(_kept(marks)))}")
        self._deleted = []

    def before_delete(
        self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded, seqs: list[int]
    ) -> None:
        """Notes who searched in the events about to be deleted, and when."""
        if not seqs:
            return
        typed = typed_searches(
            DuckDbSql(shredded), _sql_condition("seq IN (SELECT unnest(?::BIGINT[]))")
        ).subquery()
        statement = _touched(typed)
        rows = cursor.execute(_render(statement), [seqs]).fetchall()
        self._deleted += [(project_id, who, int(at)) for project_id, who, at in rows]

    def take_in(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        inserted: tuple[str, list[Any]] | None,
        deleted: list[int],
    ) -> None:
        """Marks again the searches near the ones just inserted (`inserted`: SQL naming them
        and its parameters) and deleted (`deleted`: their seqs)."""
        touched_deleted, self._deleted = self._deleted, []
        if deleted:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE seq IN (SELECT unnest(?::BIGINT[]))", [deleted]
            )
        sql = DuckDbSql(shredded)
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE {_TOUCHED} ({_TOUCHED_DDL})")
        if inserted is not None:
            where, parameters = inserted
            typed = typed_searches(sql, _sql_condition(where)).subquery()
            cursor.execute(f"INSERT INTO {_TOUCHED} {_render(_touched(typed))}", parameters)
        if touched_deleted:
            cursor.executemany(
                f"INSERT INTO {_TOUCHED} VALUES (?, ?, ?)", [list(t) for t in touched_deleted]
            )
        found = cursor.execute(f"SELECT min(searched), max(searched) FROM {_TOUCHED}").fetchone()
        if found is not None and found[0] is not None:
            self._mark_again(cursor, sql, int(found[0]), int(found[1]))
        cursor.execute(f"DROP TABLE {_TOUCHED}")

    def discard(self) -> None:
        self._deleted = []

    @staticmethod
    def _mark_again(cursor: duckdb.DuckDBPyConnection, sql: DuckDbSql, low: int, high: int) -> None:
        """Replaces the marks of the touched people's searches within a window of their touched
        times, windowing over their searches within two windows."""
        window = FOLD_WINDOW_US
        cursor.execute(
            f"CREATE OR REPLACE TEMP TABLE {_ZONE.name} AS SELECT project_id, who, "
            f"min(searched) - {window} AS low, max(searched) + {window} AS high "
            f"FROM {_TOUCHED} GROUP BY ALL"
        )
        zone = _ZONE.c
        # The bounds on created_at alone first: DuckDB skips row groups outside them.
        near = typed_searches(
            sql,
            events.c.created_at >= low - 2 * window,
            events.c.created_at <= high + 2 * window,
        ).subquery("near_all")
        around = (
            near.select()
            .join(
                _ZONE,
                and_(
                    zone.project_id == near.c.project_id,
                    zone.who == near.c.who,
                    near.c.at >= zone.low - window,
                    near.c.at <= zone.high + window,
                ),
            )
            .with_only_columns(*near.c)
            .subquery("typed")
        )
        marks = fold_marks(around).subquery("marks")
        redone = (
            _columns(marks)
            .add_columns(marks.c.who)
            .join(
                _ZONE,
                and_(
                    zone.project_id == marks.c.project_id,
                    zone.who == marks.c.who,
                    marks.c.at >= zone.low,
                    marks.c.at <= zone.high,
                ),
            )
        )
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE search_fold_redone AS {_render(redone)}")
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq IN (SELECT seq FROM search_fold_redone)")
        cursor.execute(
            f"INSERT INTO {TABLE} SELECT project_id, seq, typed_on_at, erased_at "
            "FROM search_fold_redone WHERE typed_on_at IS NOT NULL OR erased_at IS NOT NULL"
        )
        cursor.execute("DROP TABLE search_fold_redone")
        cursor.execute(f"DROP TABLE {_ZONE.name}")


def _columns(marks: Any) -> Any:
    return select(marks.c.project_id, marks.c.seq, marks.c.typed_on_at, marks.c.erased_at)


def _touched(typed: Any) -> Any:
    return select(typed.c.project_id, typed.c.who, typed.c.at).where(typed.c.who.is_not(None))
