"""GET /: a page that links the dashboard, the OpenAPI document, health and metrics."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_the_root_links_where_to_go(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for target in ("dashboard/", "openapi.json", "health", "ready", "metrics"):
        assert f'href="{target}"' in response.text
        # Each link, relative to the root, answers.
        followed = client.get(f"/{target}", follow_redirects=True)
        assert followed.status_code == 200, target
