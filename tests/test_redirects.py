"""threadline.redirects: a Location is a path, whatever Host header the client sent."""

from __future__ import annotations

from starlette.testclient import TestClient

from threadline.redirects import path_only


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
