"""A CSV export streams (reference §7.8): exporting 100,000 events through the real server keeps
its memory flat, far below the size of the file it sends, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import insert, select

from tests.e2e.conftest import LiveServer
from threadline.store.engine import open_database
from threadline.store.tables import api_keys, events

pytestmark = pytest.mark.e2e

ROWS = 100_000
# Each row carries ~400 bytes of properties, so the whole file is ~60 MB.
PADDING = "x" * 400
# Growth of the server's resident memory allowed while the export runs: a fraction of the file.
MAX_GROWTH_BYTES = 12 * 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _store_events(database_url: str) -> None:
    """ROWS events of the key's project, written straight to the database (HTTP would take
    minutes); the export reads them like any other."""
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            project_id, integration_id = connection.execute(
                select(api_keys.c.project_id, api_keys.c.integration_id)
            ).one()
            for start in range(0, ROWS, 10_000):
                connection.execute(
                    insert(events),
                    [
                        {
                            "project_id": project_id,
                            "id": f"evt-{i:06d}",
                            "integration_id": integration_id,
                            "entity_type": "message",
                            "type": "message:copied",
                            "message_id": f"m-{i % 997}",
                            "properties": {"padding": PADDING, "note": 'a, "quoted"\nline'},
                            "created_at": 1_770_000_000_000_000 + i * 1000,
                        }
                        for i in range(start, min(start + 10_000, ROWS))
                    ],
                )
    finally:
        database.dispose()


def test_exporting_100k_events_keeps_memory_flat(live_server: LiveServer) -> None:
    key = live_server.create_key("api")
    _store_events(live_server.database_url)
    headers = {"Authorization": f"Bearer {key}"}
    body = {"select": [{"type": "field", "field": "id"}, {"type": "field", "field": "properties"}]}
    pid = live_server.process.pid
    with live_server.client(timeout=120) as client:
        # The columnar copy takes in the new rows in the background (memory of its own, not the
        # export's): wait until it has them.
        _wait_until_counted(client, headers)
        # Warm up: imports, pools and the first query plan are not the export's growth.
        warm = client.post(
            "/query/events/export", json={**body, "where": _one_row()}, headers=headers
        )
        assert warm.status_code == 200, warm.text
        baseline = peak = _rss(pid)
        size = 0
        chunks: list[bytes] = []
        with client.stream("POST", "/query/events/export", json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            for i, chunk in enumerate(response.iter_bytes()):
                size += len(chunk)
                chunks.append(chunk)
                if i % 20 == 0:
                    peak = max(peak, _rss(pid))
        peak = max(peak, _rss(pid))
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0] == ["id", "properties.note", "properties.padding"]
    assert len(rows) == ROWS + 1
    assert rows[1] == ["evt-099999", 'a, "quoted"\nline', PADDING]
    assert size > 3 * MAX_GROWTH_BYTES, "the file must be much larger than the bound to mean much"
    assert peak - baseline < MAX_GROWTH_BYTES, (
        f"server RSS grew {(peak - baseline) / 2**20:.1f} MiB while sending {size / 2**20:.1f} MiB"
    )


def _wait_until_counted(client: httpx.Client, headers: dict[str, str]) -> None:
    count = {"select": [{"type": "aggregation", "aggregation": "count"}]}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = client.post("/query/events", json=count, headers=headers)
        assert answer.status_code == 200, answer.text
        if answer.json()["data"]["result"] == [{"count": ROWS}]:
            ready = client.get("/ready").json()
            if ready["analytics"]["answered"]["columnar"] > 0:
                return
        time.sleep(0.2)
    raise AssertionError("the columnar copy did not take in the events within 60 s")


def _one_row() -> dict[str, object]:
    return {"condition": {"field": "id", "operator": "eq", "value": "evt-000000"}}
