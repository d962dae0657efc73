"""Merging a posted message history into a stored conversation, incrementally.

A post carries the whole history (reference §4.4) but usually adds one or two messages to it, so
the stored side is read only for the posted ids, and only (conversation, seq, digest) of them.
A message whose digest (a hash of it as posted, id aside) equals the stored one is unchanged by
construction and costs nothing more; only the others have their stored row read and compared,
and only new messages are inserted. The conversation's counters are carried forward from its
row, not recounted, and the per-conversation cap is checked before anything is written.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import Connection, bindparam, func, select

from threadline.errors import FieldViolation, Unprocessable
from threadline.ids import positional_message_id
from threadline.store.fields import sent
from threadline.store.prebuilt import PrebuiltInsert, PrebuiltSelect, marker, scalar
from threadline.store.tables import messages
from threadline.timestamps import given_or
from threadline.wire.conversations import OpenAIMessageIn, SupportMessageIn

Message = OpenAIMessageIn | SupportMessageIn

_CREATED = {"createdAt": "created_at"}
_MESSAGE_COLUMNS = {
    "externalId": "external_id",
    "externalUrl": "external_url",
    "name": "name",
    "links": "links",
    "properties": "properties",
    "userProperties": "user_properties",
    "metadata": "metadata",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
_TIMESTAMPS = ("created_at", "updated_at")
# Every new message row carries every column: an executemany takes its columns from the first row.
_EMPTY_MESSAGE = dict.fromkeys(
    ["content", "content_parts", "tool_calls", *_MESSAGE_COLUMNS.values()]
)
_ENCODER = msgspec.json.Encoder()
_INSERT = PrebuiltInsert(
    messages,
    (
        "project_id",
        "conversation_id",
        "id",
        "position",
        "role",
        "content",
        "content_parts",
        "tool_calls",
        *_MESSAGE_COLUMNS.values(),
        "digest",
    ),
)


_LAST_POSITION = (
    "SELECT max(position) FROM messages WHERE project_id = {0} AND conversation_id = {0}"
)


@dataclasses.dataclass(frozen=True)
class Target:
    """The conversation a post is merged into."""

    project_id: str
    conversation_id: str
    # Its stored row, locked; None when this post creates it.
    stored: Mapping[Any, Any] | None
    max_messages: int
    # Only new messages are written; posted changes to stored ones are left unapplied (a web
    # key extending a conversation that names no user: store.ownership).
    append_only: bool = False


@dataclasses.dataclass
class _Counters:
    """The conversation's derived columns, carried forward from its row."""

    message_count: int
    user_message_count: int
    first_message_at: int | None
    # A stored message's createdAt changed: the minimum must be looked up again.
    recount_first: bool = False

    def add(self, role: str, created_at: int) -> None:
        self.message_count += 1
        self.user_message_count += role == "user"
        if self.first_message_at is None or created_at < self.first_message_at:
            self.first_message_at = created_at


def first_posted_at(incoming: Sequence[Message], now: int) -> int | None:
    """The first message time a conversation created by this post will have (as _Counters
    keeps it), for its row's insert: set then, the merge's update leaves it as it is, and
    nothing keyed by it moves (SQLite's search document, migration 0019)."""
    times = [given_or(sent(message, _CREATED).get("created_at"), now) for message in incoming]
    return min(times, default=None)


def digest(message: Message) -> str:
    """A hash of the message as posted. The id is left out: it is the key the digest is stored
    under, and a client that first posts without ids later re-posts with the ones answered."""
    posted = _ENCODER.encode(msgspec.structs.replace(message, id=UNSET))
    return hashlib.blake2b(posted, digest_size=16).hexdigest()


