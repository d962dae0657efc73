"""What the dashboard's pages read. Each function takes a connection first and is called through
api.reads.analytic_read (or read(), for one conversation), so it must stay portable SQLAlchemy
Core over store.tables: the analytic path may serve it from a columnar copy.

Tables and charts compile the same wire query bodies as POST /query/<view> (query.run.compile_for,
always confined to the project); what the query language cannot say (messages, text search,
which conversations were rated) is plain Core here, every statement filtered by project_id.
This is the one dashboard module that builds SQL.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, func, select

from threadline.analytics.concurrent import Part, concurrently
from threadline.dashboard.filters import count_by, period_where, times_of
from threadline.dashboard.period import QUARTER_HOUR_US, Period
from threadline.query.catalogue import VIEWS
from threadline.query.compile import QueryCompiler
from threadline.query.counts import MESSAGE_COUNTS
from threadline.query.dialects import sql_of
from threadline.query.run import compile_for
from threadline.query.text_search import Ranked, ranked_conversations
from threadline.store.tables import conversations, events, feedback, integrations, messages

# The time field each view's charts count by (the conversations view's date is its first message).
TIME_FIELDS = {"conversations": "firstMessageTime", "feedback": "createdAt", "events": "createdAt"}
SNIPPET_CHARS = 160


# -- the query language, paged ---------------------------------------------------------------


def query_page(
    connection: Connection,
    *,
    view: str,
    body: Any,
    project_id: str,
    limit: int,
    offset: int,
    ranking: Sequence[Any] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a wire query's rows (rendered as POST /query/<view> renders them) and how
    many rows match in all. The API answers a first page only; the dashboard pages on.
    `ranking`: a semantic search's threads, as compile_for takes it."""
    compiled = compile_for(connection, view, body, project_id, ranking=ranking)
    rows = connection.execute(compiled.page(limit, offset)).all()
    total = connection.execute(compiled.count_statement()).scalar_one()
    return [compiled.render(row) for row in rows], total


