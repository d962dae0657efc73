"""Rollups kept in the columnar copy at sync time, in the same DuckDB transactions as the rows
they sum, so distinct users and event counts over days and ranges need not scan every event.

- UserDays: for each (project, entity type, UTC day), how many events and the exact set of
  users (userProperties.userId) they name, as a roaring bitmap of integer codes. Distinct users
  per day, week, month or range are unions of these sets (query.rollup), exact. The codes come
  from a dictionary table (user id text -> integer, one code per distinct text, so counting
  codes counts what `count(DISTINCT json_extract_string(...))` counts). A day that lost an
  event (erasure, retention) is summed again from the copy's rows: a set cannot forget a user
  without knowing whether another event of that day still names them. Readers use an
  in-memory copy of the sets, replaced whole after each commit, so none sees half a sync.
- CountDeltas: events per (project, quarter hour, entity type, type, integration), as signed
  deltas (a deleted event adds a -1 row), compacted now and then. Grouped counts and the
  dashboard's per-quarter-hour series read it instead of the events (query.rollup). A second
  one per UTC day keeps the search query as well (query.counts.SEARCH_COUNTS), a third each
  user's events for all time (query.counts.user_counts_table), and two more per (project,
  quarter hour) alone: all events (EVENT_TOTALS) and messages (MESSAGE_COUNTS, the overview's
  series; messages are followed through their deletes and re-inserts as the copy applies them).
- KeptSearches (analytics.searches): the searches and clicks, each search with its person and
  whether a neighbour of the same person folds it, so the search statistics read those rows
  and need no window over every search (query.searches).
- SearcherDays: UserDays' sets for the kept searches: per (project, UTC day), how many searches
  and the exact set of people who made them (their `who`, coded in the same dictionary), so
  searching users per week are unions of a few sets (query.searchers), not a distinct count
  over every search of the range.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import Any

import duckdb
from pyroaring import FrozenBitMap
from sqlalchemy import Table

from threadline.analytics.searches import TABLE as SEARCHES_TABLE
from threadline.analytics.searches import KeptSearches
from threadline.analytics.shred import Shredded
from threadline.query.counts import (
    ALL_TIME,
    EVENT_COUNTS,
    EVENT_TOTALS,
    MESSAGE_COUNTS,
    QUARTER_US,
    SEARCH_COUNTS,
    USER_KEY,
    user_counts_table,
)
from threadline.store.tables import events
from threadline.timestamps import DAY_US

CODES_TABLE = "rollup_user_codes"
_CODES_DDL = "user_id VARCHAR, code INTEGER"
# The sets' tables: (project, kind, day) -> how many rows, and the set of their people's codes.
_DAYS_DDL = "project_id VARCHAR, entity_type VARCHAR, day BIGINT, events BIGINT, users BLOB"
USER_DAYS_TABLE = "rollup_user_days"
SEARCHER_DAYS_TABLE = "rollup_searcher_days"
# A sync's people and their codes (code_people), temp tables of the sync's transaction.
_PEOPLE = "day_set_people"
_CODED = "day_set_codes"
# The count rollups' tables are declared in query.counts (EVENT_COUNTS and EVENT_TOTALS per
# quarter hour, SEARCH_COUNTS per UTC day, MESSAGE_COUNTS): the columns each keeps of the table
# it counts, under the same names, with created_at its period's start and its last column how
# many rows (negative: deleted since).
COUNTS_TABLE = EVENT_COUNTS.name
SEARCH_COUNTS_TABLE = SEARCH_COUNTS.name
USER_COUNTS_TABLE = user_counts_table("kind", "text").name

# The UTC day of created_at, rounded down before 1970 too (DuckDB's // rounds toward zero),
# as query.rollup and query.searchers bucket days with Python's //.
_DAY = f"created_at - (created_at % {DAY_US} + {DAY_US}) % {DAY_US}"
# (project_id, kind: the entity type, '' for searches) -> {day start (µs): (rows, people)}
Days = dict[tuple[str, str], dict[int, tuple[int, FrozenBitMap]]]
# (project_id, day start) of a day whose sets must be summed again from the copy's rows
DayKey = tuple[str, int]


def _user_text(shredded: Shredded, table: str = "") -> str:
    """SQL for the text count(DISTINCT ...) counts: the shredded column when there is one
    (it holds exactly what json_extract_string returns: analytics.shred), else the document."""
    prefix = f"{table}." if table else ""
    found = shredded.lookup(events.c.user_properties, USER_KEY)
    if found is not None:
        return f"{prefix}{found[0].name}"
    return f"json_extract_string({prefix}user_properties, '/{USER_KEY}')"


def _within_day(day: int) -> str:
    """A project's rows of one UTC day (its parameter: the project)."""
    return f"project_id = ? AND created_at >= {day} AND created_at < {day + DAY_US}"


