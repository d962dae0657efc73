"""Reading a server that speaks the Inkeep Analytics API (reference §4.5, §6.3, §7).

- Conversations: GET /conversations, 100 a page by offset.
- Feedback: GET /feedback, 100 of each type a page by offset.
- Events: the query language (POST /query/events), ordered by createdAt and paged by time
  window, for the exact scalar fields; the CSV export of the same window for `properties` and
  `userProperties` in mode "json". The JSON query is the exact source of every scalar (null
  and "" stay apart, no spreadsheet guard touches a value) but types event properties as
  strings only (§7.9); the CSV's JSON column keeps them as logged (docs/decisions.md).

429 and 503 are waited out as Retry-After says; a lost connection or a 5xx is retried with
back-off; after `attempts` tries the error goes up (the import stops, its checkpoint stays).
"""

from __future__ import annotations

import csv
import dataclasses
import email.utils
import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import msgspec

from threadline.transfer.sink import micros

PAGE = 100  # the largest limit GET /conversations and GET /feedback take (§4.5, §6.3)
# Retry-After beyond this is capped: a source asking for an hour is polled again sooner.
MAX_WAIT_SECONDS = 60.0
_EVENT_FIELDS = (
    "id",
    "createdAt",
    "eventType",
    "type",
    "messageId",
    "conversationId",
    "searchQuery",
    "integrationId",
)


class SourceError(Exception):
    """The source refused or could not be reached, after every retry."""


class _ConversationPage(msgspec.Struct):
    conversations: list[msgspec.Raw]
    total: int


class _FeedbackPage(msgspec.Struct):
    positiveFeedbackCount: int
    negativeFeedbackCount: int
    positiveFeedback: list[msgspec.Raw]
    negativeFeedback: list[msgspec.Raw]


class _QueryData(msgspec.Struct):
    result: list[dict[str, Any]]
    total: int
    count: int


class _QueryAnswer(msgspec.Struct):
    data: _QueryData


@dataclasses.dataclass(frozen=True)
class EventPage:
    rows: list[dict[str, Any]]  # the scalar fields, plus properties and userProperties
    total: int  # rows at or after the window's start, as the source counted them


def _retry_after(response: httpx.Response, fallback: float) -> float:
    value = response.headers.get("retry-after")
    if value is None:
        return fallback
    try:
        return min(max(float(value), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        pass
    try:  # an HTTP date
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return fallback
    return min(max(when - time.time(), 0.0), MAX_WAIT_SECONDS)


class SourceApi:
    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        attempts: int = 8,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._attempts = attempts
        self._sleep = sleep
        self.page = PAGE
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
            transport=transport,
        )
        # Waits taken (seconds), for the summary and the tests.
        self.waits: list[float] = []

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        backoff = 1.0
        for attempt in range(1, self._attempts + 1):
            last = attempt == self._attempts
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise SourceError(f"{method} {path}: {exc!r}") from exc
                self._wait(backoff)
                backoff = min(backoff * 2, MAX_WAIT_SECONDS)
                continue
            if response.status_code in (429, 503) or response.status_code >= 500:
                if last:
                    break
                self._wait(_retry_after(response, backoff))
                backoff = min(backoff * 2, MAX_WAIT_SECONDS)
                continue
            if response.status_code >= 400:
                raise SourceError(f"{method} {path}: {response.status_code} {response.text[:500]}")
            return response
        raise SourceError(f"{method} {path}: {response.status_code} after {self._attempts} tries")

    def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._sleep(seconds)

    # -- conversations and feedback -------------------------------------------------------

    def conversations(self, offset: int) -> Iterator[tuple[int, list[msgspec.Raw], int]]:
        """(the offset after the page, its conversations, the source's total), page by page."""
        while True:
            response = self.request(
                "GET", "/conversations", params={"limit": self.page, "offset": offset}
            )
            page = msgspec.json.decode(response.content, type=_ConversationPage)
            if not page.conversations:
                return
            offset += len(page.conversations)
            yield offset, page.conversations, page.total

    def feedback(self, offset: int) -> Iterator[tuple[int, list[msgspec.Raw], int]]:
        """(the offset after the page, its feedback of both types, the source's count)."""
        while True:
            params = {"limit": self.page, "offset": offset}
            response = self.request("GET", "/feedback", params=params)
            page = msgspec.json.decode(response.content, type=_FeedbackPage)
            items = page.positiveFeedback + page.negativeFeedback
            if not items:
                return
            offset += self.page
            yield offset, items, page.positiveFeedbackCount + page.negativeFeedbackCount

    # -- events ---------------------------------------------------------------------------

    def events(self, where: dict[str, Any], order_by_id: bool = False) -> EventPage:
        """The first page (at most 1,000 rows) of events matching `where`, ordered by
        createdAt (or by id), with their properties as logged."""
        order = "id" if order_by_id else "createdAt"
        body = {
            "select": [{"type": "field", "field": f} for f in _EVENT_FIELDS],
            "where": where,
            "orderBy": [{"field": order, "direction": "asc"}],
        }
        response = self.request("POST", "/query/events", json=body)
        data = msgspec.json.decode(response.content, type=_QueryAnswer).data
        rows = data.result
        if rows:
            json_columns = self._event_json(_window(where, rows, order))
            for row in rows:
                # A source with a spreadsheet guard may have written the id as '=... in CSV.
                props = json_columns.get(row["id"]) or json_columns.get("'" + row["id"])
                if props is None:
                    raise SourceError(f"event {row['id']!r} is missing from the events export")
                row["properties"], row["userProperties"] = props
        return EventPage(rows=rows, total=data.total)

    def _event_json(self, where: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        body = {
            "select": [
                {"type": "field", "field": "id"},
                {"type": "field", "field": "properties", "mode": "json"},
                {"type": "field", "field": "userProperties", "mode": "json"},
            ],
            "where": where,
        }
        response = self.request("POST", "/query/events/export", json=body)
        reader = csv.reader(io.StringIO(response.text))
        next(reader, None)  # the header
        return {row[0]: (_json_cell(row[1]), _json_cell(row[2])) for row in reader if len(row) == 3}


def _json_cell(cell: str) -> Any:
    # An empty cell is null; a JSON object starts with "{", which no formula guard touches.
    return msgspec.json.decode(cell) if cell else None


def _window(where: dict[str, Any], rows: list[dict[str, Any]], order: str) -> dict[str, Any]:
    """`where`, narrowed to the rows a page returned: the CSV export has no page size."""
    if order != "createdAt":
        return where  # pages by id stay within one createdAt: few rows, all of them wanted
    last = rows[-1][order]
    bound = {"condition": {"field": order, "operator": "lte", "value": last}}
    return {"and": [where, bound]}


def event_time(row: dict[str, Any]) -> int:
    return micros(row["createdAt"])
