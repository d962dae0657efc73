"""Dashboard fixtures: a signed-in TestClient, and a project seeded through the real HTTP API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from threadline.config import Settings

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def sign_in(client: TestClient, key: str, tz: str = "UTC") -> Any:
    """Open the sign-in page (which sets the pre-session cookie) and post the key."""
    page = client.get("/dashboard/sign-in")
    assert page.status_code == 200
    return client.post(
        "/dashboard/sign-in",
        data={"csrf": csrf_of(page.text), "key": key, "tz": tz, "next": "/dashboard/"},
        follow_redirects=False,
    )


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def seed(client: TestClient, key: str, marker: str = "alpha") -> dict[str, str]:
    """Two conversations, feedback both ways, and message, conversation and search events,
    all within the last day; every text carries `marker`, so tests can tell projects apart."""
    headers = {"Authorization": f"Bearer {key}"}
    now = datetime.now(UTC) - timedelta(minutes=5)
    for n, question in enumerate((f"How do I install {marker}?", f"Where are {marker} docs?")):
        body = {
            "id": f"{marker}-conv-{n}",
            "type": "openai",
            "createdAt": iso(now - timedelta(hours=n)),
            "userProperties": {"userId": f"{marker}-user-{n}"},
            "properties": {"plan": "pro" if n == 0 else "free"},
            "messages": [
                {"id": f"{marker}-m{n}-q", "role": "user", "content": question},
                {
                    "id": f"{marker}-m{n}-a",
                    "role": "assistant",
                    "content": f"Answer {n} about {marker}.",
                    "links": [{"url": f"https://docs.example.com/{marker}", "title": "Guide"}],
                },
            ],
        }
        assert client.post("/conversations", json=body, headers=headers).status_code == 200
    feedback = [
        {"type": "positive", "messageId": f"{marker}-m0-a"},
        {
            "type": "negative",
            "messageId": f"{marker}-m1-a",
            "reasons": [{"label": "Outdated", "details": f"{marker} moved"}],
            "details": f"{marker} detail text",
        },
    ]
    for item in feedback:
        assert client.post("/feedback", json=item, headers=headers).status_code == 200
    events = [
        {"type": "message:copied", "entityType": "message", "messageId": f"{marker}-m0-a"},
        {
            "type": "chat_shared",
            "entityType": "conversation",
            "conversationId": f"{marker}-conv-0",
            "properties": {"source": "widget"},
        },
        *[
            {
                "type": "search_query_submitted",
                "entityType": "search",
                "searchQuery": f"{marker} {query}",
                "userProperties": {"userId": f"{marker}-user-0"},
            }
            for query in ("install", "install", "pricing")
        ],
        {
            "type": "search_result_clicked",
            "entityType": "search",
            "searchQuery": f"{marker} install",
        },
    ]
    for event in events:
        assert client.post("/events", json=event, headers=headers).status_code == 200
    return {"conversation": f"{marker}-conv-0"}


@pytest.fixture(params=["columnar", "off"])
def settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    """Every dashboard test runs with the columnar copy answering analytic reads (when it has
    caught up) and with the primary store answering them all: the pages must be the same."""
    return Settings(database_url=database_url, analytics=request.param)


@pytest.fixture
def api_key(make_key: KeyMaker) -> str:
    return make_key("api", project="docs")


@pytest.fixture
def signed_in(client: TestClient, api_key: str) -> TestClient:
    response = sign_in(client, api_key)
    assert response.status_code == 303, response.text
    return client
