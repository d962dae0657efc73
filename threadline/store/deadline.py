"""Deadlines on analytic reads: a statement running past its time is stopped inside the database
and surfaces as errors.QueryTimeout (422), leaving the connection usable by the next read.

How each database is stopped: SQLite through a progress handler that the VM calls every few
thousand instructions; PostgreSQL through `statement_timeout`, set to the time left before each
statement (local to the transaction, so it ends with it); DuckDB through `interrupt()`, called by
a watchdog thread from the deadline on, repeatedly, because an interrupt that lands between two
statements is forgotten when the next one starts. Before any statement the time left is checked
too, so a read of several statements stops at the first one that would start late.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError

from threadline.errors import QueryTimeout

# SQLite VM instructions between two looks at the clock (~0.1 ms of work).
_SQLITE_STEPS = 10_000
# How often DuckDB is interrupted again once the deadline passed, until the read gives up.
REPEAT_SECONDS = 0.005
# PostgreSQL: SQLSTATE 57014, query_canceled (what statement_timeout raises).
_PG_CANCELED = "57014"
# Where a connection's current Deadline is kept (Connection.info), for deadline_of().
_INFO_KEY = "threadline_deadline"


class Deadline:
    """The time one read (or one step of an export) may take on `connection`.

    Use `running()` around every call that executes or fetches; `restart()` gives the next step
    its full time again; `close()` (always; or use it as a context manager) takes the handler,
    hook and watchdog away. `seconds` 0: no limit.
    """

    def __init__(self, connection: Connection, seconds: float, ends: float | None = None) -> None:
        self.seconds = seconds
        self.fired = False
        # `ends`: a time.monotonic() shared with the read's other connections (joined()).
        self._ends = time.monotonic() + seconds if ends is None else ends
        self._connection = connection
        self._backend = connection.dialect.name
        self._driver: Any = cast(Any, connection.connection.driver_connection)
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._active = seconds > 0  # 0: no limit, nothing installed
        if not self._active:
            return
        connection.info[_INFO_KEY] = self
        event.listen(connection, "before_cursor_execute", self._before_statement)
        if self._backend == "sqlite":
            self._driver.set_progress_handler(self._sqlite_progress, _SQLITE_STEPS)
        elif self._backend == "duckdb":
            self._watchdog = threading.Thread(
                target=self._watch, name="threadline-query-deadline", daemon=True
            )
            self._watchdog.start()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def joined(self, connection: Connection) -> Deadline:
        """The same deadline on another connection (statements of one read that run at once on
        several connections end together)."""
        return Deadline(connection, self.seconds, ends=self._ends)

    def left(self) -> float:
        return self._ends - time.monotonic()

    def restart(self) -> None:
        self._ends = time.monotonic() + self.seconds
        if self._active and self._backend == "postgresql":
            # A server-side cursor's FETCHes bypass _before_statement: renew their limit here.
            self._set_statement_timeout(self.seconds)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Turns the database's "stopped" error into QueryTimeout."""
        try:
            yield
        except DBAPIError as exc:
            if self.fired or _canceled(exc):
                self.fired = True
                raise QueryTimeout(self.seconds) from exc
            raise

    def close(self) -> None:
        if not self._active:
            return
        self._active = False
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join()  # no interrupt may reach the connection's next user
        if self._backend == "sqlite":
            self._driver.set_progress_handler(None, 0)
        with contextlib.suppress(Exception):  # the connection may be closed already
            if self._connection.info.get(_INFO_KEY) is self:
                del self._connection.info[_INFO_KEY]
        with contextlib.suppress(Exception):
            event.remove(self._connection, "before_cursor_execute", self._before_statement)

    def _before_statement(self, *_args: Any) -> None:
        left = self.left()
        if left <= 0:
            self.fired = True
            raise QueryTimeout(self.seconds)
        if self._backend == "postgresql":
            self._set_statement_timeout(left)

    def _set_statement_timeout(self, seconds: float) -> None:
        # Whole milliseconds, at least 1 (0 would mean no limit at all); local to the
        # transaction, so it ends with the read.
        milliseconds = max(1, int(seconds * 1000))
        self._driver.execute(
            "SELECT set_config('statement_timeout', %s, true)", [str(milliseconds)]
        )

    def _sqlite_progress(self) -> int:
        if self.left() > 0:
            return 0
        self.fired = True
        return 1  # SQLite stops the statement: OperationalError "interrupted"

    def _watch(self) -> None:
        while True:
            left = self.left()
            if left > 0:
                if self._stop.wait(left):
                    return
                continue
            self.fired = True
            self._driver.interrupt()
            if self._stop.wait(REPEAT_SECONDS):
                return


def deadline_of(connection: Connection) -> Deadline | None:
    """The deadline that bounds `connection`'s statements now, if any."""
    deadline = connection.info.get(_INFO_KEY)
    return deadline if isinstance(deadline, Deadline) else None


def _canceled(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == _PG_CANCELED


@contextlib.contextmanager
def bounded(connection: Connection, seconds: float) -> Iterator[Connection]:
    """`connection`, its statements stopped `seconds` from now (0: no limit)."""
    with Deadline(connection, seconds) as deadline, deadline.running():
        yield connection
