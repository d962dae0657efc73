"""ColumnarCopy: a DuckDB copy of the analytic tables, followed from the primary store by one
background thread, and the SQLAlchemy engine analytic reads run on.

Following: events are never updated, so new ones are those past the last `seq` copied; their
deletes (erasure, retention) are logged in `changes` (migration 0011) and applied.
Conversations, messages and feedback are also updated and deleted; triggers log every such row
in `changes` (migration 0004), and each row named there is fetched again from the primary (or
deleted from the copy if it is gone); a sync commits rows and cursors in one DuckDB
transaction, and none at all when it found nothing.

When: this process's writer wakes the copy after each commit (poke), at most one sync per
`interval` seconds while commits keep coming; a reader that needs fresher data asks for one at
once (wait_until); commits of other processes cannot wake it, so it looks for them every `poll`
seconds. An idle server therefore does two indexed reads per `poll` and nothing else (it
polled and committed a DuckDB transaction four times a second before: issue 16).

Freshness: `as_of` is the time.monotonic() at which the last completed sync began reading.
Every write this process committed before then is in the copy (api.reads compares it with
Writer.last_commit_at). Writes of other instances sharing a PostgreSQL database arrive within
`poll` seconds and one sync.

The copy is disposable. It lives in a file (beside a SQLite database; in the state directory
for PostgreSQL: default_path), so a restart does not copy millions of rows again; it is rebuilt
when it was made from another database or with other columns, is ahead of the primary (a
restored backup) or fell behind the changes log's retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import msgspec
from duckdb_engine import ConnectionWrapper
from sqlalchemy import Connection, Engine, create_engine, delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool

from threadline.analytics import build, load
from threadline.analytics.concurrent import WIDTH
from threadline.analytics.in_use import CursorsInUse
from threadline.analytics.rollups import Rollups
from threadline.analytics.schema import CHANGING, COLUMNS, MIRRORED, READ_TYPES, STATE_DDL
from threadline.analytics.shred import Shredded, discover
from threadline.errors import Unavailable
from threadline.store import tables
from threadline.store.deadline import REPEAT_SECONDS, bounded
from threadline.store.engine import is_storage_outage
from threadline.store.follow import Follower
from threadline.store.writer import Writer
from threadline.timestamps import now_us

log = logging.getLogger(__name__)

CHUNK = 50_000  # rows fetched from the primary and written to the copy at a time
_SEQ = list(READ_TYPES["events"]).index("seq")  # in an event row load.fetch returns
# Rows of `changes` older than this are deleted; a copy that was away longer is rebuilt.
CHANGES_RETENTION_US = 24 * 3600 * 1_000_000
# On a fresh build the changes log is replayed from a little before its end, so changes
# committed out of order by other instances while the tables were copied are not missed.
REPLAY_MARGIN = 1_000
# Seconds a read waits for one of the copy's pooled cursors before it is answered 503.
POOL_WAIT_SECONDS = 30.0
# A copy kept from last time is rebuilt when a JSON key without columns of its own is on this
# share of the newest rows (analytics.shred shreds keys from 1%: the gap avoids rebuilding
# over a key that hovers around the threshold).
REBUILD_SHARE = 0.05
_SWEEP_SECONDS = 600.0
# How long stop() interrupts reads, then the sync, before it closes the copy anyway.
STOP_SECONDS = 10.0


class ColumnarCopy:
    def __init__(
        self,
        primary: Engine,
        path: str,
        *,
        interval: float = 0.25,
        poll: float = 0.5,
        memory_limit: str = "1GB",
        threads: int = 2,
        temp_directory: str = "",
        reads: int = 4,
    ) -> None:
        self.primary = primary
        self.path = path
        self.interval = interval
        self.poll = max(poll, interval)
        self.as_of = 0.0  # time.monotonic(); 0.0 until the first build completes
        self.syncs = 0
        self.failures = 0
        self._failing = False  # whether the last sync failed (a failure is logged once)
        self.resumed = False  # whether the copy on disk was followed on from where it stopped
        self._own_temp: str | None = None  # a spill directory made here, removed on stop
        self._database = self._open(
            path, {"memory_limit": memory_limit, "threads": threads}, temp_directory
        )
        # Set by a commit of this process or a reader; _asked by a reader (or stop) alone.
        self._wake = threading.Event()
        self._asked = threading.Event()
        self._stopping = threading.Event()
        self._synced = threading.Condition()
        self._thread: threading.Thread | None = None
        self._events = Follower()
        self._changes = Follower()
        self.shredded = Shredded()
        self.rollups = Rollups()  # per-day user sets, event counts (query.rollup reads them)
        self.engine = create_engine(
            "duckdb://",
            creator=lambda: ConnectionWrapper(self._database.cursor()),
            poolclass=QueuePool,
            # The primary store's decoder (store.engine): JSON columns read alike on both read
            # paths, and 1,000 events' documents decode in a third of json.loads's time.
            json_deserializer=msgspec.json.decode,
            pool_size=4,
            # A read's parts run on cursors of their own (analytics.concurrent): WIDTH for
            # each of the `reads` at once (THREADLINE_MAX_CONCURRENT_QUERIES), or reads that
            # each hold one cursor could all wait for their second one.
            max_overflow=max(16, WIDTH * reads - 4),
            pool_timeout=POOL_WAIT_SECONDS,
        )
        self._in_use = CursorsInUse(self.engine)
        self._sync_cursor: duckdb.DuckDBPyConnection | None = None

    def _open(
        self, path: str, config: dict[str, str | int], temp_directory: str
    ) -> duckdb.DuckDBPyConnection:
        """The DuckDB database, its memory and threads bounded (issue 18: one heavy query must
        not take the machine's memory), spilling to a temp directory past the memory limit."""
        if path != ":memory:":
            try:
                return duckdb.connect(
                    path,
                    config={**config, "temp_directory": temp_directory or f"{path}.tmp"},
                )
            except duckdb.IOException:  # another process holds it (e.g. a second server)
                log.warning("columnar copy %s is in use; keeping this one in memory", path)
        if not temp_directory:
            # DuckDB's default for an in-memory database is ".tmp" in the working directory.
            temp_directory = self._own_temp = tempfile.mkdtemp(prefix="threadline-columnar-")
        return duckdb.connect(":memory:", config={**config, "temp_directory": temp_directory})

    @contextlib.contextmanager
    def reading(self, *, timeout: float, retry_after: int) -> Iterator[Connection]:
        """A connection to the copy for one analytic read, stopped at `timeout` seconds
        (store.deadline). A read that needs more than the memory limit leaves (all reads and the
        sync share it) is a 503: it may pass once fewer run (docs/decisions.md); so is one that
        waited POOL_WAIT_SECONDS for a cursor while every one was in use."""
        if self._stopping.is_set():
            raise Unavailable(
                "threadline is shutting down", retry_after=retry_after, reason="shutting_down"
            )
        try:
            with self.engine.connect() as connection, bounded(connection, timeout):
                yield connection
        except PoolTimeout as exc:
            raise Unavailable(
                "The analytic store is busy; retry shortly.",
                retry_after=retry_after,
                reason="analytics_busy",
            ) from exc
        except DBAPIError as exc:
            if not isinstance(exc.orig, duckdb.OutOfMemoryException):
                raise
            raise Unavailable(
                "The analytic store ran out of memory (THREADLINE_ANALYTICS_MEMORY_LIMIT); "
                "retry shortly.",
                retry_after=retry_after,
                reason="analytics_memory",
            ) from exc

    @property
    def ready(self) -> bool:
        return self.as_of > 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="threadline-columnar", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ends the sync and every read still running (analytics.in_use), then closes."""
        self._stopping.set()
        self._asked.set()
        self._wake.set()
        if not self._in_use.interrupt_until_idle(STOP_SECONDS):
            log.warning("columnar copy: %d reads still running at stop", self._in_use.count)
        if self._thread is not None:
            # A sync ends in milliseconds; a build can take minutes, and is interrupted (its
            # state is saved only at its end, so the next start builds the copy again).
            self._thread.join(timeout=1.0)
            deadline = time.monotonic() + STOP_SECONDS
            while self._thread.is_alive() and time.monotonic() < deadline:
                cursor = self._sync_cursor
                if cursor is not None:
                    with contextlib.suppress(duckdb.Error):
                        cursor.interrupt()
                self._thread.join(timeout=REPEAT_SECONDS)
        self.engine.dispose()
        try:
            self._database.close()
        except duckdb.Error as exc:  # still busy after all: the process exits anyway
            log.warning("columnar copy: not closed cleanly: %s", exc)
        if self._own_temp is not None:
            shutil.rmtree(self._own_temp, ignore_errors=True)

    def wait_until(self, moment: float, timeout: float) -> bool:
        """Whether a sync that began at or after `moment` (time.monotonic()) completed within
        `timeout` seconds; asks for one at once."""
        deadline = time.monotonic() + timeout
        with self._synced:
            while self.as_of < moment:
                self._asked.set()
                self._wake.set()
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.is_set():
                    return False
                self._synced.wait(left)
        return True

    def poke(self, _writes: int = 0, _seconds: float = 0.0) -> None:
        """This process committed: sync soon (a Writer.on_commit listener, on its thread)."""
        self._wake.set()

    # The sync thread.

    def _run(self) -> None:
        cursor = self._sync_cursor = self._database.cursor()
        built = False
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                if not built:
                    self._build(cursor)
                    built = True
                else:
                    self._sync(cursor)
            except Exception as exc:  # the copy only lags; reads fall back to the primary
                if self._stopping.is_set():
                    break  # interrupted by stop()
                self._log_failure(exc)
                self.failures += 1
                with contextlib.suppress(duckdb.Error):
                    cursor.rollback()
                self.rollups.discard()
                built = False  # start again from the cursors the copy committed
                self._stopping.wait(min(5.0, self.interval * 4))
                continue
            self.syncs += 1
            self._failing = False
            with self._synced:
                self.as_of = started
                self._synced.notify_all()
            self._rest(started)
        cursor.close()

    def _rest(self, began: float) -> None:
        """Waits for the next sync's moment: a reader asking, this process's commit (no sooner
        than `interval` after the last sync began, so a sync takes in many commits under
        ingest), or `poll` seconds after the last one, for other processes' commits."""
        woken = self._wake.wait(max(0.0, began + self.poll - time.monotonic()))
        if woken and not self._asked.is_set():
            self._asked.wait(max(0.0, began + self.interval - time.monotonic()))
        # Cleared before the sync begins: a wake after this is seen by it or makes the next.
        self._wake.clear()
        self._asked.clear()

    def _log_failure(self, exc: Exception) -> None:
        if is_storage_outage(exc):
            # Expected while the database is down; /ready already says so. No traceback.
            if not self._failing:
                log.warning("columnar copy: the primary store is unavailable; retrying (%s)", exc)
        else:
            log.exception("columnar copy: sync failed; retrying")
        self._failing = True

    def _build(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Opens the copy kept from last time, or makes a new one, then brings it up to date."""
        cursor.execute(STATE_DDL)
        state = dict(cursor.execute("SELECT name, value FROM columnar_state").fetchall())
        with self.primary.connect() as primary:
            identity = primary.execute(select(tables.store_identity.c.id)).scalar()
            reason = self._stale(primary, state, identity)
            if reason is None:
                self._events = Follower(cursor=int(state["events"]))
                self._changes = Follower(cursor=int(state["changes"]))
                self.resumed = True
                log.info("columnar copy: resuming from %s", self.path)
                self.rollups.open(cursor, self.shredded)
            else:
                log.info("columnar copy: building from the primary store (%s)", reason)
                self.resumed = False
                self._rebuild(cursor, primary, identity)
        self.engine.update_execution_options(
            threadline_shredded=self.shredded, threadline_rollups=self.rollups
        )
        self._sync(cursor)

    def _stale(
        self, primary: Connection, state: dict[str, str], identity: str | None
    ) -> str | None:
        """Why the copy kept on disk cannot be followed from where it stopped (None: it can)."""
        if not {"identity", "events", "changes", "shredded"} <= state.keys():
            return "no copy yet"
        if state.get("columns") != COLUMNS:
            return "made with other columns (a migration since)"
        if state["identity"] != str(identity):
            return "made from another database"
        top_event = primary.execute(select(func.max(tables.events.c.seq))).scalar() or 0
        if int(state["events"]) > top_event:
            return "ahead of the primary store"
        oldest_change, newest_change = primary.execute(
            select(func.min(tables.changes.c.seq), func.max(tables.changes.c.seq))
        ).one()
        if int(state["changes"]) > (newest_change or 0):
            return "ahead of the primary store's changes log"
        if oldest_change is not None and oldest_change > int(state["changes"]) + 1:
            return "away longer than the changes log is kept"
        self.shredded = Shredded.decode(state["shredded"])
        if self.shredded.lacks(discover(primary, min_share=REBUILD_SHARE)):
            return "JSON keys common now have no columns of their own"
        return None

    def _rebuild(
        self, cursor: duckdb.DuckDBPyConnection, primary: Connection, identity: str | None
    ) -> None:
        # Read first: changes after this point are replayed by the first sync.
        changes_top = primary.execute(select(func.max(tables.changes.c.seq))).scalar() or 0
        self.shredded = discover(primary)
        cursor.begin()
        # The build commits as it goes (build.COMMIT_ROWS): with the state of the copy it
        # replaces gone, a build cut short is begun again at the next start, never followed.
        cursor.execute("DELETE FROM columnar_state")
        load.create_tables(cursor, self.shredded)
        self._events = Follower()
        for table in MIRRORED:
            began = time.monotonic()
            # Events are followed by seq alone: the follower learns their gaps as it would
            # in a sync (a seq not yet committed by another instance is asked for again).
            seen = self._saw_events if table is tables.events else None
            copied = build.copy_table(cursor, primary, table, self.shredded, seen=seen)
            log.info(
                "columnar copy: %s, %d rows in %.1f s", table.name, copied, time.monotonic() - began
            )
        self._changes = Follower(cursor=max(0, changes_top - REPLAY_MARGIN))
        self.rollups.build(cursor, self.shredded)
        self._save_state(cursor, identity=str(identity if identity is not None else uuid.uuid4()))
        cursor.commit()
        self.rollups.publish()
        primary.rollback()  # end the read transaction: SQLite would keep its snapshot

    def _saw_events(self, seqs: list[int]) -> None:
        self._events.saw(seqs, time.monotonic())

    def _save_state(self, cursor: duckdb.DuckDBPyConnection, identity: str | None = None) -> None:
        if identity is None:
            # Every sync: the two cursors, whose rows a build or the copy kept on disk has
            # made (_stale requires them). One UPDATE costs a third of INSERT OR REPLACE's
            # delete and insert in the key's index, twice (~1 ms against ~3.5 per sync).
            cursor.execute(
                "UPDATE columnar_state SET value = CASE name WHEN 'events' THEN ? ELSE ? END "
                "WHERE name IN ('events', 'changes')",
                [str(self._events.cursor), str(self._changes.cursor)],
            )
            return
        values = {  # a new copy
            "events": self._events.cursor,
            "changes": self._changes.cursor,
            "identity": identity,
            "shredded": self.shredded.encode(),
            "columns": COLUMNS,
        }
        for name, value in values.items():
            cursor.execute(
                "INSERT OR REPLACE INTO columnar_state VALUES (?, ?)", [name, str(value)]
            )

    def _sync(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Copies what the primary committed since the last sync, one DuckDB transaction per
        chunk (a large backlog is caught up chunk by chunk)."""
        while True:
            with self.primary.connect() as primary:
                changed, more_changes = self._changed_rows(primary)
                parts = {name: _parts(sorted(seqs)) for name, seqs in changed.items()}
                events = load.fetch(
                    primary,
                    load.rows_select(tables.events)
                    .where(self._events.newer(tables.events.c.seq))
                    .order_by(tables.events.c.seq)
                    .limit(CHUNK),
                )
                refetched = {
                    name: [
                        row
                        for part in name_parts
                        for row in load.fetch(
                            primary,
                            load.rows_select(CHANGING[name]).where(CHANGING[name].c.seq.in_(part)),
                        )
                    ]
                    for name, name_parts in parts.items()
                    if name in CHANGING
                }
                # Events are logged on delete only (migration 0011), but SQLite gives the seq of
                # a deleted newest event to the next insert: one already there is fetched again
                # (unless this sync copies it anyway), and the cursor steps back to the
                # primary's newest seq, so one inserted later is still copied.
                reborn, newest = self._reborn_events(primary, parts.get("events", []), events)
            now = time.monotonic()
            if not events and not changed:
                self._events.saw([], now)  # gaps waited for long enough are given up
                return  # nothing new: no DuckDB transaction (an idle server's every poll)
            cursor.begin()
            deleted_events = sorted(changed.get("events", ()))
            emptied = self.rollups.before_delete(cursor, deleted_events)
            for name, name_parts in parts.items():
                for part in name_parts:
                    self.rollups.rows_changing(cursor, name, part, -1)
                    cursor.execute(
                        f"DELETE FROM {name} WHERE seq IN ({', '.join('?' * len(part))})", part
                    )
                load.insert(cursor, name, refetched.get(name, []), self.shredded)
                if name in READ_TYPES:
                    at = list(READ_TYPES[name]).index("seq")
                    seqs = [row[at] for row in refetched.get(name, [])]
                    self.rollups.rows_changing(cursor, name, seqs, +1)
            load.insert(cursor, "events", [*reborn, *events], self.shredded)
            self.rollups.take_in(
                cursor,
                self.shredded,
                [r[_SEQ] for r in [*reborn, *events]],
                emptied,
                deleted_events,
            )
            self._events.saw([row[_SEQ] for row in events], now)
            if newest is not None and not more_changes and self._events.cursor > newest:
                self._events.cursor = newest  # every deleted event is gone from the copy by now
            self._save_state(cursor)
            cursor.commit()
            self.rollups.publish()
            if len(events) < CHUNK and not more_changes:
                return

    def _reborn_events(
        self, primary: Connection, deleted: list[list[int]], copying: list[Any]
    ) -> tuple[list[Any], int | None]:
        """Events now stored under the seqs of deleted ones, and (on SQLite, when some were
        deleted) the primary's newest event seq, which later inserts will follow."""
        if not deleted:
            return [], None
        copied = {row[_SEQ] for row in copying}
        reborn = [
            row
            for part in deleted
            for row in load.fetch(
                primary, load.rows_select(tables.events).where(tables.events.c.seq.in_(part))
            )
            if row[_SEQ] not in copied
        ]
        if primary.dialect.name != "sqlite":
            return reborn, None  # PostgreSQL's sequences never give a value twice
        newest = primary.execute(select(func.max(tables.events.c.seq))).scalar()
        return reborn, int(newest or 0)

    def _changed_rows(self, primary: Connection) -> tuple[dict[str, set[int]], bool]:
        """Primary rows written or deleted since the last sync (at most CHUNK), by table, and
        whether there are more; advances the cursor (the caller commits it with the rows)."""
        log_table = tables.changes
        rows = primary.execute(
            select(log_table.c.seq, log_table.c.table_name, log_table.c.row_seq)
            .where(self._changes.newer(log_table.c.seq))
            .order_by(log_table.c.seq)
            .limit(CHUNK)
        ).all()
        changed: dict[str, set[int]] = defaultdict(set)
        for row in rows:
            changed[row.table_name].add(row.row_seq)
        self._changes.saw([row.seq for row in rows], time.monotonic())
        return changed, len(rows) == CHUNK


def _parts(values: list[int], size: int = 1000) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def forget_old_changes(connection: Connection) -> int:
    """Deletes `changes` rows older than the retention, keeping the newest (so a copy can
    tell that it has seen everything). A writer job."""
    log_table = tables.changes
    newest = connection.execute(select(func.max(log_table.c.seq))).scalar()
    if newest is None:
        return 0
    result = connection.execute(
        delete(log_table).where(
            log_table.c.created_at < now_us() - CHANGES_RETENTION_US, log_table.c.seq < newest
        )
    )
    return result.rowcount


async def sweep_old_changes(writer: Writer) -> None:
    """Forever: forget old `changes` rows, every few minutes (cancelled on shutdown)."""
    while True:
        await asyncio.sleep(_SWEEP_SECONDS)
        try:
            removed = await writer.submit(forget_old_changes)
            log.debug("forgot %d change log rows", removed)
        except Exception:  # retried at the next tick; never stop the loop
            log.warning("change log sweep failed", exc_info=True)


def default_path(database_url: Any, state_directory: Path) -> str:
    """Beside a SQLite file (`<file>.columnar.duckdb`); for a server database in
    `state_directory` (config.state_directory()), named after its host, port and database, so
    one machine can keep copies of several; in memory for an in-memory SQLite database or when
    that directory cannot be made (a read-only home: the copy is rebuilt at every start)."""
    database = database_url.database
    if database_url.get_backend_name() == "sqlite":
        if database in (None, "", ":memory:"):
            return ":memory:"
        return str(Path(database).with_suffix(".columnar.duckdb"))
    parts = [database_url.host or "local", str(database_url.port or ""), database or ""]
    name = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts if part)
    try:
        state_directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("columnar copy: cannot use %s (%s); keeping it in memory", state_directory, exc)
        return ":memory:"
    return str(state_directory / f"{name}.columnar.duckdb")
