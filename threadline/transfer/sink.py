"""Writing imported records through the store code that the API's writes use.

So an imported conversation is merged, digested and owned exactly as a posted one, and the
`changes` log (hence the insight queue and the columnar copy) sees it. Original ids and
timestamps are kept: the store takes a client's `id`, `createdAt` and `updatedAt` as given.

A batch of records is one transaction, together with the checkpoint that covers it. A record
the store refuses (a 422, say) is named in the tally, and the batch runs again without it,
as the writer does with a refused write (store.writer): one bad record never sinks the others
or leaves half of itself behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from msgspec import UNSET
from sqlalchemy import Connection, Engine, Table, select

from threadline.errors import ThreadlineError
from threadline.privacy.detect import Redactor
from threadline.privacy.policy import project_redaction
from threadline.privacy.redact import redact_body
from threadline.store.conversations import upsert_conversation
from threadline.store.events import EventWrite, insert_events, prepare_event
from threadline.store.feedback import upsert_feedback
from threadline.store.keys import KeyKind, ensure_integration, ensure_project
from threadline.store.tables import conversations, events, feedback, integrations
from threadline.timestamps import now_us, to_us
from threadline.transfer.tally import Outcome, Tally

# The tally's name for each record kind.
PLURAL = {
    "integration": "integrations",
    "conversation": "conversations",
    "feedback": "feedback",
    "event": "events",
}
# Rows that come without an integration are stored under this one.
DEFAULT_INTEGRATION = "imported"


@dataclasses.dataclass(frozen=True)
class IntegrationRecord:
    id: str
    name: str
    createdAt: str | None = None


@dataclasses.dataclass(frozen=True)
class Record:
    kind: str  # a key of PLURAL
    # ConversationIn, FeedbackIn, EventIn (threadline.wire) or IntegrationRecord.
    body: Any
    where: str  # how a refusal names it: "conversation conv_1", "events.ndjson:12"
    integration_id: str | None = None  # as the source named it
    # The kind of key the row is stored as written by (store.ownership; None: unknown). The
    # import itself writes with an api key's rights: it is the operator's, and re-importing a
    # changed web conversation must not be refused as a web key's rewrite would be.
    key_kind: KeyKind | None = "api"


def reason_of(error: ThreadlineError) -> str:
    """The detail, and each field the error names (unless the detail names them already)."""
    missing = [v for v in error.violations if v.field not in error.detail]
    fields = "; ".join(f"{v.field}: {v.message}" for v in missing)
    return f"{error.detail} ({fields})" if fields else error.detail


class _Refused(Exception):
    def __init__(self, index: int, error: ThreadlineError) -> None:
        self.index = index
        self.error = error


Checkpoint = Callable[[Connection], None]


class Sink:
    """Writes records into one project of the target database."""

    def __init__(self, engine: Engine, project: str, *, max_messages: int, tally: Tally) -> None:
        self.engine = engine
        self.max_messages = max_messages
        self.tally = tally
        with engine.begin() as connection:
            self.project_id = ensure_project(connection, project)
            kinds = project_redaction(connection, self.project_id)
        # The target project's redaction (`projects set --redact`) applies to what is imported
        # as to what is posted (api/writes.py): a record's text is redacted before it is stored.
        self._redactor = Redactor(kinds) if kinds else None
        # The source's integration id (None: none given) -> the target's.
        self._integrations: dict[str | None, str] = {}

    def write(self, records: Sequence[Record], checkpoint: Checkpoint | None = None) -> None:
        """Write the records and the checkpoint in one transaction; tally what happened."""
        self._resolve_integrations(records)
        if self._redactor is not None:
            for record in records:
                if record.kind != "integration":
                    redact_body(record.body, self._redactor)  # Structs: changed in place
        pending = list(records)
        while True:
            try:
                with self.engine.begin() as connection:
                    outcomes = self._write_all(connection, pending)
                    if checkpoint is not None:
                        checkpoint(connection)
            except _Refused as refused:
                record = pending.pop(refused.index)
                self.tally.refuse(PLURAL[record.kind], record.where, reason_of(refused.error))
                continue
            break
        for record, outcome in zip(pending, outcomes, strict=True):
            if record.kind != "integration":  # tallied when resolved
                self.tally.add(PLURAL[record.kind], outcome)

    # -- integrations ---------------------------------------------------------------------

    def _resolve_integrations(self, records: Sequence[Record]) -> None:
        """Create the integrations the records name, committed before the records that use
        them (a batch re-run after a refusal must find them)."""
        wanted = [
            r
            for r in records
            if r.kind == "integration" or r.integration_id not in self._integrations
        ]
        if not wanted:
            return
        with self.engine.begin() as connection:
            for record in wanted:
                if record.kind == "integration":
                    body: IntegrationRecord = record.body
                    outcome = self._integration(connection, body.id, body.name, body.createdAt)
                    self.tally.add("integrations", outcome)
                elif record.integration_id not in self._integrations:
                    source_id = record.integration_id
                    self._integration(connection, source_id, source_id, None)

    def _integration(
        self, connection: Connection, source_id: str | None, name: str | None, created: str | None
    ) -> Outcome:
        if source_id is None:
            found = ensure_integration(connection, self.project_id, DEFAULT_INTEGRATION)
            self._integrations[None] = found
            return "skipped"
        stored = connection.execute(
            select(integrations.c.project_id).where(integrations.c.id == source_id)
        ).scalar()
        if stored == self.project_id:
            self._integrations[source_id] = source_id
            return "skipped"
        if stored is not None:
            # The id belongs to another project of this database (integration ids are unique
            # across projects): the rows go to an integration of this project named after it.
            alias = ensure_integration(connection, self.project_id, f"imported {source_id}")
            self._integrations[source_id] = alias
            return "imported"
        label = name or source_id
        taken = connection.execute(
            select(integrations.c.id).where(
                integrations.c.project_id == self.project_id, integrations.c.name == label
            )
        ).scalar()
        connection.execute(
            integrations.insert().values(
                id=source_id,
                project_id=self.project_id,
                name=label if taken is None else f"{label} ({source_id})",
                created_at=micros(created) if created else now_us(),
            )
        )
        self._integrations[source_id] = source_id
        return "imported"

    # -- records --------------------------------------------------------------------------

    def _write_all(self, connection: Connection, records: Sequence[Record]) -> list[Outcome]:
        outcomes: list[Outcome] = ["skipped"] * len(records)
        new_events: list[tuple[int, EventWrite]] = []
        stored_events = self._stored_event_ids(connection, records)
        for index, record in enumerate(records):
            try:
                if record.kind == "conversation":
                    outcomes[index] = self._conversation(connection, record)
                elif record.kind == "feedback":
                    outcomes[index] = self._feedback(connection, record)
                elif record.kind == "event":
                    write = prepare_event(
                        project_id=self.project_id,
                        integration_id=self._integrations[record.integration_id],
                        body=record.body,
                    )
                    if write.row["id"] not in stored_events:
                        stored_events.add(write.row["id"])
                        new_events.append((index, write))
            except ThreadlineError as exc:
                raise _Refused(index, exc) from exc
        if new_events:
            insert_events(connection, [write for _, write in new_events])
            for index, _ in new_events:
                outcomes[index] = "imported"
        return outcomes

    def _stored_event_ids(self, connection: Connection, records: Sequence[Record]) -> set[str]:
        ids = [r.body.id for r in records if r.kind == "event" and r.body.id is not UNSET]
        if not ids:
            return set()
        found = connection.execute(
            select(events.c.id).where(events.c.project_id == self.project_id, events.c.id.in_(ids))
        )
        return set(found.scalars())

    def _conversation(self, connection: Connection, record: Record) -> Outcome:
        body = record.body
        if body.id is not UNSET and body.updatedAt not in (UNSET, None):
            stored = connection.execute(
                select(conversations.c.updated_at, conversations.c.message_count).where(
                    conversations.c.project_id == self.project_id, conversations.c.id == body.id
                )
            ).first()
            # The same updatedAt and as many messages: nothing new since the last import.
            if stored is not None and tuple(stored) == (to_us(body.updatedAt), len(body.messages)):
                return "skipped"
        written = upsert_conversation(
            connection,
            project_id=self.project_id,
            integration_id=self._integrations[record.integration_id],
            key_kind="api",
            body=body,
            max_messages=self.max_messages,
        )
        _set_owner(connection, conversations, written.conversation, record.key_kind)
        return "imported"

    def _feedback(self, connection: Connection, record: Record) -> Outcome:
        body = record.body
        if body.id is not UNSET and body.updatedAt not in (UNSET, None):
            stored = connection.execute(
                select(feedback.c.updated_at).where(
                    feedback.c.project_id == self.project_id, feedback.c.id == body.id
                )
            ).scalar()
            if stored == to_us(body.updatedAt):
                return "skipped"
        row = upsert_feedback(
            connection,
            project_id=self.project_id,
            integration_id=self._integrations[record.integration_id],
            key_kind="api",
            body=body,
        )
        _set_owner(connection, feedback, row, record.key_kind)
        return "imported"


def _set_owner(
    connection: Connection, table: Table, row: Mapping[Any, Any], key_kind: KeyKind | None
) -> None:
    """Record who the row is stored as written by, where that is not what the upsert left."""
    if row["key_kind"] != key_kind:
        statement = table.update().where(table.c.seq == row["seq"]).values(key_kind=key_kind)
        connection.execute(statement)


def micros(iso: str) -> int:
    """Microseconds since the epoch of an RFC 3339 timestamp ("2026-02-01T10:00:00.123Z")."""
    return to_us(datetime.fromisoformat(iso))
