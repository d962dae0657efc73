"""What the Insights page reads from the semantic-threads view: the query bodies (the language of
POST /query/semantic-threads, so the CSV downloads hold what the page shows) and the functions
that run them. Like dashboard/data.py, each function takes a connection first, is called through
api.reads.analytic_read, and stays portable Core over store.tables, filtered by project."""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from sqlalchemy import Connection, func, select

from threadline.dashboard.filters import Filters, body_for, period_where
from threadline.dashboard.period import QUARTER_HOUR_US, Period
from threadline.query.run import compile_for
from threadline.store.tables import semantic_threads

VIEW = "semantic_threads"
TIME = "firstMessageTime"
MAX_SUBJECTS = 100
MAX_GAP_GROUPS = 25
EXAMPLES_PER_GAP = 3
THREAD_FIELDS = (
    "id",
    "firstMessageTime",
    "question",
    "answer",
    "subject",
    "category",
    "questionType",
    "sentiment",
    "emotion",
    "languages",
    "gapSummary",
    "hasPositiveFeedback",
    "hasNegativeFeedback",
    "areAIAnnotationsVerified",
    "conversationIds",
)
GAP_FIELDS = ("subject", "gapSummary", "question", TIME, "conversationIds", "id")


def _condition(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if operator not in ("isNull", "isNotNull"):
        condition["value"] = value
    return {"condition": condition}


IS_GAP = _condition("gapSummary", "isNotNull")


def threads_where(filters: Filters, period: Period | None = None) -> dict[str, Any]:
    """The period, integration, subject and gaps-only filters of the Insights pages."""
    where = period_where(TIME, period or filters.period)
    if filters.integration:
        where["and"].append(_condition("integrationId", "eq", filters.integration))
    if filters.subject:
        where["and"].append(_condition("subject", "eq", filters.subject))
    if filters.gap:
        where["and"].append(IS_GAP)
    return where


def threads_body(filters: Filters) -> Any:
    """The threads list: newest first; the search box's text is the query's `query` field
    (a substring match today, a semantic ranking once the pipeline provides one)."""
    query: dict[str, Any] = {
        "select": [{"type": "field", "field": f} for f in THREAD_FIELDS],
        "where": threads_where(filters),
        "orderBy": [{"field": TIME, "direction": "desc"}],
    }
    if filters.text:
        query["query"] = filters.text
    return body_for(VIEW, query)


def gaps_body(filters: Filters) -> Any:
    """Every knowledge gap of the period, by subject then newest: the docs writer's list."""
    where = threads_where(filters)
    where["and"].append(IS_GAP)
    return body_for(
        VIEW,
        {
            "select": [{"type": "field", "field": f} for f in GAP_FIELDS],
            "where": where,
            "orderBy": [
                {"field": "subject", "direction": "asc"},
                {"field": TIME, "direction": "desc"},
            ],
        },
    )


def _grouped(field: str, where: dict[str, Any], *extra: dict[str, Any]) -> Any:
    return body_for(
        VIEW,
        {
            "select": [
                {"type": "field", "field": field},
                {"type": "aggregation", "aggregation": "count"},
                *extra,
            ],
            "groupBy": [{"field": field}],
            "where": where,
            "orderBy": [{"field": "count", "direction": "desc"}],
        },
    )


def _counts(
    connection: Connection, project_id: str, field: str, where: dict[str, Any], limit: int
) -> list[tuple[Any, int]]:
    compiled = compile_for(connection, VIEW, _grouped(field, where), project_id)
    rows = [compiled.render(row) for row in connection.execute(compiled.page(limit))]
    return [(row.get(field), int(row["count"])) for row in rows]


def _with(where: dict[str, Any], *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"and": [*where["and"], *conditions]}


# -- the state of the project's insights -----------------------------------------------------


def has_threads(connection: Connection, *, project_id: str) -> bool:
    """Whether the pipeline has written any thread for the project (else: not computed yet)."""
    statement = select(semantic_threads.c.seq).where(semantic_threads.c.project_id == project_id)
    return connection.execute(statement.limit(1)).first() is not None


# -- subjects --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SubjectRow:
    subject: str
    threads: int
    previous: int
    negative: int
    gaps: int


def subjects(connection: Connection, *, project_id: str, filters: Filters) -> list[SubjectRow]:
    """The period's subjects, most threads first, with the previous period's count, and how
    many of their threads were rated negative and are gaps."""
    where = threads_where(filters)
    current = _counts(connection, project_id, "subject", where, MAX_SUBJECTS)
    names = [name for name, _ in current]
    if not names:
        return []
    among = _condition("subject", "in", [n for n in names if n is not None] or [""])
    negative = dict(
        _counts(
            connection,
            project_id,
            "subject",
            _with(where, among, _condition("hasNegativeFeedback", "eq", True)),
            MAX_SUBJECTS,
        )
    )
    gaps = dict(_counts(connection, project_id, "subject", _with(where, among, IS_GAP), 1000))
    before = threads_where(filters, filters.period.previous())
    previous = dict(_counts(connection, project_id, "subject", _with(before, among), 1000))
    return [
        SubjectRow(
            name or "", count, previous.get(name, 0), negative.get(name, 0), gaps.get(name, 0)
        )
        for name, count in current
    ]


# -- knowledge gaps --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GapGroup:
    subject: str
    count: int
    previous: int
    first_seen: str  # ISO 8601, as the query language renders times
    last_seen: str
    examples: list[dict[str, Any]]  # question, gapSummary, conversationIds, id


def _examples(
    connection: Connection, project_id: str, period: Period, names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The newest few gap threads of each subject, in one statement (a window per subject)."""
    t = semantic_threads.c
    rank = (
        func.row_number()
        .over(partition_by=t.subject, order_by=(t.first_message_at.desc(), t.id.desc()))
        .label("rank")
    )
    inner = (
        select(t.subject, t.question, t.gap_summary, t.conversation_ids, t.id, rank)
        .where(
            t.project_id == project_id,
            t.first_message_at >= period.start_us,
            t.first_message_at < period.end_us,
            t.gap_summary.is_not(None),
            t.subject.in_(names),
        )
        .subquery()
    )
    rows = connection.execute(
        select(inner).where(inner.c.rank <= EXAMPLES_PER_GAP).order_by(inner.c.rank)
    )
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        ids = row.conversation_ids
        out[row.subject].append(
            {
                "question": row.question or "",
                "gapSummary": row.gap_summary,
                "conversationId": ids[0] if isinstance(ids, list) and ids else None,
                "id": row.id,
            }
        )
    return out


def knowledge_gaps(connection: Connection, *, project_id: str, filters: Filters) -> list[GapGroup]:
    """Gaps of the period grouped by subject, most first: count, first and last seen, the
    previous period's count (the trend) and the newest questions."""
    where = _with(threads_where(filters), IS_GAP)
    seen = [
        {"type": "aggregation", "aggregation": "min", "field": TIME},
        {"type": "aggregation", "aggregation": "max", "field": TIME},
    ]
    compiled = compile_for(connection, VIEW, _grouped("subject", where, *seen), project_id)
    groups = [compiled.render(row) for row in connection.execute(compiled.page(MAX_GAP_GROUPS))]
    names = [str(g.get("subject") or "") for g in groups]
    if not names:
        return []
    before = _with(
        threads_where(filters, filters.period.previous()),
        IS_GAP,
        _condition("subject", "in", names),
    )
    previous = dict(_counts(connection, project_id, "subject", before, MAX_GAP_GROUPS))
    examples = _examples(connection, project_id, filters.period, names)
    return [
        GapGroup(
            subject=name,
            count=int(group["count"]),
            previous=previous.get(name, 0),
            first_seen=str(group.get(f"min_{TIME}") or ""),
            last_seen=str(group.get(f"max_{TIME}") or ""),
            examples=examples.get(name, []),
        )
        for name, group in zip(names, groups, strict=True)
    ]


# -- labels over time and as shares ----------------------------------------------------------


def daily_by(
    connection: Connection, *, project_id: str, filters: Filters, field: str
) -> dict[str, list[int]]:
    """Threads per local day of the period for each value of `field` (sentiment, emotion)."""
    body = body_for(
        VIEW,
        {
            "select": [{"type": "field", "field": TIME}, {"type": "field", "field": field}],
            "where": threads_where(filters),
        },
    )
    rows = compile_for(connection, VIEW, body, project_id).unordered.subquery()
    bucket = (rows.c.c0 // QUARTER_HOUR_US * QUARTER_HOUR_US).label("bucket")
    statement = select(bucket, rows.c.c1, func.count()).group_by(bucket, rows.c.c1)
    buckets: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    for start, value, count in connection.execute(statement):
        buckets[value or "unknown"].append((int(start), int(count)))
    return {value: filters.period.fold(series) for value, series in buckets.items()}


def shares(
    connection: Connection, *, project_id: str, filters: Filters, field: str, limit: int = 8
) -> list[tuple[str, int]]:
    """The most frequent values of a label over the period's threads (languages are shown as
    the set a thread holds, e.g. "de, en")."""
    counted = _counts(connection, project_id, field, threads_where(filters), limit)
    return [
        (", ".join(map(str, value)) if isinstance(value, list) else str(value or ""), count)
        for value, count in counted
    ]


@dataclasses.dataclass(frozen=True)
class Insights:
    """Everything the Insights page shows, read in one trip to a reader thread."""

    computed: bool  # the project has threads at all
    subjects: list[SubjectRow]
    gaps: list[GapGroup]
    sentiment: dict[str, list[int]]
    emotion: dict[str, list[int]]
    languages: list[tuple[str, int]]
    question_types: list[tuple[str, int]]

    @property
    def threads(self) -> int:
        return sum(row.threads for row in self.subjects)


def insights(connection: Connection, *, project_id: str, filters: Filters) -> Insights:
    if not has_threads(connection, project_id=project_id):
        return Insights(False, [], [], {}, {}, [], [])
    p, f = project_id, filters
    return Insights(
        computed=True,
        subjects=subjects(connection, project_id=p, filters=f),
        gaps=knowledge_gaps(connection, project_id=p, filters=f),
        sentiment=daily_by(connection, project_id=p, filters=f, field="sentiment"),
        emotion=daily_by(connection, project_id=p, filters=f, field="emotion"),
        languages=shares(connection, project_id=p, filters=f, field="languages"),
        question_types=shares(connection, project_id=p, filters=f, field="questionType"),
    )
