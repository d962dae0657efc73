"""GET /metrics: requests by route template and status, writer, slots, refusals by reason, the
columnar copy and the insight backlog, on a registry of each app's own; the optional token."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.assertions import assert_problem
from tests.conftest import KeyMaker
from threadline.app import create_app
from threadline.config import Settings

Labels = frozenset[tuple[str, str]]


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, Labels], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def labels(**values: str) -> Labels:
    return frozenset(values.items())


def test_requests_are_counted_by_route_template_and_status(
    database_url: str, make_key: KeyMaker
) -> None:
    headers = make_key.headers("api")
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        for _ in range(2):
            assert client.get("/conversations/someone@example.com", headers=headers).status_code
        assert client.get("/no/such/path").status_code == 404
        event = {"type": "t", "messageId": "m1", "entityType": "message"}
        assert client.post("/events", json=event, headers=headers).status_code == 200
        assert client.get("/").status_code == 200
        found = scrape(client)

    requests = "threadline_http_requests_total"
    assert found[requests, labels(method="GET", route="/conversations/{id}", status="404")] == 2
    assert found[requests, labels(method="GET", route="unmatched", status="404")] == 1
    assert found[requests, labels(method="POST", route="/events", status="200")] == 1
    assert found[requests, labels(method="GET", route="/", status="200")] == 1
    # The raw path (an id chosen by a client, here an email) is never a label value.
    assert not any("someone@example.com" in str(key) for key in found)
    latency = "threadline_http_request_duration_seconds_count"
    assert found[latency, labels(method="GET", route="/conversations/{id}")] == 2
    # The write went through the writer: one commit of one write, timed.
    assert found["threadline_writer_commits_total", labels()] >= 1
    assert found["threadline_writer_writes_total", labels()] >= 1
    assert found["threadline_writer_writes_per_commit_count", labels()] >= 1
    assert found["threadline_writer_commit_seconds_count", labels()] >= 1
    assert found["threadline_writer_queue_depth", labels()] == 0
    assert found["threadline_writer_conflicts_total", labels()] == 0
    assert found["threadline_slots_taken", labels(kind="exports")] == 0
    assert found["threadline_slots_limit", labels(kind="exports")] == 2
    assert found["threadline_insights_backlog", labels()] >= 0
    # The copy may still be building (the lag appears once it is ready): present, whatever.
    assert ("threadline_columnar_failed_syncs_total", labels()) in found
    assert found["process_resident_memory_bytes", labels()] > 0
    assert found["process_cpu_seconds_total", labels()] > 0


def test_refusals_are_counted_by_reason(database_url: str, make_key: KeyMaker) -> None:
    settings = Settings(
        database_url=database_url,
        rate_limit_per_second=0.001,  # one request, then 429 rate_limit
        rate_limit_burst=1,
    )
    # No write slot at all, so every write is refused (503 writes_in_flight): a limit the
    # settings' rules refuse to an operator, set past them for this test alone.
    object.__setattr__(settings, "max_writes_in_flight", 0)
    headers = make_key.headers("web")
    event = {"type": "t", "messageId": "m1", "entityType": "message"}
    with TestClient(create_app(settings)) as client:
        assert_problem(client.post("/events", json=event, headers=headers), 503)
        assert_problem(client.post("/events", json=event, headers=headers), 429)
        found = scrape(client)
    refusals = "threadline_refusals_total"
    assert found[refusals, labels(status="503", reason="writes_in_flight")] == 1
    assert found[refusals, labels(status="429", reason="rate_limit")] == 1


def test_each_app_counts_on_its_own(database_url: str) -> None:
    settings = Settings(database_url=database_url, analytics="off")
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for _ in range(3):
            first.get("/health")
        route = labels(method="GET", route="/health", status="200")
        assert scrape(first)["threadline_http_requests_total", route] == 3
        assert ("threadline_http_requests_total", route) not in scrape(second)


def test_a_metrics_token_is_asked_for_when_set(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics_token="s3cret-token")
    with TestClient(create_app(settings)) as client:
        assert_problem(client.get("/metrics"), 401, "/metrics")
        assert_problem(client.get("/metrics", headers={"Authorization": "Bearer nope"}), 401)
        assert scrape(client, Authorization="Bearer s3cret-token")


def test_metrics_and_the_home_page_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths and "/" not in paths
    assert "/health" in paths
    # Left out on purpose, and nothing else is (tests/api/test_openapi.py checks the rest).
    hidden = {
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and not route.include_in_schema
    }
    assert hidden == {"/", "/metrics"}


def test_a_crash_is_counted_as_a_500_of_its_route(settings: Settings) -> None:
    app = create_app(settings)

    async def explode(_request: Request) -> None:
        raise RuntimeError("boom")

    app.router.routes.append(Route("/explode/{part}", explode, methods=["POST"]))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert_problem(client.post("/explode/x"), 500)
        found = scrape(client)
    route = labels(method="POST", route="/explode/{part}", status="500")
    assert found["threadline_http_requests_total", route] == 1
