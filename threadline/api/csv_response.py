"""The response of every CSV download (API exports and the dashboard's): an export under way,
streamed, which owns its export slot and its read connection until the response ends.

The cleanup lives in the response's own `__call__`, not in the body generator: a generator
that was never started, or was cancelled at an await, or left suspended when send() failed,
does not run its `finally` when the response ends, and an await there is cancelled again.

Each chunk must be taken by the client within a deadline: a client that stays connected but
reads nothing (a paused download, or two sockets of an attacker with any project's api key)
would otherwise hold its slot, and with it every project's exports, for as long as it liked.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from threadline.errors import QueryTimeout, ResponseCut
from threadline.query.export import CsvExport
from threadline.slots import Slot

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

log = logging.getLogger(__name__)


async def _chunks(export: CsvExport, filename: str) -> AsyncIterator[bytes]:
    sent = 0
    try:
        while (chunk := await run_in_threadpool(export.next_chunk)) is not None:
            yield chunk
            sent += len(chunk)
    except QueryTimeout as exc:
        # The 200 is sent: cut the response rather than end a short CSV that looks complete.
        log.warning("export %s cut after %d bytes: %s", filename, sent, exc.detail)
        raise ResponseCut from exc


class CsvResponse(StreamingResponse):
    """200 text/csv, as an attachment named `filename`, never stored by caches (the rows are
    the project's data, and a download is never the same twice)."""

    def __init__(
        self, export: CsvExport, slot: Slot, *, filename: str, send_timeout: float
    ) -> None:
        super().__init__(
            _chunks(export, filename),
            media_type=CSV_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
        self._export = export
        self._slot = slot
        self._filename = filename
        self._send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            # Leaving this block, however, releases the slot first, with no await before it.
            with self._slot:
                await super().__call__(scope, receive, self._within_deadline(send))
        except ClientDisconnect:
            pass  # the client left mid-stream (ASGI 2.4 servers say so): nobody to answer
        finally:
            # Then the connection, even while this task is being cancelled. A chunk being
            # read has finished by now: thread calls are not abandoned on cancellation.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self._export.close)

    def _within_deadline(self, send: Send) -> Send:
        if self._send_timeout <= 0:
            return send
        seconds = self._send_timeout

        async def send_within_deadline(message: Message) -> None:
            with anyio.move_on_after(seconds) as waited:
                await send(message)
            if waited.cancelled_caught:
                # The server drops the connection, as for a chunk past the query's deadline.
                log.warning(
                    "export %s cut: its client took nothing for %g s", self._filename, seconds
                )
                raise ResponseCut

        return send_within_deadline
