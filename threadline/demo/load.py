"""Store a generated Dataset as one project: its integrations (corpus.INTEGRATIONS), then
conversations, messages, feedback and events, bulk-loaded (store/bulk.py), not through the
API: ten million events through HTTP would take hours."""

from __future__ import annotations

import dataclasses
import time

from threadline.auth import issue_key
from threadline.demo.corpus import INTEGRATIONS
from threadline.demo.generate import Dataset
from threadline.demo.rows import (
    CONVERSATION_COLUMNS,
    EVENT_COLUMNS,
    FEEDBACK_COLUMNS,
    MESSAGE_COLUMNS,
    RowMaker,
)
from threadline.store.bulk import bulk_writer
from threadline.store.engine import Database
from threadline.store.keys import ensure_integration, ensure_project

DEMO_PROJECT = "demo"
# The integration the demo's api key belongs to: server-side code reading the data.
KEY_INTEGRATION = "API"


@dataclasses.dataclass(frozen=True)
class Loaded:
    project_id: str
    counts: dict[str, int]  # rows written per table
    seconds: float


def load(database: Database, dataset: Dataset, project: str = DEMO_PROJECT) -> Loaded:
    """Store `dataset` as `project` (created with its integrations if new) in a migrated
    database that does not hold this data yet."""
    started = time.perf_counter()
    with database.writer.begin() as connection:
        project_id = ensure_project(connection, project)
        integration_ids = [
            ensure_integration(connection, project_id, integration.name)
            for integration in INTEGRATIONS
        ]
    rows = RowMaker(dataset, project_id, integration_ids)
    with bulk_writer(database) as writer:
        counts = {
            "conversations": writer.write(
                "conversations", CONVERSATION_COLUMNS, rows.conversations()
            ),
            "messages": writer.write("messages", MESSAGE_COLUMNS, rows.messages()),
            "feedback": writer.write("feedback", FEEDBACK_COLUMNS, rows.feedback()),
            "events": writer.write("events", EVENT_COLUMNS, rows.events()),
        }
    return Loaded(project_id, counts, time.perf_counter() - started)


def issue_api_key(database: Database, project: str = DEMO_PROJECT) -> str:
    """A new api key (reads and writes) for the project's API integration, in the clear."""
    with database.writer.begin() as connection:
        issued = issue_key(connection, project=project, integration=KEY_INTEGRATION, kind="api")
    return issued.secret
