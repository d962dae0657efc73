"""Semantic search: the `query` of POST /query/semantic-threads (and its export) ranks threads
by meaning, combined with the `where` filters, on both backends and both read paths."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.dashboard.conftest import sign_in
from tests.insights.conftest import CountingLabeller, caught_up, conversation
from tests.insights.test_worker import LATER
from threadline.config import Settings
from threadline.insights.embed import Embedder
from threadline.insights.worker import Worker
from threadline.store.engine import Database
from threadline.timestamps import now_us

QUESTIONS = {
    "keys": "How do I rotate my API key?",
    "invoices": "Where can I download last month's invoice as a PDF?",
    "sso": "Okta single sign-on fails with a SAML assertion error",
    "webhooks": "How do I receive webhook events when a conversation ends?",
}


@pytest.fixture(params=["columnar", "off"])
def settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    # One analytic query at a time: a search (its filter checks and literal search) and its
    # page each take one slot, never two at once, so every search here still answers.
    return Settings(database_url=database_url, analytics=request.param, max_concurrent_queries=1)


@pytest.fixture
def labelled(
    client: TestClient, api_headers: dict[str, str], db: Database, embedder: Embedder
) -> TestClient:
    for name, question in QUESTIONS.items():
        body = conversation(name, ("user", question), ("assistant", "Here is how."))
        assert client.post("/conversations", json=body, headers=api_headers).status_code == 200
    Worker(db, labeller=CountingLabeller(), embedder=embedder).step(now_us() + LATER)
    caught_up(client)
    return client


def search(client: TestClient, headers: dict[str, str], **body: Any) -> list[str]:
    body.setdefault("select", [{"type": "field", "field": "question"}])
    response = client.post("/query/semantic-threads", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [row["question"] for row in response.json()["data"]["result"]]


def test_threads_are_ranked_by_meaning(labelled: TestClient, api_headers: dict[str, str]) -> None:
    # No word in common with the question it finds.
    found = search(labelled, api_headers, query="regenerate an access token")
    assert found[0] == QUESTIONS["keys"]
    found = search(labelled, api_headers, query="billing statement download")
    assert found[0] == QUESTIONS["invoices"]
    assert QUESTIONS["sso"] not in found[:1]


def test_search_is_combined_with_the_where_filters(
    labelled: TestClient, api_headers: dict[str, str]
) -> None:
    found = search(
        labelled,
        api_headers,
        query="regenerate an access token",
        where={"condition": {"field": "questionLength", "operator": "gt", "value": 30}},
    )
    assert QUESTIONS["keys"] not in found  # 27 characters: filtered out
    assert all(len(q) > 30 for q in found)


def test_an_order_by_wins_over_the_ranking(
    labelled: TestClient, api_headers: dict[str, str]
) -> None:
    found = search(
        labelled,
        api_headers,
        query="how do I",
        orderBy=[{"field": "questionLength", "direction": "asc"}],
        select=[
            {"type": "field", "field": "question"},
            {"type": "field", "field": "questionLength"},
        ],
    )
    assert found == sorted(found, key=len)


def test_nothing_similar_finds_nothing_and_the_export_ranks_too(
    labelled: TestClient, api_headers: dict[str, str]
) -> None:
    assert search(labelled, api_headers, query="zxqv qqqq") == []
    response = labelled.post(
        "/query/semantic-threads/export",
        json={"select": [{"type": "field", "field": "question"}], "query": "SAML login problem"},
        headers=api_headers,
    )
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[1] == QUESTIONS["sso"]


def test_the_dashboard_search_box_ranks_by_meaning(
    labelled: TestClient, make_key: KeyMaker
) -> None:
    assert sign_in(labelled, make_key("api", project="docs")).status_code == 303
    page = labelled.get("/dashboard/insights/threads?q=regenerate+an+access+token").text
    found = re.findall(r'<p class="thread-question">(?:<a [^>]*>)?([^<]*)<', page)
    questions = [html.unescape(question) for question in found]
    assert questions and questions[0] == QUESTIONS["keys"], questions
