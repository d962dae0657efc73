"""Each query view's fields as data: the wire name, its kind (which decides the operators,
aggregations and time buckets it takes), and the SQL expression behind it (reference §7.9)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, func, select, union_all
from sqlalchemy.sql.elements import KeyedColumnElement

from threadline.store.tables import conversations, events, feedback, messages, semantic_threads
from threadline.wire.query import VIEW_FIELDS


class Kind(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    TIME = "time"  # integer microseconds in storage, ISO 8601 strings on the wire
    BOOLEAN = "boolean"
    OBJECT = "object"  # a JSON object (properties, userProperties)
    ARRAY = "array"  # a JSON array (reasons, sources, languages, ...)

    @property
    def is_json(self) -> bool:
        return self in (Kind.OBJECT, Kind.ARRAY)


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    expression: ColumnElement[Any]
    # The SDK types some result keys as present-or-absent but never null (reference §10.12):
    # those are left out of a row when their value is null.
    nullable: bool = True
    # Events' properties and userProperties are typed "object of strings" in the SDK (§7.9):
    # non-string values are sent JSON-encoded.
    string_values: bool = False
    # Needs the view's join (e.g. a feedback's conversation comes from its message).
    joined: bool = False
    # Keys of a JSON field that property discovery leaves out (docs/decisions.md).
    undiscovered_keys: frozenset[str] = frozenset()
    # For a joined field: `field = value` in the project, said without the view's join.
    equals_without_join: Callable[[str, str], ColumnElement[bool]] | None = None


@dataclasses.dataclass(frozen=True)
class View:
    name: str  # conversations, events, feedback, semantic_threads
    fields: dict[str, Field]
    table: FromClause
    joined_table: FromClause  # table with the joins some fields need
    project_id: KeyedColumnElement[str]
    # Default for a time selection without a field (reference §11.7).
    default_time: str
    # Unique within a project: the last tie-breaker, so a page and an export are deterministic.
    row_id: ColumnElement[str]
    # Columns the semantic-threads `query` text is searched in.
    searchable: tuple[ColumnElement[str], ...] = ()
    # The column a ranking names rows by (a search's answer, best first): the row id unless
    # set (semantic search ranks threads by seq: query.semantic.ranked).
    ranked_by: ColumnElement[Any] | None = None

    def field(self, name: str) -> Field:
        return self.fields[name]

    @property
    def ranking_key(self) -> ColumnElement[Any]:
        return self.row_id if self.ranked_by is None else self.ranked_by


def _view(
    name: str, table: FromClause, joined: FromClause, fields: list[Field], **kw: object
) -> View:
    by_name = {f.name: f for f in fields}
    assert tuple(by_name) == VIEW_FIELDS[name], f"catalogue and wire disagree on {name}"
    return View(
        name=name,
        fields=by_name,
        table=table,
        joined_table=joined,
        **kw,  # type: ignore[arg-type]
    )


S, N, T, B, J, A = Kind.STRING, Kind.NUMBER, Kind.TIME, Kind.BOOLEAN, Kind.OBJECT, Kind.ARRAY
c = conversations.c
CONVERSATIONS = _view(
    "conversations",
    conversations,
    conversations,
    [
        Field("id", S, c.id, nullable=False),
        Field("userMessageCount", N, c.user_message_count, nullable=False),
        # threadline has no organisations: a project is its own organisation (§10.20).
        Field("organizationId", S, c.project_id, nullable=False),
        Field("projectId", S, c.project_id),
        Field("integrationId", S, c.integration_id),
        # A conversation logged without messages has no first message; its creation stands in.
        Field("firstMessageTime", T, func.coalesce(c.first_message_at, c.created_at)),
        Field("type", S, c.type),
        Field("properties", J, c.properties),
        Field("userProperties", J, c.user_properties),
    ],
    project_id=c.project_id,
    default_time="firstMessageTime",
    row_id=c.id,
)

e = events.c
# A message event names its message; its conversation is the message's (reference §11.9).
_event_message = messages.alias("event_message")


def _event_in_conversation(conversation_id: str, project_id: str) -> ColumnElement[bool]:
    """An event of this conversation: it names it, or names none and its message is one of
    the conversation's (a message id is unique in its project, so the join finds at most one).
    Said so, a conversation's events are found by index lookups (SQLite, PostgreSQL) or by
    scanning two columns (DuckDB), not by joining every event to its message (600 ms at 10M
    events on the columnar copy: docs/performance.md). A union of the two ways rather than an
    OR: with the OR, DuckDB reads every column of every event before filtering."""
    its_messages = select(messages.c.id).where(
        messages.c.project_id == project_id, messages.c.conversation_id == conversation_id
    )
    found = events.alias("conversation_event")
    naming = select(found.c.seq).where(
        found.c.project_id == project_id, found.c.conversation_id == conversation_id
    )
    through_message = select(found.c.seq).where(
        found.c.project_id == project_id,
        found.c.conversation_id.is_(None),
        found.c.message_id.in_(its_messages),
    )
    return e.seq.in_(union_all(naming, through_message))


EVENTS = _view(
    "events",
    events,
    events.outerjoin(
        _event_message,
        and_(
            _event_message.c.project_id == e.project_id,
            _event_message.c.id == e.message_id,
        ),
    ),
    [
        Field("id", S, e.id, nullable=False),
        Field("organizationId", S, e.project_id, nullable=False),
        Field("messageId", S, e.message_id, nullable=False),
        Field(
            "conversationId",
            S,
            func.coalesce(e.conversation_id, _event_message.c.conversation_id),
            nullable=False,
            joined=True,
            equals_without_join=_event_in_conversation,
        ),
        Field("createdAt", T, e.created_at, nullable=False),
        Field("projectId", S, e.project_id),
        Field("integrationId", S, e.integration_id),
        # The logged event's entityType (message, conversation, search): reference §11.9.
        Field("eventType", S, e.entity_type, nullable=False),
        Field("type", S, e.type, nullable=False),
        Field("searchQuery", S, e.search_query, nullable=False),
        # Inkeep's widget embeds its whole conversation in every event (widget §5): stored
        # whole, but not offered as a filter key.
        Field(
            "properties",
            J,
            e.properties,
            string_values=True,
            undiscovered_keys=frozenset({"conversation"}),
        ),
        Field("userProperties", J, e.user_properties, string_values=True),
    ],
    project_id=e.project_id,
    default_time="createdAt",
    row_id=e.id,
)

f = feedback.c
_rated_message = messages.alias("rated_message")
FEEDBACK = _view(
    "feedback",
    feedback,
    feedback.outerjoin(
        _rated_message,
        and_(_rated_message.c.project_id == f.project_id, _rated_message.c.id == f.message_id),
    ),
    [
        Field("id", S, f.id, nullable=False),
        Field("type", S, f.type, nullable=False),
        Field("messageId", S, f.message_id, nullable=False),
        Field("createdAt", T, f.created_at),
        Field("updatedAt", T, f.updated_at),
        Field("organizationId", S, f.project_id, nullable=False),
        Field("reasons", A, f.reasons),
        Field("sources", A, f.sources),
        Field("details", S, f.details),
        Field("properties", J, f.properties),
        Field("userProperties", J, f.user_properties),
        Field(
            "conversationId",
            S,
            _rated_message.c.conversation_id,
            nullable=False,
            joined=True,
        ),
        Field("projectId", S, f.project_id),
        Field("integrationId", S, f.integration_id),
    ],
    project_id=f.project_id,
    default_time="createdAt",
    row_id=f.id,
)

t = semantic_threads.c
SEMANTIC_THREADS = _view(
    "semantic_threads",
    semantic_threads,
    semantic_threads,
    [
        Field("id", S, t.id, nullable=False),
        Field("messageIds", A, t.message_ids),
        Field("messagesCount", N, t.messages_count),
        Field("organizationId", S, t.project_id, nullable=False),
        Field("question", S, t.question, nullable=False),
        Field("questionLength", N, t.question_length),
        Field("answer", S, t.answer, nullable=False),
        Field("isOnTopic", B, t.is_on_topic),
        Field("isClear", B, t.is_clear),
        Field("isDocumented", B, t.is_documented),
        Field("isFeatureSupported", B, t.is_feature_supported),
        Field("isAnswerConfident", B, t.is_answer_confident),
        Field("gapSummary", S, t.gap_summary),
        Field("subject", S, t.subject),
        Field("category", S, t.category),
        Field("questionType", S, t.question_type),
        Field("languages", A, t.languages),
        Field("firstPartyEntities", A, t.first_party_entities),
        Field("thirdPartyEntities", A, t.third_party_entities),
        Field("emotion", S, t.emotion),
        Field("sentiment", S, t.sentiment),
        Field("projectId", S, t.project_id, nullable=False),
        Field("integrationId", S, t.integration_id, nullable=False),
        Field("properties", J, t.properties),
        Field("userProperties", J, t.user_properties),
        Field("firstMessageTime", T, t.first_message_at, nullable=False),
        Field("lastMessageTime", T, t.last_message_at, nullable=False),
        Field("lastUpdated", T, t.last_updated_at, nullable=False),
        Field("hasPositiveFeedback", B, t.has_positive_feedback, nullable=False),
        Field("hasNegativeFeedback", B, t.has_negative_feedback, nullable=False),
        Field("conversationIds", A, t.conversation_ids, nullable=False),
        Field("areAIAnnotationsVerified", B, t.are_ai_annotations_verified),
        Field("isInitialQuestionAnswer", B, t.is_initial_question_answer, nullable=False),
    ],
    project_id=t.project_id,
    default_time="firstMessageTime",
    row_id=t.id,
    searchable=(t.question, t.answer),
    ranked_by=t.seq,
)

VIEWS = {view.name: view for view in (CONVERSATIONS, EVENTS, FEEDBACK, SEMANTIC_THREADS)}
# Views as property discovery names them (reference §8.1).
VIEWS_BY_WIRE_NAME = {f"{name}_view": view for name, view in VIEWS.items()}
