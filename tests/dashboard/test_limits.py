"""The dashboard's reads are analytic reads (issue 18): past the query timeout a page is a 422
page saying so, and with every query slot taken a 503 page with Retry-After."""

from __future__ import annotations

import contextlib

from starlette.testclient import TestClient

from threadline.services import Services


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def test_a_page_past_the_query_timeout_says_so(signed_in: TestClient) -> None:
    services = _services(signed_in)
    # A nanosecond: every read is past its deadline before its first statement.
    services.settings = services.settings.replace(query_timeout_seconds=1e-9)
    page = signed_in.get("/dashboard/events")
    assert page.status_code == 422
    assert "took longer than 1e-09 s" in page.text
    services.settings = services.settings.replace(query_timeout_seconds=15.0)
    assert signed_in.get("/dashboard/events").status_code == 200


def test_a_page_with_every_query_slot_taken_is_a_503(signed_in: TestClient) -> None:
    services = _services(signed_in)
    with contextlib.ExitStack() as held:
        for _ in range(services.settings.max_concurrent_queries):
            held.enter_context(services.queries.take(retry_after=1))
        page = signed_in.get("/dashboard/")
        assert page.status_code == 503
        assert page.headers["retry-after"] == "1"
        assert "Too many analytic queries" in page.text
    assert signed_in.get("/dashboard/").status_code == 200
