"""Reading request bodies: a whole-body deadline (408), and what a slow body may not hold."""

from __future__ import annotations

import asyncio
import json

import httpx2 as httpx

from tests.api.asgi import Receive, StalledBody, call, whole
from tests.assertions import assert_problem, count
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database

EVENT = {"type": "t", "messageId": "m", "entityType": "message"}
# A test that fails must not hang: every scenario is bounded by this.
SCENARIO_SECONDS = 20.0


def _event(headers: dict[str, str]) -> tuple[dict[str, str], Receive]:
    """Headers and receive() for a whole, valid event."""
    encoded = json.dumps(EVENT).encode()
    return {**headers, "content-length": str(len(encoded))}, whole(encoded)


def test_a_body_that_never_arrives_is_408_and_a_later_write_gets_the_slot(
    database_url: str, make_key: KeyMaker, db: Database
) -> None:
    app = create_app(
        Settings(database_url=database_url, max_writes_in_flight=1, body_timeout_seconds=0.05)
    )
    services = app.state.services
    headers = {**make_key.headers("web"), "content-type": "application/json"}

    async def scenario() -> tuple[httpx.Response | None, httpx.Response | None]:
        # One byte of a 100-byte body, then nothing: receive() never completes.
        stalled = StalledBody(chunks=[b"{"])
        slow = await call(app, "/events", {**headers, "content-length": "100"}, stalled)
        later = await call(app, "/events", *_event(headers))
        return slow, later

    services.start()
    try:
        slow, later = asyncio.run(asyncio.wait_for(scenario(), SCENARIO_SECONDS))
    finally:
        services.stop()
    assert slow is not None
    body = assert_problem(slow, 408, "/events")
    assert body["code"] == "request_timeout"
    assert slow.headers["connection"] == "close"
    assert services.writes.running == 0
    assert later is not None and later.status_code == 200, later and later.text
    assert count(db, "events") == 1


def test_a_body_being_read_holds_no_write_slot(
    database_url: str, make_key: KeyMaker, db: Database
) -> None:
    # The deadline is long: the slow body is still being read when the other write comes.
    app = create_app(
        Settings(database_url=database_url, max_writes_in_flight=1, body_timeout_seconds=60)
    )
    services = app.state.services
    headers = {**make_key.headers("web"), "content-type": "application/json"}

    async def scenario() -> tuple[httpx.Response | None, int]:
        stalled = StalledBody(chunks=[b"{"])
        slow = asyncio.ensure_future(
            call(app, "/events", {**headers, "content-length": "100"}, stalled)
        )
        await asyncio.wait_for(stalled.waiting.wait(), SCENARIO_SECONDS)
        in_flight_while_reading = services.writes.running
        later = await call(app, "/events", *_event(headers))
        stalled.release.set()  # the slow client goes away
        await slow
        return later, in_flight_while_reading

    services.start()
    try:
        later, in_flight_while_reading = asyncio.run(asyncio.wait_for(scenario(), SCENARIO_SECONDS))
    finally:
        services.stop()
    assert in_flight_while_reading == 0
    assert later is not None and later.status_code == 200, later and later.text
    assert services.writes.running == 0
    assert count(db, "events") == 1
