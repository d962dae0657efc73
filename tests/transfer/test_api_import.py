"""`threadline import api` against a second threadline serving over HTTP (uvicorn in a thread):
afterwards the source and the target answer GET /conversations, GET /feedback and the events
export the same, row for row; a second run imports nothing; an interrupted run resumes."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.transfer import fill
from tests.transfer.conftest import everything, make_key, served
from threadline.app import create_app
from threadline.cli import main
from threadline.config import Settings
from threadline.store.engine import open_database
from threadline.store.tables import conversations, events, integrations
from threadline.transfer.api_import import UNLISTED, ApiImport
from threadline.transfer.source_api import SourceApi, SourceError
from threadline.transfer.tally import Tally

EVENTS = fill.SAME_INSTANT_EVENTS + fill.SPREAD_EVENTS


class CutAfter(httpx.HTTPTransport):
    """A network that drops every request after the first `requests`."""

    def __init__(self, requests: int) -> None:
        super().__init__()
        self.left = requests

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.left <= 0:
            raise httpx.ConnectError("the network is cut", request=request)
        self.left -= 1
        return super().handle_request(request)


def _run(target_url: str, source: SourceApi, web: frozenset[str] = frozenset()) -> Tally:
    database = open_database(target_url, read_pool_size=1)
    try:
        return ApiImport(database.writer, source, "dst", web_integrations=web).run()
    finally:
        source.close()
        database.dispose()


def test_import_from_a_second_server_is_exact_resumable_and_idempotent(
    database_url: str, target_url: str
) -> None:
    source_key = make_key(database_url, "src", "docs site")
    web_key = make_key(database_url, "src", "widget", "web")
    target_key = make_key(target_url, "dst", "reader")
    widget = _integration_ids(database_url, "widget")
    with served(database_url) as base_url, httpx.Client(base_url=base_url) as client:
        fill.fill(client, source_key, web_key)
        want = everything(client, source_key)

        # The network goes after two pages: the run stops, its committed pages stay.
        cut = _small_pages(SourceApi(base_url, source_key, attempts=1, transport=CutAfter(2)))
        with pytest.raises(SourceError):
            _run(target_url, cut, widget)

        resumed = _small_pages(SourceApi(base_url, source_key))
        first = _run(target_url, resumed, widget)
        # Resumed after the last committed page: nothing imported twice, nothing skipped.
        assert first.count("conversations", "skipped") == 0
        assert first.count("conversations", "imported") == fill.CONVERSATIONS - 2 * 7
        assert first.count("feedback", "imported") == fill.LISTED_FEEDBACK
        assert first.count("events", "imported") == EVENTS
        assert first.reasons[("feedback", "skipped", UNLISTED)] == fill.UNLISTED_FEEDBACK
        assert first.count("conversations", "refused") == 0

        # Again, through the command: nothing new.
        again = CliRunner().invoke(
            main,
            [
                *("import", "api", "--from-url", base_url, "--from-key", "-", "--quiet"),
                *("--database-url", target_url, "--project", "dst"),
            ],
            input=source_key + "\n",
        )
        assert again.exit_code == 0, again.output
        assert f"conversations: 0 imported, {fill.CONVERSATIONS} skipped, 0 refused" in again.output
        assert f"feedback: 0 imported, {fill.LISTED_FEEDBACK + 1} skipped" in again.output
        assert "events: 0 imported, " in again.output

    with TestClient(create_app(Settings(database_url=target_url))) as target:
        got = everything(target, target_key)
    # The unlisted feedback (its message is nowhere) is the one difference, and is counted.
    assert got["feedback"][0]["negativeFeedbackCount"] == (
        want["feedback"][0]["negativeFeedbackCount"] - fill.UNLISTED_FEEDBACK
    )
    got["feedback"][0] = want["feedback"][0]
    assert got["conversations"] == want["conversations"]
    assert got["feedback"] == want["feedback"]
    assert got["events"] == want["events"]
    assert len(got["events"]) == EVENTS + 1
    target_db = open_database(target_url, read_pool_size=1)
    with target_db.reader.connect() as connection:
        assert connection.execute(select(func.count()).select_from(events)).scalar() == EVENTS
        # The widget's conversations are stored as web keys' (--web-integration).
        owners = select(conversations.c.key_kind, func.count()).group_by(conversations.c.key_kind)
        assert dict(connection.execute(owners).all()) == {"api": 21, "web": 2}
    target_db.dispose()


def _integration_ids(database_url: str, name: str) -> frozenset[str]:
    database = open_database(database_url, read_pool_size=1)
    with database.reader.connect() as connection:
        found = connection.execute(select(integrations.c.id).where(integrations.c.name == name))
        ids = frozenset(found.scalars())
    database.dispose()
    return ids


def _small_pages(source: SourceApi) -> SourceApi:
    source.page = 7  # several pages of conversations and feedback from a small project
    return source


def test_waits_as_retry_after_says() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(503, headers={"Retry-After": "1"}),
        httpx.Response(200, json={"conversations": [], "total": 0}),
    ]
    waits: list[float] = []
    source = SourceApi(
        "http://source.invalid",
        "key",
        sleep=waits.append,
        transport=httpx.MockTransport(lambda request: answers.pop(0)),
    )
    assert list(source.conversations(0)) == []
    assert waits == [2.0, 1.0]


def test_a_refusal_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json={"title": "Unauthorized"})

    source = SourceApi("http://source.invalid", "key", transport=httpx.MockTransport(answer))
    with pytest.raises(SourceError, match="401"):
        list(source.conversations(0))
    assert len(calls) == 1