def message_values(message: Message) -> dict[str, Any]:
    values = sent(message, _MESSAGE_COLUMNS)
    values["role"] = message.role
    if isinstance(message, OpenAIMessageIn):
        text = message.content if isinstance(message.content, str) else None
        values["content"] = text
        values["content_parts"] = None if text is not None else message.content
        tool_calls = message.tool_calls if message.tool_calls is not UNSET else message.toolCalls
        if tool_calls is not UNSET:
            values["tool_calls"] = tool_calls
    elif message.content is not UNSET:
        values["content"] = message.content
    # Compare and store plain JSON values, not Structs.
    return {k: msgspec.to_builtins(v) for k, v in values.items()}


@dataclasses.dataclass(frozen=True)
class Merged:
    # The conversation's derived columns (counts, first message time) as they now are.
    changes: dict[str, Any]
    # The posted messages as now stored, in the order the post first named them.
    rows: list[Mapping[Any, Any]]


def merge_messages(
    connection: Connection, target: Target, incoming: Sequence[Message], now: int
) -> Merged:
    """Apply the posted messages. Raises Unprocessable, having written nothing, for a message
    id twice among the new ones, one that belongs to another conversation, or a post beyond
    the cap."""
    posted = [
        (message.id or positional_message_id(target.conversation_id, index), message)
        for index, message in enumerate(incoming)
    ]
    known = _known(connection, target.project_id, [message_id for message_id, _ in posted])
    # What the answer shows: the stored rows read above, with this post's writes applied.
    now_stored: dict[str, Mapping[Any, Any]] = {}
    changed: list[tuple[Mapping[Any, Any], Message, str]] = []
    new: dict[str, tuple[Message, str]] = {}
    for message_id, message in posted:
        row = known.get(message_id)
        if row is not None and row["conversation_id"] == target.conversation_id:
            now_stored[message_id] = row
            posted_digest = digest(message)
            if row["digest"] != posted_digest:
                changed.append((row, message, posted_digest))
            continue
        if message_id in new:
            raise Unprocessable(f"message id {message_id!r} appears twice in this conversation")
        new[message_id] = (message, digest(message))
    _check_not_elsewhere(known, new)
    counters = _counters(target.stored)
    _check_cap(target, counters.message_count + len(new))
    if not target.append_only:
        _update(connection, changed, now, counters, now_stored)
    _insert(connection, target, new, now, counters, now_stored)
    if counters.recount_first:
        counters.first_message_at = connection.execute(
            select(func.min(messages.c.created_at)).where(
                messages.c.project_id == target.project_id,
                messages.c.conversation_id == target.conversation_id,
            )
        ).scalar_one()
    changes = {
        "message_count": counters.message_count,
        "user_message_count": counters.user_message_count,
        "first_message_at": counters.first_message_at,
    }
    ids = dict.fromkeys(message_id for message_id, _ in posted)
    return Merged(changes=changes, rows=[now_stored[message_id] for message_id in ids])


# One prebuilt statement per length of a post's id list (store.prebuilt).
_KNOWN = PrebuiltSelect(messages, ("project_id",), among="id")


