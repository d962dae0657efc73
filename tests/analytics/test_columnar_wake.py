"""When the columnar copy syncs (issue 16): after this process's commits, without polling for
them; other processes' commits at the next poll. Nothing here asks for a sync (wait_until
would), so only the wake-up or the poll can bring a row in. Polled with deadlines, no sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from threadline.analytics.columnar import ColumnarCopy
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database

DEADLINE = 30.0


def _until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _copied_events(copy: ColumnarCopy) -> int:
    with copy.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())


def test_a_commit_of_this_process_wakes_the_copy(database_url: str, make_key: KeyMaker) -> None:
    # A poll of an hour: only the writer's wake-up can bring the event in within the deadline.
    settings = Settings(
        database_url=database_url, analytics_sync_seconds=0.0, analytics_poll_seconds=3600
    )
    headers = make_key.headers("web")
    with TestClient(create_app(settings)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        copy = services.columnar
        assert _until(lambda: copy.ready)
        event = {"type": "woken", "messageId": "m1", "entityType": "message"}
        assert client.post("/events", json=event, headers=headers).status_code == 200
        assert _until(lambda: copy.as_of >= services.writer.last_commit_at)
        assert _copied_events(copy) == 1


def test_another_processes_commit_arrives_at_the_next_poll(
    database_url: str, make_key: KeyMaker, db: Database
) -> None:
    make_key("web")  # a project and an integration for the event
    settings = Settings(database_url=database_url, analytics_poll_seconds=0.05)
    with TestClient(create_app(settings)) as client:
        copy = client.app.state.services.columnar  # type: ignore[attr-defined]
        assert _until(lambda: copy.ready)
        syncs = copy.syncs
        # Written beside this process's writer, as another instance or an import would.
        with db.writer.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO events (id, project_id, integration_id, type, entity_type,"
                    " created_at) SELECT 'evt_other', project_id, id, 'other', 'message', 1"
                    " FROM integrations"
                )
            )
        assert _until(lambda: _copied_events(copy) == 1)
        # The row is readable once the sync's transaction commits, a moment before the sync
        # is counted.
        assert _until(lambda: copy.syncs > syncs)
