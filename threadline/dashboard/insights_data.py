"""What the Insights page reads from the semantic-threads view: the query bodies (the language of
POST /query/semantic-threads, so the CSV downloads hold what the page shows) and the functions
that run them. Like dashboard/data.py, each function takes a connection first, is called through
api.reads.analytic_read, and stays portable Core over store.tables, filtered by project."""

from __future__ import annotations

import collections
import dataclasses
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import Connection, func, select

from threadline.dashboard.filters import Filters, body_for, period_where
from threadline.dashboard.period import QUARTER_HOUR_US, Period, local_date, local_midnight_us
from threadline.insights.model import EMOTIONS, SENTIMENTS
from threadline.query.run import compile_for
from threadline.store.tables import semantic_threads

VIEW = "semantic_threads"
TIME = "firstMessageTime"
HOUR_US = 3_600_000_000
MAX_SUBJECTS = 100
MAX_GAP_GROUPS = 25
EXAMPLES_PER_GAP = 3
EXAMPLES_SCAN = 500  # newest gap threads read at once to find every group's examples
SUBJECT_SCAN = 60  # then, for a group still short of distinct questions, its newest gaps
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


def threads_where(filters: Filters) -> dict[str, Any]:
    """The period, integration, subject and gaps-only filters of the Insights pages."""
    where = period_where(TIME, filters.period)
    if filters.integration:
        where["and"].append(_condition("integrationId", "eq", filters.integration))
    if filters.subject:
        where["and"].append(_condition("subject", "eq", filters.subject))
    if filters.gap:
        where["and"].append(IS_GAP)
    return where


def threads_body(filters: Filters) -> Any:
    """The threads list: newest first; the search box's text is the query's `query` field,
    a semantic search whose threads come most similar first."""
    query: dict[str, Any] = {
        "select": [{"type": "field", "field": f} for f in THREAD_FIELDS],
        "where": threads_where(filters),
    }
    if filters.text:
        query["query"] = filters.text
    else:
        query["orderBy"] = [{"field": TIME, "direction": "desc"}]
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


