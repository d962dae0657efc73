"""Slots for CSV exports: at most THREADLINE_MAX_CONCURRENT_EXPORTS stream at once per process,
since each holds a read connection for as long as its client reads.

A slot is given back synchronously, in a `finally` with no await before it: a client that goes
away mid-stream cancels the streaming task at its next await, so a release placed after an
await was skipped and the slot leaked for good (issue 18). Releasing twice is harmless.
"""

from __future__ import annotations

from types import TracebackType

from threadline.errors import Unavailable


class ExportSlot:
    """One export's permission to run; release() (or leaving `with slot:`) gives it back."""

    def __init__(self, slots: ExportSlots) -> None:
        self._slots: ExportSlots | None = slots

    def release(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._give_back()

    def __enter__(self) -> ExportSlot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class ExportSlots:
    """The process's export slots. Only the event loop's thread takes and releases them, so a
    plain counter is enough."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running = 0

    @property
    def running(self) -> int:
        """Slots taken and not yet released: exports streaming (or being opened) now."""
        return self._running

    def take(self, *, retry_after: int) -> ExportSlot:
        """A slot, or 503 + Retry-After when all are taken."""
        if self._running >= self.limit:
            raise Unavailable(
                "Too many exports are running; retry shortly.", retry_after=retry_after
            )
        self._running += 1
        return ExportSlot(self)

    def _give_back(self) -> None:
        self._running -= 1
