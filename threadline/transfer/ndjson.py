"""NDJSON export and import of one project: one file per kind, and a manifest.

Each line is one record in an envelope that says what it is:

    {"kind":"conversation","version":1,"integrationId":"int_…","keyKind":"web","record":{…}}

`record` has the shape of the API's request body for its kind (POST /conversations with every
message, POST /feedback, POST /events) with every stored field, ids and timestamps included,
so an import runs it through the same decoding and store code as a posted body. Integrations
come first (`{"id","name","createdAt"}`), so the others find theirs by id.

manifest.json names the schema version, the project, and per file its kind, line count and
SHA-256. An export reads the database in chunks and writes line by line, so memory stays flat
whatever the project's size; an import streams the same way. A bad line (malformed JSON, an
unknown kind, another schema version, a record the API would refuse) is reported with its file
and line, and the rest goes on; with `strict`, every line is checked first and nothing is
written unless all are good.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec
from sqlalchemy import Connection, Engine, or_, select, tuple_

from threadline.errors import BadRequest, NotFound
from threadline.store.conversations import StoredConversation, messages_of
from threadline.store.tables import conversations, events, feedback, integrations, projects
from threadline.timestamps import now_us, to_iso
from threadline.transfer.api_import import BarFactory, no_bars
from threadline.transfer.sink import PLURAL, IntegrationRecord, Record, Sink, reason_of
from threadline.transfer.tally import Tally
from threadline.wire.conversations import ConversationIn
from threadline.wire.decode import decode
from threadline.wire.events import EventIn
from threadline.wire.feedback import FeedbackIn
from threadline.wire.stored import conversation_out

FORMAT = "threadline-ndjson"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
KINDS = ("integration", "conversation", "feedback", "event")  # the order of writing
CHUNK = 500  # rows read from the database at a time
BATCH = 200  # records written in one transaction


class NdjsonError(Exception):
    """The directory cannot be imported at all (no readable manifest), or --strict found
    problems: nothing was written."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


# -- export -------------------------------------------------------------------------------


class _FileEntry(msgspec.Struct):
    kind: str
    path: str
    count: int
    sha256: str


class _ProjectEntry(msgspec.Struct):
    id: str
    name: str


class Manifest(msgspec.Struct):
    format: str
    schemaVersion: int
    project: _ProjectEntry
    exportedAt: str
    files: list[_FileEntry]


def export_project(
    engine: Engine,
    project: str,
    directory: Path,
    *,
    compress: bool = False,
    bars: BarFactory = no_bars,
) -> Manifest:
    """Write the project's records to `directory` (created if needed); the manifest written."""
    directory.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    files: list[_FileEntry] = []
    with engine.connect() as connection:
        found = connection.execute(
            select(projects.c.id, projects.c.name).where(
                or_(projects.c.name == project, projects.c.id == project)
            )
        ).first()
        if found is None:
            raise NotFound(f"no project named {project!r}")
        project_id, name = found
        for kind in KINDS:
            path = directory / (f"{PLURAL[kind]}.ndjson" + (".gz" if compress else ""))
            bar = bars(PLURAL[kind], None, 0)
            count = 0
            with _open_write(path, compress) as out:
                for line in _LINES[kind](connection, project_id):
                    out.write(encoder.encode(line) + b"\n")
                    count += 1
                    bar.update(1)
            bar.close()
            files.append(_FileEntry(kind, path.name, count, _sha256(path)))
    manifest = Manifest(
        format=FORMAT,
        schemaVersion=SCHEMA_VERSION,
        project=_ProjectEntry(project_id, name),
        exportedAt=to_iso(now_us()),
        files=files,
    )
    (directory / MANIFEST).write_bytes(msgspec.json.format(msgspec.json.encode(manifest)) + b"\n")
    return manifest


def _open_write(path: Path, compress: bool) -> io.BufferedIOBase:
    if compress:
        # mtime 0: the same rows give the same bytes, so the same checksum.
        return gzip.GzipFile(path, "wb", mtime=0)
    return io.BufferedWriter(io.FileIO(path, "wb"), 1 << 16)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(connection: Connection, table: Any, project_id: str) -> Iterator[list[Any]]:
    """The project's rows of `table` in (created_at, seq) order, CHUNK at a time.

    Keyset paging along the (project_id, created_at) index that each of these tables has: each
    chunk is an index range. By `seq` alone, SQLite took that index for the project and sorted
    every row of the project for each chunk (a million events: 0.9 s a chunk)."""
    order = (table.c.created_at, table.c.seq)
    after: tuple[int, int] | None = None
    while True:
        query = select(table).where(table.c.project_id == project_id)
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(*after))
        rows = list(connection.execute(query.order_by(*order).limit(CHUNK)).mappings())
        if not rows:
            return
        yield rows
        after = (rows[-1]["created_at"], rows[-1]["seq"])


