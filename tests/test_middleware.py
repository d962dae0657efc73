"""The request middleware: a client that hangs up mid-body is one quiet line, not an error, and
a Location is a path, whatever Host header the client sent."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.testclient import TestClient

from tests.api.asgi import StalledBody, call
from tests.assertions import count
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings
from threadline.middleware import path_only
from threadline.store.engine import Database


def test_a_client_that_disconnects_mid_body_is_one_info_line(
    database_url: str, make_key: KeyMaker, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=database_url))
    services = app.state.services
    headers = {
        **make_key.headers("web"),
        "content-type": "application/json",
        "content-length": "100",
    }
    hangs_up = StalledBody(chunks=[b'{"type": "t",'], then_disconnect=True)
    services.start()
    try:
        with caplog.at_level(logging.DEBUG):
            response = asyncio.run(asyncio.wait_for(call(app, "/events", headers, hangs_up), 20))
    finally:
        services.stop()
    assert response is None  # nobody is left to answer
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert lines[0].exc_info is None
    assert "POST /events" in lines[0].getMessage()
    assert services.writes.running == 0
    assert count(db, "events") == 0


def test_path_only_never_makes_a_protocol_relative_url() -> None:
    assert path_only("http://evil.example/dashboard/x?a=1#top") == "/dashboard/x?a=1#top"
    assert path_only("http://testserver//evil.example/x") == "/evil.example/x"
    assert path_only("/dashboard/sign-in?next=/dashboard/") == "/dashboard/sign-in?next=/dashboard/"


def test_the_apis_trailing_slash_redirect_is_a_path(client: TestClient) -> None:
    response = client.get(
        "/feedback/?limit=1", headers={"host": "evil.example"}, follow_redirects=False
    )
    assert response.is_redirect
    assert response.headers["location"] == "/feedback?limit=1"
