"""An export past its deadline while streaming (issue 18): the status is sent already, so the
response is cut (ResponseCut: the server drops the connection before the last chunk), and its
slot and connection are released. On real SQLite and PostgreSQL.

The rows come from a statement whose first 1,500 rows come at once and whose next row takes
minutes of work, so the first chunk always fits in the deadline and the second never does.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import pytest
from sqlalchemy import text

from threadline.api.csv_response import CsvResponse
from threadline.app import create_app
from threadline.config import Settings
from threadline.errors import QueryTimeout, ResponseCut
from threadline.query.export import CHUNK_ROWS, CsvExport
from threadline.query.run import compile_for
from threadline.services import Services
from threadline.store.deadline import Deadline
from threadline.store.engine import Database, reading
from threadline.wire.query import QUERY_TYPES

# Rows 1..1500 at once; the next one only at x = 10^10 (both backends step one row at a time;
# Python's sqlite3 one row ahead of what was fetched).
STALLING_ROWS = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT x FROM c WHERE x <= 1500 OR x % 10000000000 = 0"
)
IDS = msgspec.convert({"select": [{"type": "field", "field": "id"}]}, QUERY_TYPES["events"].body)


def _stalling_export(db: Database, seconds: float) -> CsvExport:
    """A CsvExport of the events view's `id` column, as query.export.open_export builds one,
    over STALLING_ROWS."""
    stack = contextlib.ExitStack()
    connection = stack.enter_context(reading(db.reader))
    deadline = stack.enter_context(Deadline(connection, seconds))
    compiled = compile_for(connection, "events", IDS, "proj_none")
    streaming = connection.execution_options(stream_results=True, yield_per=CHUNK_ROWS)
    with deadline.running():
        result = streaming.execute(text(STALLING_ROWS))
    return CsvExport(stack, compiled, result, deadline)


def test_a_chunk_past_the_deadline_raises_after_the_first_rows(db: Database) -> None:
    export = _stalling_export(db, 0.5)
    try:
        assert export.next_chunk() == b"id\r\n"
        first = export.next_chunk()
        assert first is not None and first.count(b"\r\n") == CHUNK_ROWS
        with pytest.raises(QueryTimeout):
            export.next_chunk()
    finally:
        export.close()
    assert db.reader.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_response_is_cut_and_the_export_slot_freed(
    database_url: str, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    services: Services = create_app(Settings(database_url=database_url)).state.services
    export = _stalling_export(db, 0.5)
    response = CsvResponse(
        export, services.exports.take(retry_after=1), filename="events.csv", send_timeout=0
    )
    sent: list[bytes] = []

    async def receive() -> Any:
        raise AssertionError("an ASGI 2.4 server is not listened to for disconnects")

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])

    async def serve() -> None:
        scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
        with pytest.raises(ResponseCut) as raised:
            await response(scope, receive, send)
        assert isinstance(raised.value.__cause__, QueryTimeout)

    asyncio.run(serve())
    assert len(sent) == 2  # the header and the first rows, then nothing
    assert services.exports.running == 0
    assert db.reader.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert "export events.csv cut after" in caplog.text
    services.database.dispose()