def code_people(cursor: duckdb.DuckDBPyConnection, sources: list[tuple[str, list[Any]]]) -> None:
    """Gives every person of the rows `sources` name (SQL with a `person` column, and its
    parameters) who has no code one of their own, and leaves the codes of them all in the
    temp table _CODED for the sets' sums. The dictionary is read once, here: joining it in
    each statement read all its texts each time (~5-10 ms a statement at 10M, ~196,000
    codes), four times a sync with the searcher sets."""
    if not sources:
        return
    rows = " UNION ALL ".join(f"SELECT person FROM ({sql})" for sql, _ in sources)
    parameters = [value for _, values in sources for value in values]
    cursor.execute(
        f"CREATE OR REPLACE TEMP TABLE {_PEOPLE} AS "
        f"SELECT DISTINCT person FROM ({rows}) WHERE person IS NOT NULL",
        parameters,
    )
    cursor.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CODED} AS SELECT user_id AS person, code "
        f"FROM {CODES_TABLE} WHERE user_id IN (SELECT person FROM {_PEOPLE})"
    )
    top = cursor.execute(f"SELECT coalesce(max(code), -1) FROM {CODES_TABLE}").fetchone()
    start = int(top[0]) if top else -1
    cursor.execute(
        f"INSERT INTO {_CODED} SELECT person, {start} + row_number() OVER (ORDER BY person) "
        f"FROM {_PEOPLE} p WHERE NOT EXISTS (SELECT 1 FROM {_CODED} c WHERE c.person = p.person)"
    )
    cursor.execute(
        f"INSERT INTO {CODES_TABLE} SELECT person, code FROM {_CODED} WHERE code > {start}"
    )
    cursor.execute(f"DROP TABLE {_PEOPLE}")


