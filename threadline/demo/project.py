"""The demo project in a database, for `threadline demo`: reused when it is already there,
otherwise (or with reset) generated to end now and loaded; a fresh api key every time."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from threadline.demo.generate import generate
from threadline.demo.load import DEMO_PROJECT, issue_api_key, load
from threadline.demo.shape import Shape
from threadline.store.bulk import (
    delete_project,
    event_count,
    find_project,
    has_threads,
    newest_updates_since,
)
from threadline.store.engine import Database, open_database
from threadline.store.keys import list_keys
from threadline.store.migrate import upgrade
from threadline.timestamps import DAY_US, now_us

# `threadline demo` labels the newest LABEL_CONVERSATIONS conversations of the dashboard's
# default period (LABEL_DAYS) before serving: a few seconds, enough for the Insights page to show
# subjects and gaps at once; the worker `serve` runs labels the rest in the background.
LABEL_CONVERSATIONS = 1_000
LABEL_DAYS = 30


@dataclasses.dataclass(frozen=True)
class DemoProject:
    api_key: str
    events: int  # the project's events
    loaded: bool  # False when an existing demo project was reused
    seconds: float  # generating and loading (0 when reused)
    # Label the conversations updated since, before serving; None: a reused project that has
    # its threads already (what is left is the worker's: the foreground stays bounded even when
    # an interrupted serve left a long queue behind).
    label_since_us: int | None


def prepare(
    database_url: str,
    *,
    events: int,
    days: int,
    seed: int,
    reset: bool,
    say: Callable[[str], None] = lambda _: None,
) -> DemoProject:
    """Make sure `database_url` holds the demo project, and issue an api key for it."""
    database = open_database(database_url, read_pool_size=1)
    try:
        upgrade(database.writer)
        with database.writer.begin() as connection:
            project_id = find_project(connection, DEMO_PROJECT)
            # The first key is issued once the load is complete: a project without keys is what
            # an interrupted load leaves, and is loaded again.
            complete = project_id is not None and bool(list_keys(connection, project_id))
            if project_id is not None and (reset or not complete):
                delete_project(connection, project_id)
                complete = False
            stored = event_count(connection, project_id) if complete and project_id else 0
        loaded = not complete
        seconds = 0.0
        if loaded:
            say(f"generating and loading {events:,} events over {days} days (seed {seed}) ...")
            started = time.perf_counter()
            end_us = int(time.time()) * 1_000_000  # whole seconds: ends just before now
            dataset = generate(Shape.for_events(events, end_us=end_us, days=days, seed=seed))
            stored = load(database, dataset).counts["events"]
            seconds = time.perf_counter() - started
        since = _label_since(database, loaded)
        return DemoProject(issue_api_key(database), stored, loaded, seconds, since)
    finally:
        database.dispose()


def _label_since(database: Database, loaded: bool) -> int | None:
    """From when on the demo's newest LABEL_CONVERSATIONS conversations of LABEL_DAYS were
    updated; None when a reused project has threads already."""
    since = now_us() - LABEL_DAYS * DAY_US
    with database.reader.connect() as connection:
        project_id = find_project(connection, DEMO_PROJECT)
        if project_id is None:
            return since
        if not loaded and has_threads(connection, project_id):
            return None
        nth = newest_updates_since(connection, project_id, LABEL_CONVERSATIONS)
    return since if nth is None else max(since, nth)