def _grouped(field: str, where: dict[str, Any]) -> Any:
    return body_for(
        VIEW,
        {
            "select": [
                {"type": "field", "field": field},
                {"type": "aggregation", "aggregation": "count"},
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


def _span(filters: Filters) -> tuple[list[Any], Any]:
    """Conditions for this period and the one before it (one scan serves both), and whether a
    row falls in this period. Counting by condition in one statement is what the query language
    cannot say (it has no conditional count); it would take four statements otherwise."""
    t = semantic_threads.c
    period, before = filters.period, filters.period.previous()
    where = [t.first_message_at >= before.start_us, t.first_message_at < period.end_us]
    if filters.integration:
        where.append(t.integration_id == filters.integration)
    return where, t.first_message_at >= period.start_us


def _count_if(condition: Any) -> Any:
    # count(*) FILTER (WHERE ...): SQLite, PostgreSQL and DuckDB all have it, and DuckDB runs
    # it ~3x faster than sum(CASE ...) (bench/insights_page.py).
    return func.count().filter(condition)


def subjects(connection: Connection, *, project_id: str, filters: Filters) -> list[SubjectRow]:
    """The period's subjects, most threads first, with the previous period's count, and how
    many of their threads were rated negative and are gaps."""
    t = semantic_threads.c
    where, now = _span(filters)
    threads = _count_if(now)
    statement = (
        select(
            t.subject,
            threads.label("threads"),
            _count_if(~now).label("previous"),
            _count_if(now & t.has_negative_feedback.is_(True)).label("negative"),
            _count_if(now & t.gap_summary.is_not(None)).label("gaps"),
        )
        .where(t.project_id == project_id, *where)
        .group_by(t.subject)
        .having(threads > 0)
        .order_by(threads.desc(), t.subject)
        .limit(MAX_SUBJECTS)
    )
    return [
        SubjectRow(row.subject or "", *(int(v) for v in row[1:]))
        for row in connection.execute(statement)
    ]


# -- knowledge gaps --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GapGroup:
    subject: str
    count: int
    previous: int
    first_seen: int  # µs
    last_seen: int
    examples: list[dict[str, Any]]  # question, gapSummary, conversationId, id


def _gap_threads(
    connection: Connection, project_id: str, filters: Filters, names: list[str] | None, limit: int
) -> list[Any]:
    """The newest gap threads of the period (of these subjects, or any: an IN list made
    DuckDB's top-N read 5x slower than filtering its rows in Python)."""
    t = semantic_threads.c
    period = filters.period
    where = [
        t.project_id == project_id,
        t.first_message_at >= period.start_us,
        t.first_message_at < period.end_us,
        t.gap_summary.is_not(None),
    ]
    if names is not None:
        where.append(t.subject.in_(names))
    if filters.integration:
        where.append(t.integration_id == filters.integration)
    statement = (
        select(t.subject, t.question, t.gap_summary, t.conversation_ids, t.id)
        .where(*where)
        .order_by(t.first_message_at.desc(), t.id.desc())
        .limit(limit)
    )
    return list(connection.execute(statement))


def _examples(
    connection: Connection, project_id: str, filters: Filters, groups: dict[str, int]
) -> dict[str, list[dict[str, Any]]]:
    """The newest few distinct questions of each subject's gaps (`groups`: subject -> its gaps).
    The newest gaps of the period first (one top-N sort, which holds nearly every listed
    subject's newest few); a subject still short of examples is then asked for alone. A window
    function per subject did the same in one statement, 2-3x slower on the columnar copy."""
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)

    seen: set[tuple[str, str]] = set()

    def take(rows: list[Any]) -> None:
        for row in rows:
            # Distinct questions: the same question asked ten times is one example.
            asked = (row.subject, " ".join((row.question or "").lower().split()))
            wanted = row.subject in groups and len(out[row.subject]) < EXAMPLES_PER_GAP
            if wanted and asked not in seen:
                seen.add(asked)
                out[row.subject].append(_example(row))

    take(_gap_threads(connection, project_id, filters, None, EXAMPLES_SCAN))
    for subject, gaps in groups.items():
        if len(out[subject]) < min(gaps, EXAMPLES_PER_GAP):
            take(_gap_threads(connection, project_id, filters, [subject], SUBJECT_SCAN))
    return out


def _example(row: Any) -> dict[str, Any]:
    ids = row.conversation_ids
    if isinstance(ids, str):  # JSON text where the driver does not decode it (DuckDB)
        ids = msgspec.json.decode(ids)
    return {
        "question": row.question or "",
        "gapSummary": row.gap_summary,
        "conversationId": ids[0] if isinstance(ids, list) and ids else None,
        "id": row.id,
    }


def knowledge_gaps(connection: Connection, *, project_id: str, filters: Filters) -> list[GapGroup]:
    """Gaps of the period grouped by subject, most first: count, first and last seen, the
    previous period's count (the trend) and the newest questions."""
    t = semantic_threads.c
    where, now = _span(filters)
    count = _count_if(now)
    statement = (
        select(
            t.subject,
            count.label("gaps"),
            _count_if(~now).label("previous"),
            func.min(t.first_message_at).filter(now).label("first_seen"),
            func.max(t.first_message_at).filter(now).label("last_seen"),
        )
        .where(t.project_id == project_id, t.gap_summary.is_not(None), *where)
        .group_by(t.subject)
        .having(count > 0)
        .order_by(count.desc(), t.subject)
        .limit(MAX_GAP_GROUPS)
    )
    groups = connection.execute(statement).all()
    if not groups:
        return []
    examples = _examples(connection, project_id, filters, {g.subject: int(g.gaps) for g in groups})
    return [
        GapGroup(
            subject=g.subject or "",
            count=int(g.gaps),
            previous=int(g.previous),
            first_seen=int(g.first_seen),
            last_seen=int(g.last_seen),
            examples=examples.get(g.subject, []),
        )
        for g in groups
    ]


# -- labels over time and as shares ----------------------------------------------------------


def _where_period(project_id: str, filters: Filters) -> list[Any]:
    t = semantic_threads.c
    where = [
        t.project_id == project_id,
        t.first_message_at >= filters.period.start_us,
        t.first_message_at < filters.period.end_us,
    ]
    if filters.integration:
        where.append(t.integration_id == filters.integration)
    return where


@dataclasses.dataclass(frozen=True)
class DailyLabels:
    """Threads per local day of the period, for each sentiment and each emotion."""

    sentiment: dict[str, list[int]]
    emotion: dict[str, list[int]]


def bucket_width(period: Period) -> int:
    """The widest of an hour, a half-hour and a quarter-hour (µs) that no local midnight of the
    period falls inside: every zone in use is a whole number of quarter-hours from UTC, most a
    whole number of hours, and four times fewer groups is a quarter of the rows to fetch."""
    midnights = [*period.days, period.last_day + timedelta(days=1)]
    offsets = [local_midnight_us(day, period.zone) % HOUR_US for day in midnights]
    for width in (HOUR_US, HOUR_US // 2):
        if all(offset % width == 0 for offset in offsets):
            return width
    return QUARTER_HOUR_US


def daily_labels(connection: Connection, *, project_id: str, filters: Filters) -> DailyLabels:
    """One scan: per bucket of time, the threads and how many hold each value of the vocabulary
    (conditional counts, which the query language cannot say; two grouped queries by value took
    twice as long). Values outside the vocabulary count as "unknown"."""
    t = semantic_threads.c
    period = filters.period
    width = bucket_width(period)
    # The bucket's number: multiplied back in Python, which is cheaper than in SQL.
    bucket = (t.first_message_at // width).label("bucket")
    sentiments = [_count_if(t.sentiment == value) for value in SENTIMENTS]
    emotions = [_count_if(t.emotion == value) for value in EMOTIONS]
    statement = (
        select(bucket, func.count(), *sentiments, *emotions)
        .where(*_where_period(project_id, filters))
        .group_by(bucket)
    )
    slots = {day: n for n, day in enumerate(period.days)}
    by_sentiment = {value: [0] * len(slots) for value in (*SENTIMENTS, "unknown")}
    by_emotion = {value: [0] * len(slots) for value in (*EMOTIONS, "unknown")}
    split = len(SENTIMENTS)
    for number, total, *counts in connection.execute(statement):
        slot = slots.get(local_date(int(number) * width, period.zone))
        if slot is None:
            continue
        for series, values in ((by_sentiment, counts[:split]), (by_emotion, counts[split:])):
            for value, count in zip(series, values, strict=False):
                series[value][slot] += count
            series["unknown"][slot] += total - sum(values)
    out = {
        "sentiment": {k: v for k, v in by_sentiment.items() if any(v)},
        "emotion": {k: v for k, v in by_emotion.items() if any(v)},
    }
    return DailyLabels(out["sentiment"], out["emotion"])


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
    daily: DailyLabels
    languages: list[tuple[str, int]]
    question_types: list[tuple[str, int]]

    @property
    def threads(self) -> int:
        """Threads of the period (each has one sentiment, or none: "unknown")."""
        return sum(sum(days) for days in self.daily.sentiment.values())


def insights(connection: Connection, *, project_id: str, filters: Filters) -> Insights:
    """The page's figures for the period and integration (the threads list's own filters,
    subject and gaps only, do not narrow the overview)."""
    filters = dataclasses.replace(filters, subject="", gap="")
    if not has_threads(connection, project_id=project_id):
        return Insights(False, [], [], DailyLabels({}, {}), [], [])
    p, f = project_id, filters
    return Insights(
        computed=True,
        subjects=subjects(connection, project_id=p, filters=f),
        gaps=knowledge_gaps(connection, project_id=p, filters=f),
        daily=daily_labels(connection, project_id=p, filters=f),
        languages=shares(connection, project_id=p, filters=f, field="languages"),
        question_types=shares(connection, project_id=p, filters=f, field="questionType"),
    )
