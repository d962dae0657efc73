"""A client that closes its socket in the middle of a large CSV export (issue 18) gives its
export slot back: with one slot, a real server keeps answering exports after several such
clients, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import insert, select

from tests.e2e.conftest import LiveServer, log_excerpt, serving
from threadline.store.engine import open_database
from threadline.store.tables import api_keys, events

pytestmark = pytest.mark.e2e

# ~20 MB of CSV: far more than the socket buffers between server and client hold, so the
# server is still streaming when the client leaves.
ROWS = 40_000
PADDING = "x" * 500
READ_BEFORE_LEAVING = 64 * 1024
LEAVES = 3
RELEASE_SECONDS = 20.0
BODY = {"select": [{"type": "field", "field": "id"}, {"type": "field", "field": "properties"}]}


@pytest.fixture
def one_slot_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    env = {"THREADLINE_MAX_CONCURRENT_EXPORTS": "1"}
    with serving(LiveServer(database_url, tmp_path, env=env)) as server:
        yield server


def _store_events(database_url: str) -> None:
    database = open_database(database_url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            project_id, integration_id = connection.execute(
                select(api_keys.c.project_id, api_keys.c.integration_id)
            ).one()
            connection.execute(
                insert(events),
                [
                    {
                        "project_id": project_id,
                        "id": f"evt-{i:06d}",
                        "integration_id": integration_id,
                        "entity_type": "message",
                        "type": "message:copied",
                        "properties": {"padding": PADDING},
                        "created_at": 1_770_000_000_000_000 + i * 1000,
                    }
                    for i in range(ROWS)
                ],
            )
    finally:
        database.dispose()


def _read_part_and_leave(server: LiveServer, key: str) -> bytes:
    """POST the export over a raw socket, read READ_BEFORE_LEAVING bytes, close the socket."""
    body = json.dumps(BODY).encode()
    request = (
        f"POST /query/events/export HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        while len(received) < READ_BEFORE_LEAVING:
            data = sock.recv(READ_BEFORE_LEAVING)
            assert data, f"the server closed first: {received[:300]!r}"
            received += data
    return received


def _wait_for_free_slots(client: httpx.Client, server: LiveServer) -> None:
    """The server notices a closed socket on its next write, asynchronously: poll /ready
    (no sleep: each poll is a round trip) until no export is running, or fail at the deadline."""
    deadline = time.monotonic() + RELEASE_SECONDS
    exports: dict[str, int] = {}
    while time.monotonic() < deadline:
        exports = client.get("/ready").json()["exports"]
        if exports["running"] == 0:
            return
    pytest.fail(
        f"exports still held {RELEASE_SECONDS:.0f} s after their clients left: "
        f"{exports}\n{log_excerpt(server.log)}"
    )


def test_clients_that_leave_mid_export_do_not_use_up_the_slots(
    one_slot_server: LiveServer,
) -> None:
    server = one_slot_server
    key = server.create_key("api")
    _store_events(server.database_url)
    headers = {"Authorization": f"Bearer {key}"}
    with server.client(timeout=60) as client:
        for _ in range(LEAVES):
            part = _read_part_and_leave(server, key)
            assert part.startswith(b"HTTP/1.1 200 "), part[:300]
            _wait_for_free_slots(client, server)
        whole = client.post("/query/events/export", json=BODY, headers=headers)
        assert whole.status_code == 200, whole.text[:500]
        assert whole.text.count("\r\n") == ROWS + 1
