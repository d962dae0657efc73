"""A synthetic, reproducible analytics dataset for bench/queries.py, loaded straight into the
database (not through HTTP: a million events through the API would take longer than the
benchmark).

The shape at `--events 1000000` (every other count scales with the number of events):

- 90 days ending at END, more traffic on weekdays and afternoons (UTC), and growing ~2x over
  the period;
- 20,000 users (userProperties.userId), Zipf-skewed: a few users are very active;
- 50,000 conversations (1-5 turns; ~193,000 messages, ids in the widget's own format);
- 1,000,000 events in the current widget's names (reference inkeep-widget.md §5) plus the
  `message:copied` of the reference's worked example: 55% conversation events pointing at a
  real conversation, 15% message events pointing at a real assistant message (so the
  conversationId join resolves), 30% search events over 5,000 distinct, Zipf-skewed queries;
  properties `widgetLibraryVersion`, `componentType`, `theme`, `page` (300 pages), `source`;
- 20,000 feedback rows (70% positive) on distinct assistant messages.

Everything derives from one seed (ids too), so two runs with the same arguments store the same
rows; only the project's and integration's ids differ. `Dataset.expected` keeps the figures
the benchmark checks query results against.

SQLite is loaded with SQLAlchemy Core executemany (batches of 10,000, a commit each);
PostgreSQL with psycopg's COPY, then VACUUM ANALYZE, as autovacuum would do after such a load.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
import random
import time
from collections.abc import Iterator
from typing import Any

import msgspec
from sqlalchemy import Connection, Table, text

from threadline.auth import issue_key
from threadline.store.engine import Database
from threadline.store.migrate import upgrade
from threadline.store.tables import conversations, events, feedback, messages

END = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
DAYS = 90
DAY_US = 86_400_000_000
END_US = int(END.timestamp()) * 1_000_000
START_US = END_US - DAYS * DAY_US
BATCH = 10_000
PROJECT = "bench"
INTEGRATION = "bench-dataset"

# (type, entity, weight in %). Conversation events carry a conversationId, message events a
# messageId, search events a searchQuery: what the widget sends (inkeep-widget.md §5).
EVENT_TYPES: tuple[tuple[str, str, float], ...] = (
    ("user_message_submitted", "conversation", 16.0),
    ("assistant_message_received", "conversation", 15.5),
    ("assistant_answer_displayed", "conversation", 9.0),
    ("assistant_source_item_clicked", "conversation", 5.0),
    ("assistant_message_copied", "conversation", 3.5),
    ("assistant_code_block_copied", "conversation", 2.5),
    ("chat_clear_button_clicked", "conversation", 1.5),
    ("chat_share_button_clicked", "conversation", 1.0),
    ("user_escalation_indicated", "conversation", 0.5),
    ("get_help_option_clicked", "conversation", 0.5),
    ("message:copied", "message", 8.0),
    ("message:link_opened", "message", 4.5),
    ("assistant_positive_feedback_submitted", "message", 1.7),
    ("assistant_negative_feedback_submitted", "message", 0.8),
    ("search_query_submitted", "search", 15.0),
    ("search_query_response_received", "search", 12.0),
    ("search_result_clicked", "search", 3.0),
)
COMPONENTS = ("EmbeddedChat", "ChatButton", "SearchBar", "SidebarChat")
SOURCES = ("widget", "docs", "search-bar", "dashboard", "slack")
SOURCE_WEIGHTS = (40, 30, 20, 7, 3)
FEEDBACK_LABELS = (
    "unrelated_response",
    "inaccurate_statement",
    "inaccurate_code_snippet",
    "irrelevant_citations",
)
_VERBS = (
    "install", "configure", "deploy", "upgrade", "debug", "authenticate", "migrate", "export",
    "import", "delete", "rotate", "monitor", "cache", "paginate", "filter", "sort", "index",
    "backup", "restore", "scale", "secure", "test", "log", "trace", "embed", "customize",
    "localize", "theme", "invite", "revoke", "query", "stream", "retry", "throttle", "batch",
    "schedule", "sync", "validate", "search", "share", "archive", "tag", "rename", "connect",
    "disconnect", "enable", "disable", "reset", "limit", "compare",
)  # fmt: skip
_TOPICS = (
    "api keys", "webhooks", "python sdk", "node sdk", "react widget", "search bar", "chat button",
    "sso", "saml", "oauth", "rate limits", "pagination", "events", "feedback", "conversations",
    "analytics", "dashboards", "exports", "csv", "json", "postgres", "sqlite", "docker",
    "kubernetes", "helm chart", "terraform", "cli", "environment variables", "secrets", "cors",
    "cookies", "sessions", "users", "teams", "projects", "integrations", "billing", "invoices",
    "usage", "quotas", "alerts", "slack bot", "discord bot", "zendesk", "intercom", "github",
    "gitlab", "jira", "notion", "confluence", "openapi spec", "graphql", "rest api", "sdk errors",
    "timeouts", "retries", "idempotency", "batches", "streams", "tokens", "models", "prompts",
    "sources", "citations", "crawler", "sitemaps", "robots.txt", "markdown", "mdx", "code blocks",
    "syntax highlighting", "dark mode", "fonts", "colors", "layout", "mobile", "accessibility",
    "translations", "time zones", "dates", "search ranking", "synonyms", "typos", "filters",
    "facets", "tags", "versions", "changelog", "release notes", "migrations", "schemas",
    "backups", "logs", "metrics", "traces", "health checks", "load balancer", "proxy", "tls",
    "dns", "custom domain",
)  # fmt: skip
_SECTIONS = ("guides", "api", "sdk", "widgets", "integrations", "self-hosting")

json = msgspec.json.Encoder()


def _scaled(events: int, per_million: int, minimum: int) -> int:
    return max(minimum, round(events * per_million / 1_000_000))


@dataclasses.dataclass(frozen=True)
class Shape:
    events: int
    conversations: int
    feedback: int
    users: int
    search_queries: int
    pages: int
    seed: int

    @classmethod
    def for_events(cls, events: int, seed: int = 1) -> Shape:
        return cls(
            events=events,
            conversations=_scaled(events, 50_000, 10),
            feedback=_scaled(events, 20_000, 5),
            users=_scaled(events, 20_000, 20),
            search_queries=min(len(_VERBS) * len(_TOPICS), _scaled(events, 5_000, 10)),
            pages=300,
            seed=seed,
        )


class _Zipf:
    """Ranks 0..n-1 drawn with weight 1 / (rank + 1) ** s."""

    def __init__(self, n: int, s: float) -> None:
        self.cumulative = list(itertools.accumulate(1 / (rank + 1) ** s for rank in range(n)))
        self.population = range(n)

    def draw(self, rng: random.Random, k: int) -> list[int]:
        return rng.choices(self.population, cum_weights=self.cumulative, k=k)


class _Clock:
    """Millisecond timestamps in [START, END): weekdays ~2x weekends, afternoons (UTC) busiest,
    and traffic growing from 0.7 to 1.3 of the mean over the 90 days."""

    def __init__(self) -> None:
        start = END - dt.timedelta(days=DAYS)
        days = []
        for day in range(DAYS):
            weekday = (start + dt.timedelta(days=day)).weekday()
            days.append((0.7 + 0.6 * day / (DAYS - 1)) * (0.45 if weekday >= 5 else 1.0))
        hours = [0.25 + 2.0 ** (-(((hour - 15) / 4) ** 2)) for hour in range(24)]
        self.day_weights = list(itertools.accumulate(days))
        self.hour_weights = list(itertools.accumulate(hours))

    def draw(self, rng: random.Random, k: int) -> list[int]:
        day = rng.choices(range(DAYS), cum_weights=self.day_weights, k=k)
        hour = rng.choices(range(24), cum_weights=self.hour_weights, k=k)
        hour_us = 3_600_000_000
        return [
            START_US + d * DAY_US + h * hour_us + rng.randrange(3_600_000) * 1000
            for d, h in zip(day, hour, strict=True)
        ]


def _id(prefix: str, rng: random.Random, at_us: int) -> str:
    """The shape of threadline's own ids (threadline.ids.new_id): time-ordered, 80 random bits."""
    return f"{prefix}_{at_us // 1000:011x}{rng.getrandbits(80):020x}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, remainder = divmod(number, 36)
        out = digits[remainder] + out
        if not number:
            return out


