"""CSV exports (reference §7.8): every row of a query, streamed in chunks from one open cursor,
so memory stays flat whatever the row count.

The header row is the result keys in select order. A whole JSON object (`properties`) is
spread over one column per key (`properties.theme`, mode "unpack", the default) or kept as one
JSON column (mode "json"). RFC 4180 quoting, UTF-8, CRLF line ends.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, CursorResult, Engine, Select

from threadline.query.catalogue import Kind
from threadline.query.compile import RENDER_BY_KIND, CompiledQuery
from threadline.query.run import compile_for
from threadline.store.engine import reading

CHUNK_ROWS = 1000
# A JSON field with more distinct keys than this is exported as one JSON column instead.
MAX_UNPACKED_KEYS = 200


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return msgspec.json.encode(value).decode()
    return str(value)


class CsvExport:
    """An export under way: call chunks() until it returns None, then close()."""

    def __init__(
        self, stack: contextlib.ExitStack, compiled: CompiledQuery, result: CursorResult[Any]
    ) -> None:
        self._stack = stack
        self._compiled = compiled
        self._result = result
        self._header_sent = False
        # JSON values go out as stored (render() would stringify events' property values).
        self._renders = [
            RENDER_BY_KIND[o.kind] if o.kind in (Kind.OBJECT, Kind.ARRAY) else o.render
            for o in compiled.outputs
        ]

    def _csv(self, rows: list[list[str]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode()

    def next_chunk(self) -> bytes | None:
        """The next CSV bytes (the header first), or None at the end."""
        if not self._header_sent:
            self._header_sent = True
            return self._csv([[output.key for output in self._compiled.outputs]])
        rows = self._result.fetchmany(CHUNK_ROWS)
        if not rows:
            return None
        return self._csv(
            [[_cell(r(v)) for r, v in zip(self._renders, row, strict=False)] for row in rows]
        )

    def close(self) -> None:
        self._stack.close()


def _keys_of(connection: Connection) -> Any:
    def keys_of(statement: Select[Any]) -> list[str] | None:
        keys = connection.execute(statement.limit(MAX_UNPACKED_KEYS + 1)).scalars().all()
        if len(keys) > MAX_UNPACKED_KEYS or any('"' in key for key in keys):
            return None  # too many for columns, or one no JSON path can name on SQLite
        return list(keys)

    return keys_of


def open_export(
    engine: Engine,
    *,
    view: str,
    body: Any,
    project_id: str,
    retry_after: int,
    ranking: Sequence[str] | None = None,
) -> CsvExport:
    """Compile and start the query; errors (400, 422, 503) surface here, before any byte."""
    stack = contextlib.ExitStack()
    try:
        connection = stack.enter_context(reading(engine, retry_after=retry_after))
        compiled = compile_for(
            connection, view, body, project_id, keys_of=_keys_of(connection), ranking=ranking
        )
        # A server-side cursor on PostgreSQL; SQLite steps through its rows as they are read.
        streaming = connection.execution_options(stream_results=True, yield_per=CHUNK_ROWS)
        result = streaming.execute(compiled.statement)
        return CsvExport(stack, compiled, result)
    except BaseException:
        # Through the stack, so reading() turns a lost connection into a 503.
        if not stack.__exit__(*sys.exc_info()):
            raise
        raise