def _known(connection: Connection, project_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored messages among the posted ids, in any conversation: ids are unique within a
    project. Read through the (project_id, id) unique index, never the whole history; the
    rows are compared where digests differ and are the answer where they match."""
    rows = _KNOWN.rows(connection, (project_id,), list(dict.fromkeys(ids)))
    return {row["id"]: row for row in rows}


def _check_not_elsewhere(
    known: dict[str, dict[str, Any]], new: dict[str, tuple[Message, str]]
) -> None:
    for message_id in new:
        row = known.get(message_id)
        if row is not None:
            raise Unprocessable(
                f"message id {message_id!r} already belongs to conversation "
                f"{row['conversation_id']!r}; message ids are unique within a project"
            )


def _counters(stored: Mapping[Any, Any] | None) -> _Counters:
    if stored is None:
        return _Counters(message_count=0, user_message_count=0, first_message_at=None)
    return _Counters(
        message_count=stored["message_count"],
        user_message_count=stored["user_message_count"],
        first_message_at=stored["first_message_at"],
    )


def _check_cap(target: Target, total: int) -> None:
    if total <= target.max_messages:
        return
    detail = (
        f"this post would bring conversation {target.conversation_id!r} to {total} messages; "
        f"a conversation holds at most {target.max_messages}"
    )
    raise Unprocessable(detail, violations=[FieldViolation(field="$.messages", message=detail)])


def _update(
    connection: Connection,
    changed: list[tuple[Mapping[Any, Any], Message, str]],
    now: int,
    counters: _Counters,
    now_stored: dict[str, Mapping[Any, Any]],
) -> None:
    """Write what changed in messages already stored whose digest differs from the posted one:
    one executemany per set of changed columns, so a post that edits every message of a long
    conversation costs the writer one statement, not one per message."""
    seqs = [old["seq"] for old, _, _ in changed]
    repeated = {seq for seq in seqs if seqs.count(seq) > 1} if len(set(seqs)) < len(seqs) else set()
    updates: list[dict[str, Any]] = []
    for old, message, posted_digest in changed:
        # A null timestamp on a re-post means "unknown", not "clear": keep the stored one.
        values = {
            k: v
            for k, v in message_values(message).items()
            if v is not None or k not in _TIMESTAMPS
        }
        # Compared with the row as read, also for an id posted twice (as before digests).
        changes = {k: v for k, v in values.items() if old[k] != v}
        if changes:
            changes.setdefault("updated_at", now)
            _count_change(old, changes, counters)
        # One id posted twice with different content: neither post alone describes the row.
        changes["digest"] = None if old["seq"] in repeated else posted_digest
        updates.append({**changes, "w_seq": old["seq"]})
        now_stored[old["id"]] = {**now_stored[old["id"]], **changes}
    if updates:
        _execute_updates(connection, updates, in_order=bool(repeated))


def _execute_updates(
    connection: Connection, updates: list[dict[str, Any]], *, in_order: bool
) -> None:
    if in_order:  # the same row more than once: one statement each, in post order
        for row in updates:
            connection.execute(_update_statement(frozenset(row) - {"w_seq"}), row)
        return
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in updates:
        by_columns.setdefault(frozenset(row) - {"w_seq"}, []).append(row)
    for columns, rows in by_columns.items():
        connection.execute(_update_statement(columns), rows)


@functools.cache
def _update_statement(columns: frozenset[str]) -> Any:
    return (
        messages.update()
        .where(messages.c.seq == bindparam("w_seq"))
        .values({name: bindparam(name) for name in sorted(columns)})
    )


def _count_change(old: Mapping[Any, Any], changes: dict[str, Any], counters: _Counters) -> None:
    if "role" in changes:
        counters.user_message_count += (changes["role"] == "user") - (old["role"] == "user")
    if "created_at" in changes:
        counters.recount_first = True


def _insert(
    connection: Connection,
    target: Target,
    new: dict[str, tuple[Message, str]],
    now: int,
    counters: _Counters,
    now_stored: dict[str, Mapping[Any, Any]],
) -> None:
    if not new:
        return
    statement = _LAST_POSITION.format(marker(connection))
    last = scalar(connection, statement, (target.project_id, target.conversation_id))
    position = -1 if last is None else last
    rows = []
    for message_id, (message, posted_digest) in new.items():
        values = message_values(message)
        position += 1
        row = {
            **_EMPTY_MESSAGE,
            **values,
            "project_id": target.project_id,
            "conversation_id": target.conversation_id,
            "id": message_id,
            "position": position,
            "created_at": given_or(values.get("created_at"), now),
            "updated_at": given_or(values.get("updated_at"), now),
            "digest": posted_digest,
        }
        counters.add(row["role"], row["created_at"])
        rows.append(row)
        now_stored[message_id] = row
    _INSERT.execute(connection, [_INSERT.parameters(row) for row in rows])