@dataclasses.dataclass
class Expected:
    """Figures computed while generating, for checking query results."""

    type_counts: collections.Counter[str]
    day_type_counts: collections.Counter[tuple[int, str]]  # (day start µs, type)
    daily_users: dict[int, int]  # day start µs -> distinct userIds
    search_counts: collections.Counter[str]  # searchQuery over search events
    conversation_weeks: collections.Counter[int]  # week start µs -> conversations
    feedback_days: collections.Counter[tuple[int, str]]  # (day start µs, type)
    dark_days: collections.Counter[int]  # day start µs -> events with theme dark
    pages_7d: collections.Counter[str]  # properties.page -> events in the last 7 days
    user_events: dict[str, int]  # the userId the benchmark looks up -> its events
    conversation_events: dict[str, int]  # the conversation looked up -> its events
    events: int
    newest_event_us: int
    lookup_user: str
    lookup_conversation: str


@dataclasses.dataclass
class Dataset:
    shape: Shape
    conversation_rows: list[dict[str, Any]]
    message_rows: list[dict[str, Any]]
    event_rows: list[tuple[Any, ...]]  # compact; expanded batch by batch by _event_row
    feedback_rows: list[dict[str, Any]]
    users: list[str]
    queries: list[str]
    pages: list[str]
    expected: Expected
    seconds: float

    def describe(self) -> str:
        return (
            f"{len(self.event_rows):,} events, {len(self.conversation_rows):,} conversations, "
            f"{len(self.message_rows):,} messages, {len(self.feedback_rows):,} feedback, "
            f"{len(self.users):,} users, {len(self.queries):,} distinct search queries, "
            f"{DAYS} days to {END.date().isoformat()}"
        )