def _envelope(kind: str, row: Any, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "version": SCHEMA_VERSION,
        "integrationId": row["integration_id"],
        "keyKind": row.get("key_kind"),
        "record": record,
    }


def _integration_lines(connection: Connection, project_id: str) -> Iterator[dict[str, Any]]:
    rows = connection.execute(
        select(integrations).where(integrations.c.project_id == project_id).order_by("id")
    ).mappings()
    for row in rows:
        record = {"id": row["id"], "name": row["name"], "createdAt": to_iso(row["created_at"])}
        yield {"kind": "integration", "version": SCHEMA_VERSION, "record": record}


def _conversation_lines(connection: Connection, project_id: str) -> Iterator[dict[str, Any]]:
    for rows in _chunks(connection, conversations, project_id):
        history = messages_of(
            connection, project_id=project_id, conversation_ids=[r["id"] for r in rows]
        )
        for row in rows:
            # The API's Conversation shape (wire/stored.py), without what the target decides:
            # the project, the integration (the envelope names it) and the derived OpenAI view.
            # Import ignores its messages' type and conversationId likewise.
            stored = StoredConversation(conversation=row, messages=history[row["id"]])
            record = msgspec.to_builtins(conversation_out(stored))
            for derived in ("projectId", "integrationId", "messagesOpenAIFormat"):
                record.pop(derived, None)
            yield _envelope("conversation", row, record)


def _feedback_lines(connection: Connection, project_id: str) -> Iterator[dict[str, Any]]:
    for rows in _chunks(connection, feedback, project_id):
        for row in rows:
            record = {
                "id": row["id"],
                "type": row["type"],
                "messageId": row["message_id"],
                "createdAt": to_iso(row["created_at"]),
                "updatedAt": to_iso(row["updated_at"]),
                "reasons": row["reasons"],
                "details": row["details"],
                "sources": row["sources"],
                "properties": row["properties"],
                "userProperties": row["user_properties"],
            }
            yield _envelope("feedback", row, record)


_EVENT_TARGET = {
    "message": "message_id",
    "conversation": "conversation_id",
    "search": "search_query",
}


def _event_lines(connection: Connection, project_id: str) -> Iterator[dict[str, Any]]:
    for rows in _chunks(connection, events, project_id):
        for row in rows:
            entity = row["entity_type"]
            target = _EVENT_TARGET[entity]
            record = {
                "entityType": entity,
                "id": row["id"],
                "type": row["type"],
                _camel(target): row[target],  # messageId, conversationId or searchQuery
                "createdAt": to_iso(row["created_at"]),
                "properties": row["properties"],
                "userProperties": row["user_properties"],
            }
            yield _envelope("event", row, record)


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part.title() for part in rest)


_LINES: dict[str, Callable[[Connection, str], Iterator[dict[str, Any]]]] = {
    "integration": _integration_lines,
    "conversation": _conversation_lines,
    "feedback": _feedback_lines,
    "event": _event_lines,
}


# -- import -------------------------------------------------------------------------------


class _Line(msgspec.Struct):
    kind: str
    version: int
    record: msgspec.Raw
    integrationId: str | None = None
    keyKind: Literal["web", "api"] | None = None


class _IntegrationIn(msgspec.Struct):
    id: str
    name: str
    createdAt: str | None = None


_TYPES: dict[str, Any] = {
    "conversation": ConversationIn,
    "feedback": FeedbackIn,
    "event": EventIn,
}
_line_decoder = msgspec.json.Decoder(_Line)


@dataclasses.dataclass
class NdjsonImport:
    """What an import did: the tally, and every problem found, each with its file and line."""

    tally: Tally
    problems: list[str]
    project_id: str = ""


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise NdjsonError(f"{path}: no manifest; is this a threadline export?") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise NdjsonError(f"{path}: not a threadline manifest: {exc}") from None


