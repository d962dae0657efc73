"""The schema, in SQLAlchemy Core. Alembic migrations in migrations/versions/ create it.

Conventions:
- every timestamp column holds integer microseconds since the epoch, UTC (threadline.timestamps);
- client-visible ids are unique per project, never globally: two projects may use the same ids;
- `seq` is an ever-growing surrogate key, so readers (exports, rollups) can follow new rows;
- JSON columns are JSONB on PostgreSQL (indexable, containment operators) and JSON text on SQLite.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB

# Constraint names are spelled out so they match on SQLite and PostgreSQL, and Alembic can
# find them again in later migrations.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Seq = BigInteger().with_variant(Integer(), "sqlite")
Micros = BigInteger()


def _seq() -> Column[int]:
    return Column("seq", Seq, primary_key=True, autoincrement=True)


projects = Table(
    "projects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", Micros, nullable=False),
    # Days its data is kept (threadline.maintenance.retention); NULL: forever (migration 0011).
    Column("retention_days", Integer),
)

integrations = Table(
    "integrations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Micros, nullable=False),
    ForeignKeyConstraint(["project_id"], ["projects.id"]),
    UniqueConstraint("project_id", "name"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project_id", String(64), nullable=False),
    Column("integration_id", String(64), nullable=False),
    # "web" keys may only write (and read one conversation back); "api" keys read and write.
    Column("kind", String(16), nullable=False),
    # SHA-256 of the whole key; the key itself is shown once and never stored.
    Column("key_hash", String(64), nullable=False, unique=True),
    # The first characters of the key, to tell keys apart in listings.
    Column("prefix", String(32), nullable=False),
    Column("created_at", Micros, nullable=False),
    Column("revoked_at", Micros),
    # From this moment the key is refused like a revoked one; NULL: never (migration 0010).
    Column("expires_at", Micros),
    # When a request last came with the key, to within a minute (threadline.auth batches it).
    Column("last_used_at", Micros),
    ForeignKeyConstraint(["project_id"], ["projects.id"]),
    ForeignKeyConstraint(["integration_id"], ["integrations.id"]),
)

conversations = Table(
    "conversations",
    metadata,
    _seq(),
    Column("project_id", String(64), nullable=False),
    Column("id", Text, nullable=False),
    Column("integration_id", String(64)),
    # The kind of key that created the row ("web" or "api"; NULL: unknown, treated as "api"):
    # a web key may change only what web keys wrote (store.ownership).
    Column("key_kind", String(16)),
    Column("type", String(32), nullable=False),
    Column("external_id", Text),
    Column("external_url", Text),
    Column("support_ticket_conversation_id", Text),
    Column("properties", Json),
    Column("user_properties", Json),
    Column("tags", Json),
    Column("visibility", String(16)),
    # Kept up to date by every upsert, for the conversations query view (reference §7.9).
    Column("user_message_count", Integer, nullable=False, server_default="0"),
    Column("message_count", Integer, nullable=False, server_default="0"),
    Column("first_message_at", Micros),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    UniqueConstraint("project_id", "id"),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "external_id"),
)

messages = Table(
    "messages",
    metadata,
    _seq(),
    Column("project_id", String(64), nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    # Order within the conversation: 0, 1, 2, ... as first posted.
    Column("position", Integer, nullable=False),
    Column("role", Text, nullable=False),
    # String content; array content (OpenAI parts) goes to content_parts instead.
    Column("content", Text),
    Column("content_parts", Json),
    Column("external_id", Text),
    Column("external_url", Text),
    Column("name", Text),
    Column("links", Json),
    Column("tool_calls", Json),
    Column("properties", Json),
    Column("user_properties", Json),
    Column("metadata", Json),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    # A hash of the message as last posted (store.conversations): a re-post carrying the same
    # message is recognised without reading or comparing its stored columns. NULL: unknown.
    Column("digest", String(32)),
    UniqueConstraint("project_id", "id"),
    Index(None, "project_id", "conversation_id", "position"),
    Index(None, "project_id", "created_at"),
)

feedback = Table(
    "feedback",
    metadata,
    _seq(),
    Column("project_id", String(64), nullable=False),
    Column("id", Text, nullable=False),
    Column("integration_id", String(64)),
    Column("key_kind", String(16)),  # as in conversations
    Column("message_id", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("reasons", Json),
    Column("details", Text),
    Column("sources", Json),
    Column("properties", Json),
    Column("user_properties", Json),
    Column("created_at", Micros, nullable=False),
    Column("updated_at", Micros, nullable=False),
    UniqueConstraint("project_id", "id"),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "message_id"),
)

events = Table(
    "events",
    metadata,
    _seq(),
    Column("project_id", String(64), nullable=False),
    Column("id", Text, nullable=False),
    Column("integration_id", String(64)),
    Column("entity_type", String(16), nullable=False),
    Column("type", Text, nullable=False),
    Column("message_id", Text),
    Column("conversation_id", Text),
    Column("search_query", Text),
    Column("properties", Json),
    Column("user_properties", Json),
    Column("created_at", Micros, nullable=False),
    UniqueConstraint("project_id", "id"),
    Index(None, "project_id", "created_at"),
    Index(None, "project_id", "type", "created_at"),
    Index(None, "project_id", "conversation_id"),
    Index(None, "project_id", "message_id"),
)

# Question-and-answer units derived from conversations and annotated (reference §7.9). No API
# writes them; the insight pipeline (a later issue) fills this table. Until then it is empty and
# the semantic-threads queries answer valid, empty results.
semantic_threads = Table(
    "semantic_threads",
    metadata,
    _seq(),
    Column("project_id", String(64), nullable=False),
    Column("id", Text, nullable=False),
    Column("integration_id", String(64)),
    Column("message_ids", Json),
    Column("messages_count", Integer),
    Column("question", Text),
    Column("question_length", Integer),
    Column("answer", Text),
    Column("is_on_topic", Boolean),
    Column("is_clear", Boolean),
    Column("is_documented", Boolean),
    Column("is_feature_supported", Boolean),
    Column("is_answer_confident", Boolean),
    Column("gap_summary", Text),
    Column("subject", Text),
    Column("category", Text),
    Column("question_type", Text),
    Column("languages", Json),
    Column("first_party_entities", Json),
    Column("third_party_entities", Json),
    Column("emotion", Text),
    Column("sentiment", Text),
    Column("properties", Json),
    Column("user_properties", Json),
    Column("first_message_at", Micros),
    Column("last_message_at", Micros),
    Column("last_updated_at", Micros),
    Column("has_positive_feedback", Boolean),
    Column("has_negative_feedback", Boolean),
    Column("conversation_ids", Json),
    Column("are_ai_annotations_verified", Boolean),
    Column("is_initial_question_answer", Boolean),
    UniqueConstraint("project_id", "id"),
    Index(None, "project_id", "first_message_at"),
)

# Which rows of conversations, messages, feedback and semantic threads were written or deleted,
# in commit order (on one writer; see store.follow for several). Triggers fill it (migration
# 0004), so no write path can forget; the columnar copy reads it and re-copies those rows.
changes = Table(
    "changes",
    metadata,
    _seq(),
    Column("table_name", String(32), nullable=False),
    Column("row_seq", BigInteger, nullable=False),
    Column("created_at", Micros, nullable=False),
    Index(None, "created_at"),
)

# One row: a random id given to the database when it was created (migration 0004).
store_identity = Table("store_identity", metadata, Column("id", String(36), primary_key=True))

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("project_id", String(64), nullable=False),
    # The bearer key that sent it: header values are scoped per key (migration 0005).
    Column("key_id", String(64), nullable=False),
    # The client's Idempotency-Key header value.
    Column("key", String(255), nullable=False),
    # SHA-256 of the method, path and decoded body: the same key with another body is refused.
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    # The response body as first sent, replayed byte for byte to retries.
    Column("response", Text, nullable=False),
    Column("created_at", Micros, nullable=False),
    PrimaryKeyConstraint("key_id", "key"),
    Index(None, "created_at"),
)

# Signed-in dashboard browsers (migration 0008). The cookie carries a random token; only its
# SHA-256 is kept, so a copy of this table opens no session. Signing out deletes the row; a row
# idle or old beyond the settings no longer opens pages and is swept.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_id", String(64), nullable=False),
    Column("created_at", Micros, nullable=False),
    # Written at most once a minute per session (dashboard.session.TOUCH_SECONDS).
    Column("last_seen_at", Micros, nullable=False),
    ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
    Index(None, "last_seen_at"),
)

# -- The insight pipeline's own state (threadline.insights; migration 0007) -----------------

# One row per semantic thread the pipeline wrote: its question's embedding (int8, 384 bytes),
# the hash of the text it was labelled from (an unchanged history is not labelled again), and
# its conversation (to find a conversation's threads without reading JSON).
thread_vectors = Table(
    "thread_vectors",
    metadata,
    Column("project_id", String(64), nullable=False),
    Column("thread_id", Text, nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    # Its question and answer in the multilingual space subjects are clustered in (512 int8
    # bytes, insights.subject_embed; migration 0014). Null for threads labelled before that.
    Column("subject_vector", LargeBinary),
    # The subject (insight_subjects.id) the thread was given; null before the first clustering.
    Column("subject_id", Integer),
    Column("created_at", Micros, nullable=False),
    PrimaryKeyConstraint("project_id", "thread_id"),
    Index(None, "project_id", "conversation_id"),
)

# Conversations waiting to be (re)labelled. A worker leases a row (lease_until) so that of
# several instances exactly one labels it; a failure pushes due_at back and keeps the row.
insights_queue = Table(
    "insights_queue",
    metadata,
    Column("project_id", String(64), nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("due_at", Micros, nullable=False),
    # Bumped by every enqueue: a worker deletes the row only if nobody enqueued it again
    # while it was labelling.
    Column("version", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", Micros),
    PrimaryKeyConstraint("project_id", "conversation_id"),
    Index(None, "due_at"),
)

# Named counters: how far the pipeline has followed `changes`, when a project was clustered.
insights_state = Table(
    "insights_state",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# A project's subjects: a name, its category, and the centroid new threads are compared with
# (in the subject vectors' space since migration 0014; older 384-byte centroids are ignored).
insight_subjects = Table(
    "insight_subjects",
    metadata,
    Column("project_id", String(64), nullable=False),
    Column("id", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("centroid", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    PrimaryKeyConstraint("project_id", "id"),
)

# Per-project settings (`threadline projects set`): the operator's product names, whether the
# project's threads may be sent to the configured LLM labeller (off unless opted in), and the
# kinds of personal data redacted at ingest (threadline.privacy; comma-separated, NULL: none).
project_settings = Table(
    "project_settings",
    metadata,
    Column("project_id", String(64), primary_key=True),
    Column("product_names", Json),
    Column("llm", Boolean, nullable=False, server_default=false()),
    Column("updated_at", Micros, nullable=False),
    Column("redact", String(200)),
)

# How far `threadline import api` got (migration 0013): one row per target project, source
# server and kind (conversations, feedback, events). The cursor is written in the same
# transaction as the rows it covers, so an interrupted import resumes exactly there.
imports = Table(
    "imports",
    metadata,
    Column("project_id", String(64), nullable=False),
    Column("source", String(500), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("cursor", Text, nullable=False),  # JSON, its shape per kind (transfer.checkpoints)
    Column("updated_at", Micros, nullable=False),
    PrimaryKeyConstraint("project_id", "source", "kind"),
)

INSIGHT_TABLES = (
    thread_vectors,
    insights_queue,
    insights_state,
    insight_subjects,
    project_settings,
)

DATA_TABLES = (
    imports,
    dashboard_sessions,
    *INSIGHT_TABLES,
    changes,
    semantic_threads,
    idempotency_keys,
    events,
    feedback,
    messages,
    conversations,
    api_keys,
    integrations,
    projects,
)
