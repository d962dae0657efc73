"""Slots: at most `limit` of one kind of work at once in this process (writes in flight,
analytic reads, CSV exports); one more is a 503 with Retry-After at once, since queueing would
only pile up memory and latency behind the work already running.

A slot is given back synchronously, in a `finally` with no await before it: a client that goes
away mid-stream cancels its task at the next await, so a release placed after an await was
skipped and the slot leaked for good (issue 18). Releasing twice is harmless. Only the event
loop's thread takes and releases slots, so a plain counter is enough.
"""

from __future__ import annotations

from types import TracebackType

from threadline.errors import Unavailable


class Slot:
    """One piece of work's permission to run; release() (or leaving `with slot:`) gives it
    back."""

    def __init__(self, slots: Slots) -> None:
        self._slots: Slots | None = slots

    def release(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._give_back()

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class Slots:
    """The process's slots for one kind of work; `busy` is the 503's detail when all are
    taken."""

    def __init__(self, limit: int, *, busy: str, reason: str) -> None:
        self.limit = limit
        self._busy = busy
        self._reason = reason  # the 503's reason in the metrics
        self._running = 0

    @property
    def running(self) -> int:
        """Slots taken and not yet released."""
        return self._running

    def take(self, *, retry_after: int) -> Slot:
        """A slot, or 503 + Retry-After when all are taken."""
        if self._running >= self.limit:
            raise Unavailable(self._busy, retry_after=retry_after, reason=self._reason)
        self._running += 1
        return Slot(self)

    def _give_back(self) -> None:
        self._running -= 1
