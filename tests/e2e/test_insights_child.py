"""The insight worker's child process lives and dies with `threadline serve` (docs/insights.md):
stopped with it, and gone soon after the server is killed outright, instead of labelling on
as an orphan that holds leases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer, wait_gone

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 20.0


def _started_children(server: LiveServer) -> list[int]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        children = server.children()
        if children:
            return children
        time.sleep(0.1)
    pytest.fail(f"no insight worker child was started\n{server.log}")


def test_the_worker_stops_with_the_server(live_server: LiveServer) -> None:
    children = _started_children(live_server)
    live_server.stop_cleanly()
    assert wait_gone(children, DEADLINE_SECONDS) == []


def test_the_worker_does_not_outlive_a_killed_server(database_url: str, tmp_path: Path) -> None:
    server = LiveServer(database_url, tmp_path)
    try:
        server.wait_until_healthy()
        children = _started_children(server)
    finally:
        server.process.kill()  # SIGKILL, bypassing LiveServer.kill(), which waits for children
        server.process.wait(timeout=10)
        server.kill()
    assert wait_gone(children, DEADLINE_SECONDS) == [], server.log