def query_rows(
    connection: Connection,
    *,
    view: str,
    body: Any,
    project_id: str,
    limit: int,
    ranking: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """query_page's rows without its count, for a caller that has the total already (a text
    search counted its matches; the count here scanned the copy's conversations again)."""
    compiled = compile_for(connection, view, body, project_id, ranking=ranking)
    return [compiled.render(row) for row in connection.execute(compiled.page(limit)).all()]


def _buckets(
    connection: Connection, times: Select[Any], period: Period, weight: Any = None
) -> list[int]:
    """Rows of `times` (a query whose time column `c0` is in µs) per local day of `period`,
    summing `weight` (its column of counts) if given, else counting rows. The database groups
    them by Period.buckets (a day when the zone's offset stays put) and Python folds those
    into local days. The bounds are said again so no row outside the period meets the integer
    division, which rounds negative numbers differently on each backend."""
    inner = times.subquery()
    origin, width = period.buckets()
    slot = ((inner.c.c0 - origin) // width).label("slot")
    rows = func.count() if weight is None else func.sum(inner.c[weight])
    statement = (
        select(slot, rows).where(inner.c.c0 >= origin, inner.c.c0 < period.end_us).group_by(slot)
    )
    # .all(): one fetch of every row; iterating fetches them one at a time (slow on DuckDB).
    found = connection.execute(statement).all()
    return period.fold((origin + int(n) * width, int(count)) for n, count in found)


def daily_counts(
    connection: Connection, *, view: str, where: dict[str, Any], project_id: str, period: Period
) -> list[int]:
    """Rows of a view matching `where`, per local day of `period`; summed from the columnar
    copy's rollup of event counts when it can count them (query.counts)."""
    body = times_of(view, TIME_FIELDS[view], where)
    compiled = compile_for(connection, view, body, project_id)
    if compiled.counted is not None:
        return _buckets(connection, compiled.counted, period, weight="weight")
    return _buckets(connection, compiled.unordered, period)


def counts_by(
    connection: Connection,
    *,
    view: str,
    field: str,
    where: dict[str, Any],
    project_id: str,
    limit: int = 10,
) -> list[tuple[str, int]]:
    """The most frequent values of `field` among matching rows, with their counts."""
    compiled = compile_for(connection, view, count_by(view, field, where), project_id)
    rows = connection.execute(compiled.statement.limit(limit))
    return [(value if value is not None else "", int(count)) for value, count in rows]


# -- the overview ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Overview:
    daily: dict[str, list[int]]  # series name -> count per local day
    previous_totals: dict[str, int]
    feedback_types: dict[str, int]
    previous_feedback_types: dict[str, int]
    top_event_types: list[tuple[str, int]]
    top_integrations: list[tuple[str, int, int, int]]  # id, conversations, events, feedback


def _message_daily(connection: Connection, project_id: str, period: Period) -> list[int]:
    """Messages per local day of `period`: summed from the columnar copy's rollup of messages
    per quarter hour (analytics.rollups.MessageCounts) when it has one and the period starts
    and ends on quarter hours (every zone in use: period.py), else counted."""
    bounds = (period.start_us, period.end_us)
    if sql_of(connection).event_counts and all(b % QUARTER_HOUR_US == 0 for b in bounds):
        k = MESSAGE_COUNTS.c
        counted = select(k.created_at.label("c0"), k.messages.label("weight")).where(
            k.project_id == project_id, k.created_at >= bounds[0], k.created_at < bounds[1]
        )
        return _buckets(connection, counted, period, weight="weight")
    created = messages.c.created_at
    times = select(created.label("c0")).where(
        messages.c.project_id == project_id, created >= bounds[0], created < bounds[1]
    )
    return _buckets(connection, times, period)


def _total(connection: Connection, *, view: str, project_id: str, period: Period) -> int:
    """Rows of a view in `period`."""
    field = TIME_FIELDS[view]
    body = times_of(view, field, period_where(field, period))
    compiled = compile_for(connection, view, body, project_id)
    return int(connection.execute(compiled.count_statement()).scalar_one())


def integration_choices(connection: Connection, *, project_id: str) -> list[tuple[str, str]]:
    """(id, name) of the project's integrations, by name: the filter forms' options. Read with
    read(), not analytic_read(): the columnar copy holds the data tables, not the key tables."""
    rows = connection.execute(
        select(integrations.c.id, integrations.c.name)
        .where(integrations.c.project_id == project_id)
        .order_by(integrations.c.name)
    )
    return [(row.id, row.name) for row in rows]


def _top_integrations(
    per_view: Sequence[list[tuple[str, int]]],
) -> list[tuple[str, int, int, int]]:
    """The 8 most active integrations from counts_by(integrationId) of each of TIME_FIELDS."""
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for slot, counts in enumerate(per_view):
        for integration_id, count in counts:
            per[integration_id][slot] += count
    ranked = sorted(per.items(), key=lambda kv: (-sum(kv[1]), kv[0]))[:8]
    return [(i, c, e, f) for i, (c, f, e) in ranked]


def overview(connection: Connection, *, project_id: str, period: Period) -> Overview:
    """The overview's 20 statements, independent of each other: run at once on the columnar
    copy (analytics.concurrent)."""
    before = period.previous()
    parts: dict[str, Part] = {}
    for view, field in TIME_FIELDS.items():
        where = period_where(field, period)
        parts[f"daily {view}"] = partial(
            daily_counts, view=view, where=where, project_id=project_id, period=period
        )
        parts[f"previous {view}"] = partial(_total, view=view, project_id=project_id, period=before)
        parts[f"integrations {view}"] = partial(
            counts_by,
            view=view,
            field="integrationId",
            where=where,
            project_id=project_id,
            limit=50,
        )
    parts["daily messages"] = partial(_message_daily, project_id=project_id, period=period)
    parts["previous messages"] = partial(_message_daily, project_id=project_id, period=before)
    for name, p in (("feedback types", period), ("previous feedback types", before)):
        parts[name] = partial(
            counts_by,
            view="feedback",
            field="type",
            where=period_where("createdAt", p),
            project_id=project_id,
        )
    parts["event types"] = partial(
        counts_by,
        view="events",
        field="type",
        where=period_where("createdAt", period),
        project_id=project_id,
        limit=8,
    )
    got = dict(zip(parts, concurrently(connection, list(parts.values())), strict=True))
    previous_totals = {view: got[f"previous {view}"] for view in TIME_FIELDS}
    previous_totals["messages"] = sum(got["previous messages"])
    return Overview(
        daily={
            **{view: got[f"daily {view}"] for view in TIME_FIELDS},
            "messages": got["daily messages"],
        },
        previous_totals=previous_totals,
        feedback_types=dict(got["feedback types"]),
        previous_feedback_types=dict(got["previous feedback types"]),
        top_event_types=got["event types"],
        top_integrations=_top_integrations([got[f"integrations {view}"] for view in TIME_FIELDS]),
    )


# -- conversations ---------------------------------------------------------------------------


def _rated(project_id: str, rated: str) -> ColumnElement[bool]:
    """Messages rated so (positive, negative, any)."""
    rating = select(feedback.c.message_id).where(feedback.c.project_id == project_id)
    if rated != "any":
        rating = rating.where(feedback.c.type == rated)
    return messages.c.id.in_(rating)


def matching_conversation_ids(
    connection: Connection,
    *,
    project_id: str,
    period: Period,
    rated: str,
    limit: int,
) -> list[str]:
    """The newest conversations (of the period) holding a message rated `rated`."""
    first = func.coalesce(conversations.c.first_message_at, conversations.c.created_at)
    rated_messages = select(messages.c.conversation_id).where(
        messages.c.project_id == project_id, _rated(project_id, rated)
    )
    statement = (
        select(conversations.c.id)
        .where(
            conversations.c.project_id == project_id,
            first >= period.start_us,
            first < period.end_us,
            conversations.c.id.in_(rated_messages),
        )
        .order_by(first.desc(), conversations.c.id.desc())
        .limit(limit)
    )
    return list(connection.execute(statement).scalars())


def searched_conversations(
    connection: Connection,
    *,
    body: Any,
    project_id: str,
    text: str,
    rated: str,
    limit: int,
    offset: int,
) -> Ranked:
    """Conversations matching the conversations table's `body` (its filters, not its order)
    with a message matching `text` (and rated `rated`, if given), best match first. Runs on
    the primary store, whose full-text index it needs (query.text_search)."""
    conditions = QueryCompiler(VIEWS["conversations"], sql_of(connection), body, project_id).where
    return ranked_conversations(
        connection,
        project_id=project_id,
        query=text,
        conditions=conditions,
        message_conditions=[_rated(project_id, rated)] if rated else [],
        limit=limit,
        offset=offset,
    )


@dataclasses.dataclass(frozen=True)
class ConversationSummary:
    first_question: str
    messages: int
    positive: int
    negative: int


def _text(row: RowMapping | Any) -> str:
    """A message's text for a table cell: string content, or the text parts of array content."""
    if row.content is not None:
        return str(row.content)
    parts = row.content_parts or []
    return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def conversation_summaries(
    connection: Connection, *, project_id: str, conversation_ids: list[str]
) -> dict[str, ConversationSummary]:
    """For a page of conversations: the first user message, and the ratings of its messages."""
    if not conversation_ids:
        return {}
    of_page = (messages.c.project_id == project_id) & messages.c.conversation_id.in_(
        conversation_ids
    )
    rows = connection.execute(
        select(
            messages.c.id,
            messages.c.conversation_id,
            messages.c.role,
            messages.c.content,
            messages.c.content_parts,
        )
        .where(of_page)
        .order_by(messages.c.conversation_id, messages.c.position)
    )
    first: dict[str, str] = {}
    counts: collections.Counter[str] = collections.Counter()
    conversation_of: dict[str, str] = {}
    for row in rows:
        counts[row.conversation_id] += 1
        conversation_of[row.id] = row.conversation_id
        if row.role == "user" and row.conversation_id not in first:
            first[row.conversation_id] = _text(row)[:SNIPPET_CHARS]
    # The feedback of those messages, found from the messages: joined the other way round,
    # SQLite read every feedback row of the project (100 ms at 3M events).
    rated = connection.execute(
        select(feedback.c.message_id, feedback.c.type, func.count())
        .where(
            feedback.c.project_id == project_id,
            feedback.c.message_id.in_(select(messages.c.id).where(of_page)),
        )
        .group_by(feedback.c.message_id, feedback.c.type)
    )
    ratings: collections.Counter[tuple[str, str]] = collections.Counter()
    for message_id, kind, n in rated:
        if message_id in conversation_of:  # else written since the first statement read
            ratings[(conversation_of[message_id], kind)] += int(n)
    return {
        cid: ConversationSummary(
            first.get(cid, ""),
            counts[cid],
            ratings.get((cid, "positive"), 0),
            ratings.get((cid, "negative"), 0),
        )
        for cid in conversation_ids
    }


@dataclasses.dataclass(frozen=True)
class Attachments:
    """What hangs off a conversation's messages: feedback and events, by message id; and the
    events naming the conversation itself."""

    feedback: dict[str, list[RowMapping]]
    events: dict[str, list[RowMapping]]
    conversation_events: list[RowMapping]


def transcript_attachments(
    connection: Connection, *, project_id: str, conversation_id: str, message_ids: list[str]
) -> Attachments:
    by_message_feedback: dict[str, list[RowMapping]] = collections.defaultdict(list)
    by_message_events: dict[str, list[RowMapping]] = collections.defaultdict(list)
    conversation_events: list[RowMapping] = []
    if message_ids:
        rows = connection.execute(
            select(feedback)
            .where(feedback.c.project_id == project_id, feedback.c.message_id.in_(message_ids))
            .order_by(feedback.c.created_at)
        ).mappings()
        for row in rows:
            by_message_feedback[row["message_id"]].append(row)
    # Two lookups, each on its own index, rather than one OR: with the OR, SQLite walked every
    # event of the project in time order (3 s at 10 million events; bench/dashboard.py).
    lookups = [events.c.conversation_id == conversation_id]
    if message_ids:
        lookups.append(events.c.message_id.in_(message_ids))
    found: dict[int, RowMapping] = {}
    for lookup in lookups:
        # `+ 0`: ordered by an expression, not the indexed column, so SQLite finds the rows
        # through the lookup's index and sorts those few, instead of walking the project's
        # (project_id, created_at) index until 500 match.
        statement = (
            select(events)
            .where(events.c.project_id == project_id, lookup)
            .order_by(events.c.created_at + 0, events.c.id)
            .limit(500)
        )
        found.update((row["seq"], row) for row in connection.execute(statement).mappings())
    ordered = sorted(found.values(), key=lambda row: (row["created_at"], row["id"]))[:500]
    for row in ordered:
        if row["message_id"] in message_ids:
            by_message_events[row["message_id"]].append(row)
        else:
            conversation_events.append(row)
    return Attachments(dict(by_message_feedback), dict(by_message_events), conversation_events)


# -- feedback --------------------------------------------------------------------------------


def reason_counts(
    connection: Connection, *, project_id: str, period: Period, limit: int = 8
) -> list[tuple[str, int]]:
    """The most given reason labels of the period's feedback (reasons is a JSON array, read
    here rather than in SQL so every backend counts the same)."""
    created = feedback.c.created_at
    rows = connection.execute(
        select(feedback.c.reasons).where(
            feedback.c.project_id == project_id,
            created >= period.start_us,
            created < period.end_us,
            feedback.c.reasons.is_not(None),
        ),
        execution_options={"yield_per": 1000},
    ).scalars()
    labels: collections.Counter[str] = collections.Counter()
    for reasons in rows:
        for reason in reasons if isinstance(reasons, list) else []:
            if isinstance(reason, dict) and reason.get("label"):
                labels[str(reason["label"])] += 1
    return labels.most_common(limit)


def message_snippets(
    connection: Connection, *, project_id: str, message_ids: Iterable[str]
) -> dict[str, str]:
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return {}
    rows = connection.execute(
        select(messages.c.id, messages.c.content, messages.c.content_parts).where(
            messages.c.project_id == project_id, messages.c.id.in_(ids)
        )
    )
    return {row.id: _text(row)[:SNIPPET_CHARS] for row in rows}