def day_of(us: int) -> int:
    return us // DAY_US * DAY_US


def week_of(us: int) -> int:
    monday = 4 * DAY_US  # the epoch was a Thursday
    return (us - monday) // (7 * DAY_US) * (7 * DAY_US) + monday


def generate(shape: Shape) -> Dataset:
    started = time.perf_counter()
    rng = random.Random(shape.seed)
    clock = _Clock()
    users = [f"user_{rng.getrandbits(48):012x}" for _ in range(shape.users)]
    user_zipf = _Zipf(shape.users, 0.7)
    combos = [f"{verb} {topic}" for verb in _VERBS for topic in _TOPICS]
    rng.shuffle(combos)
    queries = combos[: shape.search_queries]
    pages = [
        f"/docs/{_SECTIONS[i % len(_SECTIONS)]}/{_TOPICS[i % len(_TOPICS)].replace(' ', '-')}"
        + ("" if i < len(_TOPICS) else f"-{i // len(_TOPICS)}")
        for i in range(shape.pages)
    ]
    answers = [
        " ".join(rng.choice(_TOPICS) for _ in range(rng.randrange(40, 120))) for _ in range(200)
    ]

    # Conversations and their messages.
    conversation_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    conversation_users = user_zipf.draw(rng, shape.conversations)
    assistant_messages: list[tuple[int, int]] = []  # (message index, conversation index)
    for index, start in enumerate(sorted(clock.draw(rng, shape.conversations))):
        conversation_id = f"conv_{rng.getrandbits(64):016x}"
        user = users[conversation_users[index]]
        turns = rng.choices((1, 2, 3, 4, 5), weights=(45, 30, 15, 7, 3))[0]
        question = rng.choice(queries)
        at = start
        for turn in range(turns):
            for role, content in (
                ("user", f"How do I {question}?" if turn == 0 else f"And {rng.choice(queries)}?"),
                ("assistant", rng.choice(answers)),
            ):
                if role == "assistant":
                    at += rng.randrange(3_000, 20_000) * 1000
                    assistant_messages.append((len(message_rows), index))
                message_rows.append(
                    {
                        "project_id": None,
                        "conversation_id": conversation_id,
                        "id": f"{at // 1000}-{_base36(len(message_rows))}-"
                        + ("1" if role == "user" else "2"),
                        "position": 2 * turn + (role == "assistant"),
                        "role": role,
                        "content": content,
                        "created_at": min(at, END_US - 1000),
                        "updated_at": min(at, END_US - 1000),
                    }
                )
            at += rng.randrange(20_000, 300_000) * 1000
        last = message_rows[-1]["created_at"]
        conversation_rows.append(
            {
                "project_id": None,
                "id": conversation_id,
                "integration_id": None,
                "type": "openai",
                "properties": {"site": "docs", "source": rng.choice(SOURCES)},
                "user_properties": {"identificationType": "COOKIED", "userId": user},
                "tags": ["docs"],
                "user_message_count": turns,
                "message_count": 2 * turns,
                "first_message_at": start,
                "created_at": start,
                "updated_at": last,
            }
        )
    # Which conversation each message belongs to, for message events and feedback.
    conversation_of = {m: c for m, c in assistant_messages}

    # Events: (created_at, type index, target index, user index, page, source, component).
    type_weights = list(itertools.accumulate(weight for _, _, weight in EVENT_TYPES))
    kinds = rng.choices(range(len(EVENT_TYPES)), cum_weights=type_weights, k=shape.events)
    search_zipf = _Zipf(len(queries), 0.9)
    page_zipf = _Zipf(len(pages), 1.0)
    search_times = iter(clock.draw(rng, shape.events))
    search_users = iter(user_zipf.draw(rng, shape.events))
    search_queries = iter(search_zipf.draw(rng, shape.events))
    page_draws = iter(page_zipf.draw(rng, shape.events))
    sources = rng.choices(range(len(SOURCES)), weights=SOURCE_WEIGHTS, k=shape.events)
    event_rows: list[tuple[Any, ...]] = []
    user_index = {user: i for i, user in enumerate(users)}
    for i, kind in enumerate(kinds):
        entity = EVENT_TYPES[kind][1]
        if entity == "conversation":
            target = rng.randrange(len(conversation_rows))
            conversation = conversation_rows[target]
            span = conversation["updated_at"] - conversation["created_at"] + 120_000_000
            at = conversation["created_at"] + rng.randrange(span // 1000) * 1000
            user = user_index[conversation["user_properties"]["userId"]]
        elif entity == "message":
            target, owner = rng.choice(assistant_messages)
            at = message_rows[target]["created_at"] + int(rng.expovariate(1 / 30_000)) * 1000
            user = user_index[conversation_rows[owner]["user_properties"]["userId"]]
        else:
            target = next(search_queries)
            at = next(search_times)
            user = next(search_users)
        component = 2 if entity == "search" else (0, 1, 3)[(i + user) % 3]
        event_rows.append(
            (min(at, END_US - 1000), kind, target, user, next(page_draws), sources[i], component)
        )
    event_rows.sort()

    feedback_rows: list[dict[str, Any]] = []
    rated = rng.sample(assistant_messages, min(shape.feedback, len(assistant_messages)))
    for message_index, owner in sorted(rated):
        message = message_rows[message_index]
        at = min(message["created_at"] + rng.randrange(5_000, 180_000) * 1000, END_US - 1000)
        positive = rng.random() < 0.7
        feedback_rows.append(
            {
                "project_id": None,
                "id": _id("fb", rng, at),
                "integration_id": None,
                "message_id": message["id"],
                "type": "positive" if positive else "negative",
                "reasons": None
                if positive
                else [{"label": rng.choice(FEEDBACK_LABELS), "details": ""}],
                "details": None,
                "sources": None,
                "properties": {"site": "docs"},
                "user_properties": conversation_rows[owner]["user_properties"],
                "created_at": at,
                "updated_at": at,
            }
        )
    feedback_rows.sort(key=lambda row: row["created_at"])
    dataset = Dataset(
        shape=shape,
        conversation_rows=conversation_rows,
        message_rows=message_rows,
        event_rows=event_rows,
        feedback_rows=feedback_rows,
        users=users,
        queries=queries,
        pages=pages,
        expected=None,  # type: ignore[arg-type]  # filled in just below
        seconds=0.0,
    )
    dataset.expected = _expected(dataset, conversation_of)
    dataset.seconds = time.perf_counter() - started
    return dataset


def _is_dark(user: int) -> bool:
    """A user's theme: about a third of users read the docs in dark mode."""
    return user % 3 == 0


def _expected(dataset: Dataset, conversation_of: dict[int, int]) -> Expected:
    type_counts: collections.Counter[str] = collections.Counter()
    day_type: collections.Counter[tuple[int, str]] = collections.Counter()
    day_users: dict[int, set[int]] = collections.defaultdict(set)
    search: collections.Counter[str] = collections.Counter()
    dark: collections.Counter[int] = collections.Counter()
    per_user: collections.Counter[int] = collections.Counter()
    per_conversation: collections.Counter[int] = collections.Counter()
    pages: collections.Counter[str] = collections.Counter()
    week_ago = END_US - 7 * DAY_US
    for at, kind, target, user, page, _source, _component in dataset.event_rows:
        name, entity, _ = EVENT_TYPES[kind]
        day = day_of(at)
        type_counts[name] += 1
        day_type[(day, name)] += 1
        day_users[day].add(user)
        per_user[user] += 1
        if _is_dark(user):
            dark[day] += 1
        if at >= week_ago:
            pages[dataset.pages[page]] += 1
        if entity == "search":
            search[dataset.queries[target]] += 1
        elif entity == "conversation":
            per_conversation[target] += 1
        else:
            per_conversation[conversation_of[target]] += 1
    # A mid-ranked user and a busy conversation: typical drill-down targets.
    users_by_activity = [user for user, _ in per_user.most_common()]
    lookup_user = users_by_activity[len(users_by_activity) // 20]
    lookup_conversation = per_conversation.most_common(1)[0][0]
    feedback_days: collections.Counter[tuple[int, str]] = collections.Counter(
        (day_of(row["created_at"]), row["type"]) for row in dataset.feedback_rows
    )
    weeks: collections.Counter[int] = collections.Counter(
        week_of(row["first_message_at"]) for row in dataset.conversation_rows
    )
    conversation_id = dataset.conversation_rows[lookup_conversation]["id"]
    return Expected(
        type_counts=type_counts,
        day_type_counts=day_type,
        daily_users={day: len(seen) for day, seen in day_users.items()},
        search_counts=search,
        conversation_weeks=weeks,
        feedback_days=feedback_days,
        dark_days=dark,
        pages_7d=pages,
        events=len(dataset.event_rows),
        user_events={dataset.users[lookup_user]: per_user[lookup_user]},
        conversation_events={conversation_id: per_conversation[lookup_conversation]},
        newest_event_us=dataset.event_rows[-1][0],
        lookup_user=dataset.users[lookup_user],
        lookup_conversation=conversation_id,
    )


# -- loading -------------------------------------------------------------------------------


@dataclasses.dataclass
class Loaded:
    project_id: str
    api_key: str  # an api key for the HTTP part of the benchmark
    seconds: float
    size_mb: float
    table_mb: dict[str, float]


def _event_row(
    dataset: Dataset, rng: random.Random, row: tuple[Any, ...], ids: tuple[str, str]
) -> dict[str, Any]:
    at, kind, target, user, page, source, component = row
    name, entity, _ = EVENT_TYPES[kind]
    project_id, integration_id = ids
    properties = {
        "widgetLibraryVersion": "0.5.119",
        "componentType": COMPONENTS[component],
        "theme": "dark" if _is_dark(user) else "light",
        "page": dataset.pages[page],
        "source": SOURCES[source],
    }
    return {
        "project_id": project_id,
        "id": _id("evt", rng, at),
        "integration_id": integration_id,
        "entity_type": entity,
        "type": name,
        "message_id": dataset.message_rows[target]["id"] if entity == "message" else None,
        "conversation_id": dataset.conversation_rows[target]["id"]
        if entity == "conversation"
        else None,
        "search_query": dataset.queries[target] if entity == "search" else None,
        "properties": properties,
        "user_properties": {"identificationType": "COOKIED", "userId": dataset.users[user]},
        "created_at": at,
    }


def _tables(dataset: Dataset, ids: tuple[str, str]) -> Iterator[tuple[Table, Iterator[Any]]]:
    project_id, integration_id = ids
    owned = {"project_id": project_id}
    integrated = {**owned, "integration_id": integration_id}
    yield conversations, ({**row, **integrated} for row in dataset.conversation_rows)
    yield messages, ({**row, **owned} for row in dataset.message_rows)
    yield feedback, ({**row, **integrated} for row in dataset.feedback_rows)
    rng = random.Random(dataset.shape.seed + 1)
    yield events, (_event_row(dataset, rng, row, ids) for row in dataset.event_rows)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, BATCH)):
        yield batch


