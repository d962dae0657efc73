"""Load shedding: beyond max_writes_in_flight, writes get 503 + Retry-After at once."""

from __future__ import annotations

import asyncio
import threading

import httpx2 as httpx
from sqlalchemy import Connection

from tests.assertions import assert_problem, count
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database

EVENT = {"type": "t", "messageId": "m", "entityType": "message"}


def test_writes_beyond_the_bound_are_shed_and_nothing_is_stored(
    database_url: str, make_key: KeyMaker, db: Database
) -> None:
    app = create_app(Settings(database_url=database_url, max_writes_in_flight=2))
    services = app.state.services
    headers = make_key.headers("web")
    writer_busy = threading.Event()

    def hold_the_writer(_connection: Connection) -> None:
        writer_busy.wait(timeout=30)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            blocker = asyncio.ensure_future(services.writer.submit(hold_the_writer))
            first = [
                asyncio.ensure_future(client.post("/events", json=EVENT, headers=headers))
                for _ in range(2)
            ]
            while services.writes.running < 2:
                await asyncio.sleep(0.001)
            shed = await client.post("/events", json=EVENT, headers=headers)
            writer_busy.set()
            await blocker
            return [shed, *await asyncio.gather(*first)]

    services.start()
    try:
        shed, *accepted = asyncio.run(scenario())
    finally:
        writer_busy.set()
        services.stop()
    assert_problem(shed, 503, "/events")
    assert shed.headers["retry-after"] == "1"
    assert [r.status_code for r in accepted] == [200, 200]
    assert count(db, "events") == 2
    assert services.writes.running == 0