class DaySets(abc.ABC):
    """Per-day sets of people (see the module docstring): what they count is `_rows`."""

    table = ""  # where the sets are kept with the copy

    def __init__(self) -> None:
        self._days: Days = {}  # what readers see: replaced whole, never changed in place
        self._staged: Days | None = None
        self.answered = 0  # queries answered from the rollup (tests, /metrics-style counts)

    @abc.abstractmethod
    def _rows(self, shredded: Shredded, where: str) -> str:
        """SQL of the rows counted, those matching `where`: (project_id, kind, day, person)."""

    # -- the sync thread ----------------------------------------------------------------------

    def build(self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
        """Makes the sets anew from every row in the copy (inside the caller's transaction;
        publish() after its commit)."""
        cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        cursor.execute(f"CREATE TABLE {self.table} ({_DAYS_DDL})")
        self._days = {}
        code_people(cursor, [(self._rows(shredded, "true"), [])])
        self._staged = self._add(cursor, shredded, {}, "true", [])
        cursor.execute(f"DROP TABLE {_CODED}")  # every person's code: not kept in memory

    def load(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Reads the sets a copy kept on disk."""
        days: Days = {}
        rows = cursor.execute(
            f"SELECT project_id, entity_type, day, events, users FROM {self.table}"
        ).fetchall()
        for project_id, entity_type, day, count, users in rows:
            days.setdefault((project_id, entity_type), {})[day] = (
                count,
                FrozenBitMap.deserialize(users),
            )
        self._days = days
        self._staged = None

    @staticmethod
    def before_delete(cursor: duckdb.DuckDBPyConnection, seqs: list[int]) -> set[DayKey]:
        """The days of events about to be deleted from the copy (they are summed again)."""
        if not seqs:
            return set()
        rows = cursor.execute(
            f"SELECT DISTINCT project_id, {_DAY} FROM events "
            "WHERE seq IN (SELECT unnest(?::BIGINT[]))",
            [seqs],
        ).fetchall()
        return {(project_id, int(day)) for project_id, day in rows}

    def take_in(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        inserted: tuple[str, list[Any]] | None,
        deleted_days: set[DayKey],
    ) -> None:
        """Adds the rows just inserted into the copy (`inserted`: SQL naming their seqs, and its
        parameters), and sums again the days that lost events; staged for publish(). After
        code_people over its sources()."""
        base = self._staged if self._staged is not None else self._days
        if inserted is None and not deleted_days:
            return
        if inserted is not None:
            staged = self._add(cursor, shredded, base, *inserted)
        else:
            staged = dict(base)
        for project_id, day in sorted(deleted_days):
            self._resum(cursor, shredded, staged, project_id, day)
        self._staged = staged

    def sources(
        self,
        shredded: Shredded,
        inserted: tuple[str, list[Any]] | None,
        deleted_days: set[DayKey],
    ) -> list[tuple[str, list[Any]]]:
        """The rows take_in reads, as SQL and parameters each: code_people first codes them."""
        found = [] if inserted is None else [(self._rows(shredded, inserted[0]), inserted[1])]
        for project_id, day in sorted(deleted_days):
            found.append((self._rows(shredded, _within_day(day)), [project_id]))
        return found

    def publish(self) -> None:
        """The staged rollup is committed: readers see it from now on."""
        if self._staged is not None:
            self._days, self._staged = self._staged, None

    def discard(self) -> None:
        self._staged = None

    def _add(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        base: Days,
        where: str,
        parameters: list[Any],
    ) -> Days:
        """base plus the rows matching `where`; the changed days are written to the table."""
        days: Days = {key: dict(by_day) for key, by_day in base.items()}
        changed: list[tuple[str, str, int]] = []
        for project_id, entity_type, day, count, codes in self._sums(
            cursor, shredded, where, parameters
        ):
            by_day = days.setdefault((project_id, entity_type), {})
            before_count, before_users = by_day.get(day, (0, FrozenBitMap()))
            by_day[day] = (before_count + count, before_users | FrozenBitMap(codes))
            changed.append((project_id, entity_type, day))
        self._write(cursor, days, changed)
        return days

    def _resum(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        days: Days,
        project_id: str,
        day: int,
    ) -> None:
        """Replaces a day's sums of one project with those of the rows the copy holds now."""
        changed = []
        for (project, entity_type), by_day in days.items():
            if project == project_id and day in by_day:
                days[(project, entity_type)] = {d: v for d, v in by_day.items() if d != day}
                changed.append((project_id, entity_type, day))
        where = _within_day(day)
        for _, entity_type, _, count, codes in self._sums(cursor, shredded, where, [project_id]):
            days.setdefault((project_id, entity_type), {})[day] = (count, FrozenBitMap(codes))
            changed.append((project_id, entity_type, day))
        self._write(cursor, days, changed)

    def _sums(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        where: str,
        parameters: list[Any],
    ) -> Iterator[tuple[str, str, int, int, list[int]]]:
        """(project, kind, day, rows, people's codes) of the matching rows, by day, their codes
        from code_people's table. The rows are counted per person first: a code is looked up
        once a person and day, not once a row (and their list needs no DISTINCT)."""
        rows = cursor.execute(
            "SELECT e.project_id, e.kind, e.day, sum(e.n)::BIGINT, "
            "list(c.code) FILTER (WHERE c.code IS NOT NULL) FROM ("
            "  SELECT project_id, kind, day, person, count(*) AS n FROM ("
            f"    {self._rows(shredded, where)}"
            "  ) GROUP BY ALL"
            f") AS e LEFT JOIN {_CODED} c ON c.person = e.person GROUP BY ALL",
            parameters,
        )
        while batch := rows.fetchmany(64):
            for project_id, entity_type, day, count, codes in batch:
                yield project_id, entity_type, int(day), int(count), codes or []

    def _write(
        self,
        cursor: duckdb.DuckDBPyConnection,
        days: Days,
        changed: Iterable[tuple[str, str, int]],
    ) -> None:
        """Writes the changed days' sets, each statement over them all as lists (a statement
        per day took ~0.2 s of a 1M-event build's ~0.5k days)."""
        keys = sorted(set(changed))
        if not keys:
            return
        projects, kinds, starts = (list(column) for column in zip(*keys, strict=True))
        cursor.execute(
            f"DELETE FROM {self.table} USING (SELECT unnest(?::VARCHAR[]) AS project_id, "
            "unnest(?::VARCHAR[]) AS kind, unnest(?::BIGINT[]) AS day) AS gone "
            f"WHERE {self.table}.project_id = gone.project_id "
            f"AND {self.table}.entity_type = gone.kind AND {self.table}.day = gone.day",
            [projects, kinds, starts],
        )
        rows = []
        for project_id, entity_type, day in keys:
            found = days.get((project_id, entity_type), {}).get(day)
            if found is not None:
                rows.append((project_id, entity_type, day, found[0], found[1].serialize()))
        if rows:
            cursor.execute(
                f"INSERT INTO {self.table} SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                "unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BLOB[])",
                [list(column) for column in zip(*rows, strict=True)],
            )

    # -- readers ------------------------------------------------------------------------------

    def days(
        self, project_id: str, entity_types: frozenset[str] | None, start: int, end: int
    ) -> dict[int, tuple[int, FrozenBitMap]]:
        """{day: (events, users)} of the project's days in [start, end) (µs, whole UTC days),
        over the given entity types (None: all of them); days without events are left out."""
        snapshot = self._days
        self.answered += 1
        merged: dict[int, tuple[int, list[FrozenBitMap]]] = {}
        for (project, entity_type), by_day in snapshot.items():
            if project != project_id or (
                entity_types is not None and entity_type not in entity_types
            ):
                continue
            for day, (count, users) in by_day.items():
                if start <= day < end:
                    total, sets = merged.setdefault(day, (0, []))
                    sets.append(users)
                    merged[day] = (total + count, sets)
        return {
            day: (count, sets[0] if len(sets) == 1 else FrozenBitMap.union(*sets))
            for day, (count, sets) in merged.items()
        }


class UserDays(DaySets):
    """Events per (project, entity type, UTC day) and the users they name."""

    table = USER_DAYS_TABLE

    def build(self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
        """The code dictionary anew too: these sets are built first (Rollups.build)."""
        cursor.execute(f"DROP TABLE IF EXISTS {CODES_TABLE}")
        cursor.execute(f"CREATE TABLE {CODES_TABLE} ({_CODES_DDL})")
        super().build(cursor, shredded)

    def _rows(self, shredded: Shredded, where: str) -> str:
        return (
            f"SELECT project_id, entity_type AS kind, {_DAY} AS day, "
            f"{_user_text(shredded)} AS person FROM events WHERE {where}"
        )


class SearcherDays(DaySets):
    """Searches per (project, UTC day) and the people who made them: the kept searches'
    (analytics.searches) rows that are no click, by `who` (one kind, '')."""

    table = SEARCHER_DAYS_TABLE

    def _rows(self, shredded: Shredded, where: str) -> str:
        return (
            f"SELECT project_id, '' AS kind, {_DAY} AS day, who AS person "
            f"FROM {SEARCHES_TABLE} WHERE NOT click AND ({where})"
        )


class CountDeltas:
    """Rows of the copied table `source` per (period of created_at, and the columns of `table`
    it keeps), kept as signed deltas (a deleted row adds a -1 row) and compacted when the deltas
    outgrow the table."""

    def __init__(
        self,
        table: Table,
        period: int,
        source: str = "events",
        *,
        finer: CountDeltas | None = None,
    ) -> None:
        self.table = table.name
        self.period = period
        self.source = source
        # A rollup of the same source keeping these columns and more, per the same period or a
        # divisor of it, built first: a build sums its rows instead of scanning the source.
        self.finer = finer
        # How many, the table's last column; the source's columns it keeps, all the others
        # but the period's start.
        self.count = list(table.columns)[-1].name
        kept = [c.name for c in table.columns if c.name not in ("created_at", self.count)]
        self.kept = ", ".join(kept)
        # Delta rows appended since the table was last compacted, and the size then.
        self.appended = 0
        self.compacted_size = 0

    def build(self, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        if self.finer is None:
            cursor.execute(f"CREATE TABLE {self.table} AS {self._sums('true')}")
        else:  # just built, so one row per key: its sums are the source's counts
            period = f"created_at // {self.period} * {self.period}"
            cursor.execute(
                f"CREATE TABLE {self.table} AS SELECT {self.kept}, {period} AS created_at, "
                f"sum({self.finer.count})::BIGINT AS {self.count} FROM {self.finer.table} "
                f"GROUP BY {self.kept}, {period}"
            )
        found = cursor.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        self.compacted_size, self.appended = (int(found[0]) if found else 0), 0

    def add(
        self, cursor: duckdb.DuckDBPyConnection, where: str, parameters: list[Any], sign: int = 1
    ) -> None:
        """Counts the rows matching `where` (sign -1: rows about to be deleted)."""
        found = cursor.execute(
            f"INSERT INTO {self.table} {self._sums(where, sign)}", parameters
        ).fetchone()
        self.appended += int(found[0]) if found else 0
        if self.appended > max(10_000, self.compacted_size):
            self.compact(cursor)

    def compact(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """One row per key again, and none for keys whose rows were all deleted."""
        cursor.execute(
            f"CREATE OR REPLACE TABLE {self.table} AS SELECT {self.kept}, created_at, "
            f"sum({self.count})::BIGINT AS {self.count} FROM {self.table} "
            f"GROUP BY {self.kept}, created_at HAVING sum({self.count}) <> 0"
        )
        found = cursor.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        self.compacted_size, self.appended = (int(found[0]) if found else 0), 0

    def _sums(self, where: str, sign: int = 1) -> str:
        period = f"created_at // {self.period} * {self.period}"
        return (
            f"SELECT {self.kept}, {period} AS created_at, "
            f"({sign} * count(*))::BIGINT AS {self.count} FROM {self.source} WHERE {where} "
            f"GROUP BY {self.kept}, {period}"
        )


class Rollups:
    """Every rollup of one columnar copy. The sync thread calls build or open, then per sync
    before_delete, take_in and (after its commit) publish; readers call days()."""

    def __init__(self) -> None:
        self.users = UserDays()
        self.searchers = SearcherDays()
        self.counts = CountDeltas(EVENT_COUNTS, QUARTER_US)
        self.totals = CountDeltas(EVENT_TOTALS, QUARTER_US, finer=self.counts)
        self.search_counts = CountDeltas(SEARCH_COUNTS, DAY_US)
        self.user_counts: CountDeltas | None = None  # when the copy shredded userProperties.userId
        self.messages = CountDeltas(MESSAGE_COUNTS, QUARTER_US, source="messages")
        self.searches = KeptSearches()

    def _all_counts(self, shredded: Shredded) -> list[CountDeltas]:
        """The count rollups this copy keeps (each user's counts need the shredded userId)."""
        found = shredded.lookup(events.c.user_properties, USER_KEY)
        self.user_counts = None
        if found is not None:  # its columns are named after the copy's shredded ones
            self.user_counts = CountDeltas(
                user_counts_table(found[1].name, found[0].name), ALL_TIME
            )
        return [*self._counted(), self.messages]

    @property
    def answered(self) -> int:
        return self.users.answered

    def days(
        self, project_id: str, entity_types: frozenset[str] | None, start: int, end: int
    ) -> dict[int, tuple[int, FrozenBitMap]]:
        return self.users.days(project_id, entity_types, start, end)

    def searcher_days(
        self, project_id: str, start: int, end: int
    ) -> dict[int, tuple[int, FrozenBitMap]]:
        """{day: (searches, people)} of the project's days in [start, end) with a search."""
        return self.searchers.days(project_id, None, start, end)

    def build(self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
        """Makes every rollup anew (inside the caller's transaction)."""
        self.users.build(cursor, shredded)
        cursor.execute(f"DROP TABLE IF EXISTS {USER_COUNTS_TABLE}")
        for counts in self._all_counts(shredded):
            counts.build(cursor)
        self.searches.build(cursor, shredded)
        self.searchers.build(cursor, shredded)  # from the kept searches: after them

    def open(self, cursor: duckdb.DuckDBPyConnection, shredded: Shredded) -> None:
        """Reads the rollups a copy kept on disk, or builds them if the copy has none yet."""
        present = {
            row[0]
            for row in cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'rollup_%'"
            ).fetchall()
        }
        # A copy made before a rollup was added gets them all anew.
        counted = {counts.table for counts in self._all_counts(shredded)}
        kept = {CODES_TABLE, USER_DAYS_TABLE, SEARCHER_DAYS_TABLE, SEARCHES_TABLE}
        if present != {*kept, *counted}:
            cursor.begin()
            self.build(cursor, shredded)
            cursor.commit()
            self.publish()
            return
        self.users.load(cursor)
        self.searchers.load(cursor)

    def before_delete(self, cursor: duckdb.DuckDBPyConnection, seqs: list[int]) -> set[DayKey]:
        """Takes out of the rollups the events about to be deleted from the copy; returns the
        days take_in must sum again."""
        if not seqs:
            return set()
        for counts in self._counted():
            counts.add(cursor, "seq IN (SELECT unnest(?::BIGINT[]))", [seqs], sign=-1)
        self.searches.before_delete(cursor, seqs)
        return self.users.before_delete(cursor, seqs)

    def take_in(
        self,
        cursor: duckdb.DuckDBPyConnection,
        shredded: Shredded,
        inserted: list[int],
        deleted_days: set[DayKey],
        deleted: list[int] | None = None,
    ) -> None:
        """Adds the events just inserted into the copy (their seqs), after those `deleted`."""
        named = None
        if inserted:
            low, high = min(inserted), max(inserted)
            where = f"seq BETWEEN {low} AND {high}"
            parameters: list[Any] = []
            if high - low + 1 != len(inserted):  # not one run of seqs: name them
                where += " AND seq IN (SELECT unnest(?::BIGINT[]))"
                parameters = [inserted]
            named = (where, parameters)
            for counts in self._counted():
                counts.add(cursor, where, parameters)
        # The searcher sets read the kept searches as just changed; both sets' people are
        # coded in one pass. A day that lost any event is summed again in both.
        self.searches.take_in(cursor, shredded, named, deleted or [])
        sets = (self.users, self.searchers)
        code_people(
            cursor, [found for s in sets for found in s.sources(shredded, named, deleted_days)]
        )
        for day_sets in sets:
            day_sets.take_in(cursor, shredded, named, deleted_days)
        cursor.execute(f"DROP TABLE IF EXISTS {_CODED}")

    def rows_changing(
        self, cursor: duckdb.DuckDBPyConnection, table: str, seqs: list[int], sign: int
    ) -> None:
        """Rows of a changing table about to be deleted from the copy (sign -1) or just
        inserted into it (+1): an update is both. Only messages are counted."""
        if table == "messages" and seqs:
            self.messages.add(cursor, "seq IN (SELECT unnest(?::BIGINT[]))", [seqs], sign)

    def _counted(self) -> list[CountDeltas]:
        """The count rollups of events."""
        users = [] if self.user_counts is None else [self.user_counts]
        return [self.counts, self.totals, self.search_counts, *users]

    def publish(self) -> None:
        self.users.publish()
        self.searchers.publish()

    def discard(self) -> None:
        self.users.discard()
        self.searchers.discard()