def load(database: Database, dataset: Dataset) -> Loaded:
    """Migrate the (fresh, empty) database, create the project, then store the dataset."""
    started = time.perf_counter()
    upgrade(database.writer)
    with database.writer.begin() as connection:
        issued = issue_key(connection, project=PROJECT, integration=INTEGRATION, kind="api")
    ids = (issued.project_id, issued.integration_id)
    if database.dialect == "postgresql":
        _copy_postgresql(database, dataset, ids)
    else:
        _insert_sqlite(database, dataset, ids)
    seconds = time.perf_counter() - started
    with database.reader.connect() as connection:
        size, tables = _sizes(connection)
    return Loaded(issued.project_id, issued.secret, seconds, size, tables)


def _insert_sqlite(database: Database, dataset: Dataset, ids: tuple[str, str]) -> None:
    for table, rows in _tables(dataset, ids):
        statement = table.insert()
        for batch in _batches(rows):
            with database.writer.begin() as connection:
                connection.execute(statement, batch)
    raw = database.writer.raw_connection()  # outside a transaction, which a checkpoint needs
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        raw.close()


_JSON_COLUMNS = {"properties", "user_properties", "tags", "reasons", "sources"}


def _copy_postgresql(database: Database, dataset: Dataset, ids: tuple[str, str]) -> None:
    with database.writer.connect() as connection:
        raw: Any = connection.connection.driver_connection
        for table, rows in _tables(dataset, ids):
            first = next(rows, None)
            if first is None:
                continue
            names = list(first)
            columns = ", ".join(f'"{name}"' for name in names)
            encode = [name in _JSON_COLUMNS for name in names]
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy,
            ):
                for row in itertools.chain([first], rows):
                    copy.write_row(
                        [
                            json.encode(value).decode() if is_json and value is not None else value
                            for value, is_json in zip(row.values(), encode, strict=True)
                        ]
                    )
            raw.commit()
        raw.autocommit = True
        try:
            raw.execute("VACUUM ANALYZE")
        finally:
            raw.autocommit = False


def _sizes(connection: Connection) -> tuple[float, dict[str, float]]:
    """The database's size and each loaded table's (with its indexes), in MB."""
    names = ("events", "messages", "conversations", "feedback")
    if connection.dialect.name == "postgresql":
        size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
        tables = {
            name: connection.execute(
                text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": name}
            ).scalar()
            for name in names
        }
    else:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar() or 0
        page_size = connection.exec_driver_sql("PRAGMA page_size").scalar() or 0
        size = pages * page_size
        tables = dict.fromkeys(names, None)
        try:  # dbstat is compiled into most SQLite builds, not all
            for name in names:
                tables[name] = connection.exec_driver_sql(
                    "SELECT sum(pgsize) FROM dbstat WHERE name = ? OR name IN "
                    "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?)",
                    (name, name),
                ).scalar()
        except Exception:
            tables = dict.fromkeys(names, None)
    mb = 1024 * 1024
    return (size or 0) / mb, {k: (v or 0) / mb for k, v in tables.items() if v is not None}
