"""`threadline import api`: a project's history from a server speaking the Inkeep Analytics API.

Conversations first (so feedback and events find their messages), then feedback, then
events, each kind resumable from its checkpoint (transfer.checkpoints):
- conversations and feedback are read in offset pages; an interrupted pass resumes at the
  offset after its last committed page, and a finished pass starts again at 0, importing only
  what changed (a record whose updatedAt and message count are stored already is skipped).
  The source lists newest first, so rows added meanwhile shift pages down: a page may be seen
  twice, none is missed.
- events are append-only: the checkpoint is a createdAt, and the next run reads from there
  (the events at that very instant are read again and skipped, never duplicated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import msgspec
from msgspec import UNSET
from sqlalchemy import Connection, Engine

from threadline.errors import BadRequest
from threadline.store.keys import KeyKind
from threadline.timestamps import to_iso, to_us
from threadline.transfer import checkpoints
from threadline.transfer.sink import PLURAL, Record, Sink, reason_of
from threadline.transfer.source_api import SourceApi, event_time
from threadline.transfer.tally import Tally
from threadline.wire.conversations import ConversationIn
from threadline.wire.decode import decode
from threadline.wire.events import EventIn
from threadline.wire.feedback import FeedbackIn

_TARGET_FIELD = {"message": "messageId", "conversation": "conversationId", "search": "searchQuery"}
BEFORE_SINCE = "older than --since"
UNLISTED = (
    "counted by the source but not listed by GET /feedback (their rated message is not stored "
    "there)"
)


class Bar(Protocol):
    def update(self, n: int) -> Any: ...
    def close(self) -> None: ...


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


BarFactory = Callable[[str, int | None, int], Bar]  # (kind, total, already done)


def no_bars(_kind: str, _total: int | None, _done: int) -> Bar:
    return _NoBar()


class ApiImport:
    def __init__(
        self,
        engine: Engine,
        source: SourceApi,
        project: str,
        *,
        since_us: int | None = None,
        max_messages: int = 500,
        web_integrations: frozenset[str] = frozenset(),
        bars: BarFactory = no_bars,
    ) -> None:
        self.source = source
        # The source's integrations whose rows browser widgets wrote: stored as web keys'
        # rows, so the widget's users go on changing their own chats (store.ownership).
        self.web_integrations = web_integrations
        self.since_us = since_us
        self.bars = bars
        self.tally = Tally()
        self.sink = Sink(engine, project, max_messages=max_messages, tally=self.tally)
        self.engine = engine
        # Checkpoints are per source server (and per --since: another window is another import).
        self.name = f"api {source.base_url}" + (f" since {to_iso(since_us)}" if since_us else "")

    def run(self) -> Tally:
        self.conversations()
        self.feedback()
        self.events()
        return self.tally

    # -- checkpoints ----------------------------------------------------------------------

    def _load(self, kind: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            return checkpoints.load(connection, self.sink.project_id, self.name, kind)

    def _saver(self, kind: str, cursor: dict[str, Any]) -> Callable[[Connection], None]:
        def save(connection: Connection) -> None:
            checkpoints.save(connection, self.sink.project_id, self.name, kind, cursor)

        return save

    # -- conversations and feedback -------------------------------------------------------

    def conversations(self) -> None:
        self._offset_pages("conversation", self.source.conversations, ConversationIn)

    def feedback(self) -> None:
        listed, counted, whole = self._offset_pages("feedback", self.source.feedback, FeedbackIn)
        if whole and counted > listed:
            self.tally.add("feedback", "skipped", counted - listed, UNLISTED)

    def _offset_pages(
        self, kind: str, pages: Callable[[int], Any], type_: Any
    ) -> tuple[int, int, bool]:
        """Import every page; (records listed, the source's count, whether from offset 0)."""
        cursor = self._load(PLURAL[kind])
        start = 0 if cursor.get("complete", True) else int(cursor["offset"])
        bar: Bar | None = None
        listed = counted = 0
        for offset, items, total in pages(start):
            if bar is None:
                bar = self.bars(PLURAL[kind], total, start)
            counted = total
            listed += len(items)
            records = list(self._records(kind, items, type_))
            self.sink.write(
                records, self._saver(PLURAL[kind], {"offset": offset, "complete": False})
            )
            bar.update(len(items))
        with self.engine.begin() as connection:
            self._saver(PLURAL[kind], {"offset": 0, "complete": True})(connection)
        if bar is not None:
            bar.close()
        return listed, counted, start == 0

    def _records(self, kind: str, items: Iterable[msgspec.Raw], type_: Any) -> Iterable[Record]:
        for raw in items:
            data = bytes(raw)
            try:
                body = decode(data, type_)
            except BadRequest as exc:
                self.tally.refuse(PLURAL[kind], f"{kind} {_id_of(data)}", reason_of(exc))
                continue
            if self._before_since(body):
                self.tally.add(PLURAL[kind], "skipped", reason=BEFORE_SINCE)
                continue
            integration = _given(getattr(body, "integrationId", UNSET))
            if kind == "feedback":
                # Feedback reads name no integration of their own (§6.2); their
                # conversation's is the closest the source tells.
                integration = _conversation_integration(data)
            owner: KeyKind = "web" if integration in self.web_integrations else "api"
            yield Record(kind, body, f"{kind} {body.id}", integration, owner)

    def _before_since(self, body: Any) -> bool:
        if self.since_us is None:
            return False
        when = body.updatedAt if body.updatedAt not in (UNSET, None) else body.createdAt
        return when not in (UNSET, None) and to_us(when) < self.since_us

    # -- events ---------------------------------------------------------------------------

    def events(self) -> None:
        after = int(self._load("events").get("after", 0))
        start = max(after, self.since_us or 0)
        bar: Bar | None = None
        while True:
            page = self.source.events(_at_or_after(start))
            if bar is None:
                bar = self.bars("events", page.total, 0)
            if not page.rows:
                break
            complete = len(page.rows) >= page.total
            last = event_time(page.rows[-1])
            if complete:
                rows, following = page.rows, last
            elif last > start:
                # The page may end part-way through the events of its last instant: those
                # are left for the next page.
                rows, following = [r for r in page.rows if event_time(r) < last], last
            else:
                rows, following = self._all_at(start), start + 1
            self.sink.write(
                list(self._event_records(rows)), self._saver("events", {"after": following})
            )
            bar.update(len(rows))
            if complete:
                break
            start = following
        if bar is not None:
            bar.close()

    def _all_at(self, instant: int) -> list[dict[str, Any]]:
        """Every event of one instant, when there are more of them than a page holds."""
        at = {"condition": {"field": "createdAt", "operator": "eq", "value": to_iso(instant)}}
        rows: list[dict[str, Any]] = []
        where: dict[str, Any] = at
        while True:
            page = self.source.events(where, order_by_id=True)
            rows.extend(page.rows)
            if len(page.rows) >= page.total or not page.rows:
                return rows
            after_id = {"condition": {"field": "id", "operator": "gt", "value": rows[-1]["id"]}}
            where = {"and": [at, after_id]}

    def _event_records(self, rows: Iterable[dict[str, Any]]) -> Iterable[Record]:
        for row in rows:
            entity = row.get("eventType")
            body: dict[str, Any] = {
                "entityType": entity,
                "id": row["id"],
                "type": row["type"],
                "createdAt": row["createdAt"],
                "properties": row["properties"],
                "userProperties": row["userProperties"],
            }
            target = _TARGET_FIELD.get(str(entity))
            if target is not None:
                body[target] = row.get(target)
            try:
                event = decode(msgspec.json.encode(body), EventIn)
            except BadRequest as exc:
                self.tally.refuse("events", f"event {row['id']}", reason_of(exc))
                continue
            yield Record("event", event, f"event {row['id']}", row.get("integrationId"))


def _at_or_after(instant: int) -> dict[str, Any]:
    return {"condition": {"field": "createdAt", "operator": "gte", "value": to_iso(instant)}}


def _given(value: Any) -> str | None:
    return None if value in (UNSET, None) else str(value)


class _Conversation(msgspec.Struct):
    integrationId: str | None = None


class _FeedbackContext(msgspec.Struct):
    conversation: _Conversation | None = None


def _conversation_integration(data: bytes) -> str | None:
    try:
        context = msgspec.json.decode(data, type=_FeedbackContext)
    except msgspec.DecodeError:
        return None
    return context.conversation.integrationId if context.conversation else None


def _id_of(data: bytes) -> str:
    try:
        found = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return "(unreadable)"
    return str(found.get("id")) if isinstance(found, dict) else "(not an object)"