def import_directory(
    engine: Engine,
    directory: Path,
    *,
    project: str | None = None,
    strict: bool = False,
    max_messages: int = 500,
    bars: BarFactory = no_bars,
) -> NdjsonImport:
    """Import an export made by `export_project` into `project` (default: the exported
    project's name). Idempotent: records already stored unchanged are skipped."""
    manifest = read_manifest(directory)
    problems = _check_manifest(directory, manifest)
    if strict:
        # Every line checked before anything is written.
        tally = Tally()
        for file in _files(manifest, problems):
            for _ in _records(directory, file, problems, tally):
                pass
        if problems:
            raise NdjsonError("--strict: problems found; nothing was written", problems)
    tally = Tally()
    sink = Sink(engine, project or manifest.project.name, max_messages=max_messages, tally=tally)
    for file in _files(manifest, [] if strict else problems):
        bar = bars(PLURAL[file.kind], file.count, 0)
        batch: list[Record] = []
        for record in _records(directory, file, [] if strict else problems, tally):
            batch.append(record)
            if len(batch) >= BATCH:
                sink.write(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            sink.write(batch)
            bar.update(len(batch))
        bar.close()
    return NdjsonImport(tally, problems, sink.project_id)


def _check_manifest(directory: Path, manifest: Manifest) -> list[str]:
    problems = []
    if manifest.format != FORMAT:
        problems.append(f"{MANIFEST}: format {manifest.format!r}, expected {FORMAT!r}")
    if manifest.schemaVersion != SCHEMA_VERSION:
        problems.append(
            f"{MANIFEST}: schemaVersion {manifest.schemaVersion}; this threadline reads "
            f"{SCHEMA_VERSION} (each line's own version decides whether it is imported)"
        )
    for file in manifest.files:
        path = directory / file.path
        if not path.is_file():
            problems.append(f"{file.path}: named in the manifest but missing")
        elif _sha256(path) != file.sha256:
            problems.append(f"{file.path}: SHA-256 differs from the manifest's (changed or cut?)")
    return problems


def _files(manifest: Manifest, problems: list[str]) -> list[_FileEntry]:
    """The manifest's files of known kinds, in the order they must be written."""
    known = []
    for file in manifest.files:
        if file.kind not in KINDS:
            problems.append(f"{file.path}: unknown kind {file.kind!r}; its lines are skipped")
        else:
            known.append(file)
    return sorted(known, key=lambda f: KINDS.index(f.kind))


def _open_read(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")


def _records(
    directory: Path, file: _FileEntry, problems: list[str], tally: Tally
) -> Iterator[Record]:
    """The file's good records; a bad line is added to `problems` (file:line: why)."""
    path = directory / file.path
    if not path.is_file():
        return
    lines = 0
    try:
        with _open_read(path) as stream:
            for number, text in enumerate(stream, start=1):
                lines = number
                if not text.strip():
                    continue
                where = f"{file.path}:{number}"
                try:
                    record = _record(text, file.kind, where)
                except _BadLine as bad:
                    problems.append(f"{where}: {bad}")
                    tally.add(PLURAL.get(file.kind, file.kind), "refused", reason="bad line")
                    continue
                yield record
    except (OSError, EOFError) as exc:  # a cut or corrupt gzip stream
        problems.append(f"{file.path}:{lines + 1}: unreadable: {exc}")
        return
    if lines != file.count:
        problems.append(f"{file.path}: {lines} lines, the manifest says {file.count}")


class _BadLine(Exception):
    pass


def _record(text: bytes, file_kind: str, where: str) -> Record:
    try:
        line = _line_decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _BadLine(f"malformed line: {exc}") from None
    if line.version != SCHEMA_VERSION:
        raise _BadLine(f"schema version {line.version}; this threadline reads {SCHEMA_VERSION}")
    if line.kind not in KINDS:
        raise _BadLine(f"unknown kind {line.kind!r}")
    if line.kind != file_kind:
        raise _BadLine(f"a {line.kind} in the file of {PLURAL[file_kind]}")
    if line.kind == "integration":
        try:
            found = msgspec.json.decode(line.record, type=_IntegrationIn)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise _BadLine(f"bad integration: {exc}") from None
        body: Any = IntegrationRecord(found.id, found.name, found.createdAt)
        return Record("integration", body, where)
    try:
        body = decode(line.record, _TYPES[line.kind])
    except BadRequest as exc:
        raise _BadLine(reason_of(exc)) from None
    return Record(line.kind, body, where, line.integrationId, line.keyKind)
