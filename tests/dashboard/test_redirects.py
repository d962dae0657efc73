"""Every Location the dashboard sends is a path on this server: a hostile Host header (which
any client may send, and a cache or proxy may key on) never comes back in a redirect."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.dashboard.conftest import csrf_of

HOSTILE = "evil.example"


def locations(client: TestClient, requests: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    found = []
    for method, path, data in requests:
        response = client.request(
            method, path, data=data or None, headers={"host": HOSTILE}, follow_redirects=False
        )
        assert response.is_redirect, (method, path, response.status_code)
        found.append(response.headers["location"])
    return found


def assert_path_only(found: list[str]) -> None:
    for location in found:
        assert HOSTILE not in location, location
        assert location.startswith("/") and not location.startswith("//"), location


def test_signed_out_redirects_are_paths(client: TestClient) -> None:
    assert_path_only(
        locations(
            client,
            [
                ("GET", "/dashboard", {}),
                ("GET", "/dashboard/", {}),
                ("GET", "/dashboard/conversations/", {}),
                ("GET", "/dashboard/search/", {}),
                ("GET", "/dashboard/events?range=7d", {}),
                ("GET", "/dashboard/export/events.csv", {}),
            ],
        )
    )


def test_signed_in_redirects_are_paths(client: TestClient, api_key: str) -> None:
    token = csrf_of(client.get("/dashboard/sign-in", headers={"host": HOSTILE}).text)
    signed_in = locations(
        client,
        [("POST", "/dashboard/sign-in", {"csrf": token, "key": api_key, "next": "/dashboard/"})],
    )
    found = signed_in + locations(
        client,
        [
            ("GET", "/dashboard", {}),
            ("GET", "/dashboard/sign-in", {}),
            ("GET", "/dashboard/feedback/", {}),
        ],
    )
    token = csrf_of(client.get("/dashboard/", headers={"host": HOSTILE}).text)
    found += locations(client, [("POST", "/dashboard/sign-out", {"csrf": token})])
    assert_path_only(found)
    assert found[1] == "/dashboard/"
