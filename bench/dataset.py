"""The dataset bench/queries.py measures: threadline's demo project (threadline/demo/) at a
fixed end date, with the figures every query's answer is checked against.

The shape at `--events 1000000` (every other count scales with the number of events; see
threadline/demo/shape.py and generate.py):

- 90 days ending at END, more traffic on weekdays and afternoons (UTC), growing ~2x over the
  period; 20,000 users (userProperties.userId), Zipf-skewed;
- 50,000 conversations (1-5 turns, ~193,000 messages with docs-assistant questions, answers and
  cited links) over six integrations (docs widget, Slack and Discord bots, API, support copilot
  and tickets);
- 1,000,000 events: 70% conversation and message events in the current widget's names
  (reference inkeep-widget.md §5) plus the `message:copied` of the reference's worked example,
  30% search events in sessions (submitted, response received, sometimes a result clicked) over
  Zipf-skewed queries; properties `widgetLibraryVersion`, `componentType`, `theme`, `page`
  (300 pages), `source`;
- 20,000 feedback rows (about 70% positive, a reason with every negative one).

Everything derives from one seed (ids too), so two runs with the same arguments store the same
rows; only the project's and integration's ids differ. SQLite is loaded with executemany under
load-time pragmas, PostgreSQL with COPY then VACUUM ANALYZE (threadline/store/bulk.py).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import time

from sqlalchemy import Connection, text

from threadline.demo import load as demo_load
from threadline.demo.generate import EVENT_TYPES
from threadline.demo.generate import Dataset as DemoDataset
from threadline.demo.generate import generate as generate_demo
from threadline.demo.rows import is_dark
from threadline.demo.shape import Shape, day_of
from threadline.store.engine import Database
from threadline.store.migrate import upgrade
from threadline.timestamps import DAY_US, week_start

END = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
DAYS = 90
END_US = int(END.timestamp()) * 1_000_000
START_US = END_US - DAYS * DAY_US
PROJECT = "bench"

__all__ = [
    "DAY_US",
    "END",
    "END_US",
    "Dataset",
    "Expected",
    "Loaded",
    "bench_shape",
    "generate",
    "load",
]


def bench_shape(events: int, seed: int = 1) -> Shape:
    return Shape.for_events(events, end_us=END_US, days=DAYS, seed=seed)


@dataclasses.dataclass
class Expected:
    """Figures computed from the generated data, for checking query results."""

    type_counts: collections.Counter[str]
    day_type_counts: collections.Counter[tuple[int, str]]  # (day start µs, type)
    daily_users: dict[int, int]  # day start µs -> distinct userIds
    weekly_users: dict[int, int]  # week start µs -> distinct userIds
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
    data: DemoDataset
    expected: Expected
    seconds: float  # generating, and computing `expected`

    @property
    def shape(self) -> Shape:
        return self.data.shape

    def describe(self) -> str:
        return f"{self.data.describe()} to {END.date().isoformat()}"


def generate(shape: Shape) -> Dataset:
    started = time.perf_counter()
    data = generate_demo(shape)
    expected = _expected(data)
    return Dataset(data, expected, time.perf_counter() - started)


def _expected(data: DemoDataset) -> Expected:
    type_counts: collections.Counter[str] = collections.Counter()
    day_type: collections.Counter[tuple[int, str]] = collections.Counter()
    day_users: dict[int, set[int]] = collections.defaultdict(set)
    week_users: dict[int, set[int]] = collections.defaultdict(set)
    search: collections.Counter[str] = collections.Counter()
    dark: collections.Counter[int] = collections.Counter()
    per_user: collections.Counter[int] = collections.Counter()
    per_conversation: collections.Counter[int] = collections.Counter()
    pages: collections.Counter[str] = collections.Counter()
    week_ago = data.shape.end_us - 7 * DAY_US
    events = newest = 0
    for rows in data.events():
        for at, kind, conversation, detail, user, page, _integration in rows:
            name, entity, _ = EVENT_TYPES[kind]
            day = day_of(at)
            events += 1
            newest = max(newest, at)
            type_counts[name] += 1
            day_type[(day, name)] += 1
            day_users[day].add(user)
            week_users[week_start(at)].add(user)
            per_user[user] += 1
            if is_dark(user):
                dark[day] += 1
            if at >= week_ago:
                pages[data.pages[page].path] += 1
            if entity == "search":
                search[data.queries[detail].text] += 1
            else:  # a message event's conversation is its message's
                per_conversation[conversation] += 1
    # A mid-ranked user and a busy conversation: typical drill-down targets.
    users_by_activity = [user for user, _ in per_user.most_common()]
    lookup_user = data.users[users_by_activity[len(users_by_activity) // 20]]
    busiest, busiest_events = per_conversation.most_common(1)[0]
    feedback_days: collections.Counter[tuple[int, str]] = collections.Counter(
        (day_of(f.at), "positive" if f.positive else "negative") for f in data.feedback
    )
    weeks: collections.Counter[int] = collections.Counter(
        week_start(c.times[0]) for c in data.conversations
    )
    return Expected(
        type_counts=type_counts,
        day_type_counts=day_type,
        daily_users={day: len(seen) for day, seen in day_users.items()},
        weekly_users={week: len(seen) for week, seen in week_users.items()},
        search_counts=search,
        conversation_weeks=weeks,
        feedback_days=feedback_days,
        dark_days=dark,
        pages_7d=pages,
        events=events,
        user_events={lookup_user: per_user[users_by_activity[len(users_by_activity) // 20]]},
        conversation_events={data.conversations[busiest].id: busiest_events},
        newest_event_us=newest,
        lookup_user=lookup_user,
        lookup_conversation=data.conversations[busiest].id,
    )


# -- loading -------------------------------------------------------------------------------


@dataclasses.dataclass
class Loaded:
    project_id: str
    api_key: str  # an api key for the HTTP part of the benchmark
    seconds: float
    size_mb: float
    table_mb: dict[str, float]


def load(database: Database, dataset: Dataset) -> Loaded:
    """Migrate the (fresh, empty) database, then store the dataset as project `bench`."""
    started = time.perf_counter()
    upgrade(database.writer)
    loaded = demo_load.load(database, dataset.data, project=PROJECT)
    api_key = demo_load.issue_api_key(database, project=PROJECT)
    seconds = time.perf_counter() - started
    with database.reader.connect() as connection:
        size, tables = _sizes(connection)
    return Loaded(loaded.project_id, api_key, seconds, size, tables)


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
