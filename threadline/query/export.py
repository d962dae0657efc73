"""CSV exports (reference §7.8): every row of a query, streamed in chunks from one open cursor,
so memory stays flat whatever the row count.

The header row is the result keys in select order. A whole JSON object (`properties`) is
spread over one column per key (`properties.theme`, mode "unpack", the default) or kept as one
JSON column (mode "json"). RFC 4180 quoting, UTF-8, CRLF line ends.

Every cell, the header's too, is written through `neutralise` unless the formula guard is off
(THREADLINE_CSV_FORMULA_GUARD): web keys are public, so any text may be hostile, and a
spreadsheet would run a cell such as `=HYPERLINK(...)` as a formula (docs/decisions.md).
Deadline (store.deadline): the query up to its first chunk of rows gets the read timeout, and
each later chunk gets it again, so a long export that keeps moving is never cut but a stuck one
is. A timeout before the first chunk is an error answer (422); after it, the status is sent
already: next_chunk raises QueryTimeout and the response is cut (docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, CursorResult, Engine, Select

from threadline.query.catalogue import Kind
from threadline.query.compile import RENDER_BY_KIND, CompiledQuery
from threadline.query.run import compile_for
from threadline.store.deadline import Deadline
from threadline.store.engine import reading

CHUNK_ROWS = 1000
# A JSON field with more distinct keys than this is exported as one JSON column instead.
MAX_UNPACKED_KEYS = 200


# First characters that make a spreadsheet read a cell as a formula: OWASP's "CSV Injection"
# list (= + - @ tab CR), and NUL, which ASVS 5 (V1.2.10) adds.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# A number as the exporter writes one (-5, -1.5, -1.0e-07): a spreadsheet reads it as a number,
# and even evaluated it could only be that number. Text of this shape stays as it is too, so
# a JSON number reads the same whichever backend hands it over (as a number or as text).
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def neutralise(cell: str) -> str:
    """The cell with a leading `'` if a spreadsheet would take it for a formula: the OWASP
    rule; spreadsheets then show it as text."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


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
        self,
        stack: contextlib.ExitStack,
        compiled: CompiledQuery,
        result: CursorResult[Any],
        deadline: Deadline,
        *,
        formula_guard: bool = True,
    ) -> None:
        self._stack = stack
        self._compiled = compiled
        self._result = result
        self._guard = formula_guard
        self._deadline = deadline
        self._header_sent = False
        # JSON values go out as stored (render() would stringify events' property values).
        self._renders = [
            RENDER_BY_KIND[o.kind] if o.kind in (Kind.OBJECT, Kind.ARRAY) else o.render
            for o in compiled.outputs
        ]
        # Fetched now, within the opening's time: a query too slow to give its first rows is
        # still an error answer, before the status line (PostgreSQL's server-side cursor only
        # runs the query at the first fetch).
        self._first: list[Any] | None = self._fetch()

    def _fetch(self) -> list[Any]:
        with self._deadline.running():
            return list(self._result.fetchmany(CHUNK_ROWS))

    def _csv(self, rows: list[list[str]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if self._guard:
            writer.writerows([neutralise(cell) for cell in row] for row in rows)
        else:
            writer.writerows(rows)
        return buffer.getvalue().encode()

    def next_chunk(self) -> bytes | None:
        """The next CSV bytes (the header first), or None at the end."""
        if not self._header_sent:
            self._header_sent = True
            return self._csv([[output.key for output in self._compiled.outputs]])
        if self._first is not None:
            rows, self._first = self._first, None
        else:
            self._deadline.restart()
            rows = self._fetch()
        if not rows:
            return None
        return self._csv(
            [[_cell(r(v)) for r, v in zip(self._renders, row, strict=False)] for row in rows]
        )

    def close(self) -> None:
        """Ends the export, read to the end or not (a client may leave mid-stream)."""
        try:
            # First the cursor: a server-side one on PostgreSQL is only closed by this, and
            # returning its connection to the pool does not close it.
            self._result.close()
        finally:
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
    timeout: float = 0.0,
    formula_guard: bool = True,
    ranking: Sequence[Any] | None = None,
) -> CsvExport:
    """Compile and start the query; errors (400, 422, 503) surface here, before any byte.
    `timeout`: seconds to the first rows, then per chunk of rows (0: no limit);
    `formula_guard` neutralises cells a spreadsheet would run as formulas."""
    stack = contextlib.ExitStack()
    try:
        connection = stack.enter_context(reading(engine, retry_after=retry_after))
        deadline = stack.enter_context(Deadline(connection, timeout))
        with deadline.running():
            keys_of = _keys_of(connection)
            compiled = compile_for(
                connection, view, body, project_id, keys_of=keys_of, ranking=ranking
            )
            # A server-side cursor on PostgreSQL; SQLite steps through its rows as they are read.
            streaming = connection.execution_options(stream_results=True, yield_per=CHUNK_ROWS)
            result = streaming.execute(compiled.statement)
        return CsvExport(stack, compiled, result, deadline, formula_guard=formula_guard)
    except BaseException:
        # Through the stack, so reading() turns a lost connection into a 503.
        if not stack.__exit__(*sys.exc_info()):
            raise
        raise
