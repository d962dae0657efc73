"""Every page, with data and without; filters; transcripts; and that a session sees its own
project only. Data is posted through the real HTTP API."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.dashboard.conftest import seed, sign_in

PAGES = (
    "/dashboard/",
    "/dashboard/conversations",
    "/dashboard/feedback",
    "/dashboard/search",
    "/dashboard/events",
)


@pytest.fixture
def seeded(signed_in: TestClient, api_key: str, make_key: KeyMaker) -> TestClient:
    seed(signed_in, api_key, "alpha")
    # Another project's data, with texts of its own: never to be seen through this session.
    seed(signed_in, make_key("api", project="other"), "omega")
    return signed_in


@pytest.mark.parametrize("path", PAGES)
def test_every_page_shows_the_projects_data_and_nothing_else(seeded: TestClient, path: str) -> None:
    response = seeded.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "omega" not in response.text
    if path != "/dashboard/":
        assert "alpha" in response.text


@pytest.mark.parametrize("path", PAGES)
def test_an_empty_project_gets_pages_that_say_what_to_do(signed_in: TestClient, path: str) -> None:
    response = signed_in.get(path)
    assert response.status_code == 200, response.text
    assert "curl -X POST" in response.text


def test_the_overview_counts_and_compares(seeded: TestClient) -> None:
    page = seeded.get("/dashboard/?range=7d").text
    assert "Last 7 days" in page
    assert '<svg class="chart small"' in page
    assert "50%" in page  # one positive, one negative
    assert "message:copied" in page and "docs site" in page


def test_conversations_filter_by_text_feedback_type_user_and_property(
    seeded: TestClient,
) -> None:
    def listed(query: str) -> set[str]:
        text = seeded.get(f"/dashboard/conversations?{query}").text
        return {name for name in ("install alpha", "alpha docs") if name in text}

    assert listed("") == {"install alpha", "alpha docs"}
    assert listed("q=INSTALL") == {"install alpha"}
    assert listed("feedback=negative") == {"alpha docs"}
    assert listed("feedback=any") == {"install alpha", "alpha docs"}
    assert listed("user=alpha-user-1") == {"alpha docs"}
    assert listed("key=plan&value=pro") == {"install alpha"}
    assert listed("type=support_ticket") == set()
    assert listed("range=custom&from=2020-01-01&to=2020-01-31") == set()


def test_paging_links_keep_the_filters(seeded: TestClient, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    for n in range(30):
        body = {"type": "openai", "messages": [{"role": "user", "content": f"paged {n}"}]}
        assert seeded.post("/conversations", json=body, headers=headers).status_code == 200
    first = seeded.get("/dashboard/conversations?q=paged").text
    assert "1\u201325 of 30" in first
    assert 'href="/dashboard/conversations?range=30d&amp;q=paged&amp;page=2"' in first
    second = seeded.get("/dashboard/conversations?q=paged&page=2").text
    assert "26\u201330 of 30" in second


def test_the_transcript_shows_messages_links_feedback_and_events(seeded: TestClient) -> None:
    page = seeded.get("/dashboard/conversations/alpha-conv-1")
    assert page.status_code == 200
    text = page.text
    assert "Where are alpha docs?" in text and "Answer 1 about alpha." in text
    assert "https://docs.example.com/alpha" in text  # the answer's cited link
    assert "Negative feedback" in text and "Outdated" in text and "alpha moved" in text
    first = seeded.get("/dashboard/conversations/alpha-conv-0").text
    assert "message:copied" in first and "chat_shared" in first


def test_another_projects_transcript_is_not_found(seeded: TestClient) -> None:
    page = seeded.get("/dashboard/conversations/omega-conv-0")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "omega" not in page.text.replace("omega-conv-0", "")


def test_feedback_filters_by_rating(seeded: TestClient) -> None:
    page = seeded.get("/dashboard/feedback?type=negative").text
    assert "alpha detail text" in page and "Outdated" in page
    assert "alpha detail text" not in seeded.get("/dashboard/feedback?type=positive").text


def test_search_analytics(seeded: TestClient) -> None:
    page = seeded.get("/dashboard/search").text
    assert "alpha install" in page and "alpha pricing" in page
    # "alpha install" was clicked, "alpha pricing" was not.
    unclicked = page.split("Queries with no click", 1)[1]
    assert "alpha pricing" in unclicked and "alpha install" not in unclicked
    assert '<svg class="chart wide"' in page


def test_events_filter_by_type_entity_and_property(seeded: TestClient) -> None:
    by_type = seeded.get("/dashboard/events?type=chat_shared").text
    assert "source=widget" in by_type and "alpha pricing" not in by_type
    by_entity = seeded.get("/dashboard/events?entity=search").text
    assert "alpha pricing" in by_entity and "source=widget" not in by_entity
    by_property = seeded.get("/dashboard/events?key=source&value=widget").text
    assert "chat_shared" in by_property and "1 event" in by_property
    nothing = seeded.get("/dashboard/events?key=source&value=elsewhere").text
    assert "No events match these filters" in nothing


def test_unknown_pages_are_friendly_html(signed_in: TestClient) -> None:
    page = signed_in.get("/dashboard/nope")
    assert page.status_code == 404
    assert "There is no such page" in page.text and "Back to the overview" in page.text


def test_the_viewers_timezone_decides_the_days(client: TestClient, api_key: str) -> None:
    assert sign_in(client, api_key, tz="Pacific/Kiritimati").status_code == 303
    assert "Pacific/Kiritimati" in client.get("/dashboard/").text


def test_client_sent_links_never_become_script_urls(signed_in: TestClient, api_key: str) -> None:
    body = {
        "id": "risky",
        "type": "openai",
        "externalId": "ext",
        "externalUrl": "javascript:alert(1)",
        "messages": [
            {
                "role": "assistant",
                "content": "<script>alert(2)</script>",
                "links": [{"url": "javascript:alert(3)", "title": "bad"}],
            }
        ],
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    assert signed_in.post("/conversations", json=body, headers=headers).status_code == 200
    page = signed_in.get("/dashboard/conversations/risky").text
    assert "javascript:" not in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(2)" in page


def test_a_conversations_events_open_in_the_explorer_and_download(seeded: TestClient) -> None:
    transcript = seeded.get("/dashboard/conversations/alpha-conv-0").text
    link = transcript.split('href="/dashboard/events?', 1)[1].split('"', 1)[0]
    query = link.replace("&amp;", "&")
    assert "conversation=alpha-conv-0" in query
    page = seeded.get(f"/dashboard/events?{query}").text
    assert "chat_shared" in page and "message:copied" in page and "alpha pricing" not in page
    rows = seeded.get(f"/dashboard/export/events.csv?{query}").text.splitlines()
    assert len(rows) == 3  # the header, the conversation's event and its message's event


def test_an_unexpected_error_is_a_logged_500_page(
    signed_in: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(request: Request) -> Response:
        raise RuntimeError("boom")

    dashboard = next(r for r in signed_in.app.routes if getattr(r, "path", "") == "/dashboard")
    dashboard.app.router.routes.insert(0, Route("/explode", explode))  # type: ignore[attr-defined]
    page = signed_in.get("/dashboard/explode")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text and "boom" not in page.text
    assert any("unhandled error on GET /dashboard/explode" in r.message for r in caplog.records)


def test_the_property_filter_suggests_the_keys_seen(seeded: TestClient) -> None:
    events = seeded.get("/dashboard/events").text
    assert '<datalist id="key-suggestions"><option value="source">' in events
    conversations = seeded.get("/dashboard/conversations").text
    assert '<option value="plan">' in conversations


def test_a_text_search_lists_the_best_match_first(seeded: TestClient, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    texts = {
        "best-refund": "refund refund refund",  # posted first: the older
        "weak-refund": "a long question that names a refund once among very many other words",
    }
    for conversation_id, text in texts.items():
        body = {
            "id": conversation_id,
            "type": "openai",
            "messages": [{"role": "user", "content": text}],
        }
        assert seeded.post("/conversations", json=body, headers=headers).status_code == 200
    searched = seeded.get("/dashboard/conversations?q=Refund").text
    assert "1\u20132 of 2" in searched
    assert searched.index("refund refund refund") < searched.index("names a refund once")
    listed = seeded.get("/dashboard/conversations").text
    assert listed.index("names a refund once") < listed.index("refund refund refund")
