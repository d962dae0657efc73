"""The columnar copy's cursors that are in use, so that stopping can end their statements first.

A read whose request went away (a client that closed its tab, a test that timed out) can still
be running a statement on a thread of its own when the server stops. DuckDB refuses to close a
database while one of its cursors is busy ("connection is busy with another call"), and a
process that exits with a statement still running in a DuckDB thread can crash on its way out
(session 6's CI saw a SIGSEGV at SIGTERM). So the copy interrupts what runs, waits for it to
end, and closes only then.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import duckdb
from sqlalchemy import Engine, event

from threadline.store.deadline import REPEAT_SECONDS


class CursorsInUse:
    """The DBAPI connections of `engine`'s pool that are checked out right now."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._busy: dict[int, Any] = {}
        self._idle = threading.Event()
        self._idle.set()
        event.listen(engine, "checkout", self._checked_out)
        event.listen(engine, "checkin", self._checked_in)

    def _checked_out(self, dbapi_connection: Any, *_args: Any) -> None:
        with self._lock:
            self._busy[id(dbapi_connection)] = dbapi_connection
            self._idle.clear()

    def _checked_in(self, dbapi_connection: Any, *_args: Any) -> None:
        with self._lock:
            self._busy.pop(id(dbapi_connection), None)
            if not self._busy:
                self._idle.set()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._busy)

    def interrupt_until_idle(self, seconds: float) -> bool:
        """Interrupts every statement running on a checked-out cursor, again and again, until
        all are back in the pool; whether they all were within `seconds`."""
        deadline = time.monotonic() + seconds
        while not self._idle.is_set():
            if time.monotonic() >= deadline:
                return False
            with self._lock:
                busy = list(self._busy.values())
            for connection in busy:
                with contextlib.suppress(duckdb.Error):
                    connection.interrupt()
            # Again and again: an interrupt that lands between two statements of a read is
            # forgotten when the next one starts (as store.deadline's watchdog knows).
            self._idle.wait(REPEAT_SECONDS)
        return True
