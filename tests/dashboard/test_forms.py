"""Every dashboard form POST takes a small urlencoded body only, refused before it is parsed:
the sign-in form is open to anyone, so its body must cost nothing to turn away."""

from __future__ import annotations

import asyncio

import httpx2 as httpx
import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.types import Message

from tests.dashboard.conftest import csrf_of
from threadline.app import create_app
from threadline.config import Settings
from threadline.dashboard.forms import FORM_MEDIA_TYPE as FORM
from threadline.dashboard.forms import MAX_FORM_BYTES, MAX_FORM_FIELDS


def post_paths(client: TestClient) -> list[str]:
    """Every POST route of the dashboard, read from its routing table, so a form added later
    is covered here without being listed."""
    routes = client.app.routes  # type: ignore[attr-defined]
    mount = next(r for r in routes if isinstance(r, Mount) and r.path == "/dashboard")
    return [
        f"/dashboard{route.path}"
        for route in mount.routes
        if isinstance(route, Route) and "POST" in (route.methods or ())
    ]


def test_the_dashboard_has_form_posts(client: TestClient) -> None:
    assert set(post_paths(client)) >= {"/dashboard/sign-in", "/dashboard/sign-out"}


def assert_error_page(response: httpx.Response) -> None:
    """A refusal is the dashboard's HTML error page, never problem+json or a stack trace."""
    assert "text/html" in response.headers["content-type"]


def test_multipart_is_refused_without_being_parsed(signed_in: TestClient) -> None:
    for path in post_paths(signed_in):
        # With the session's valid token: the body is refused, not the form.
        token = csrf_of(signed_in.get("/dashboard/").text)
        response = signed_in.post(
            path,
            data={"csrf": token, "key": "x"},
            files={"upload": ("big.bin", b"\0" * 4096, "application/octet-stream")},
            follow_redirects=False,
        )
        assert response.status_code == 415, (path, response.status_code)
        assert_error_page(response)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_other_content_types_are_refused(signed_in: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    for path in post_paths(signed_in):
        response = signed_in.post(path, content=b"csrf=x", headers=headers, follow_redirects=False)
        assert response.status_code == 415, (path, response.status_code)


def test_a_body_over_the_limit_is_refused_by_its_declared_length(signed_in: TestClient) -> None:
    # Signed in, so that forms behind a session (insights labels) read their body too.
    token = csrf_of(signed_in.get("/dashboard/").text)
    for path in post_paths(signed_in):
        body = f"csrf={token}&key=" + "k" * MAX_FORM_BYTES
        response = signed_in.post(
            path,
            content=body.encode(),
            headers={"content-type": FORM},
            follow_redirects=False,
        )
        assert response.status_code == 413, (path, response.status_code)
        assert_error_page(response)


def test_a_streamed_body_is_read_no_further_than_the_limit(settings: Settings) -> None:
    """Without a Content-Length (chunked), reading stops once the limit is passed: the rest of
    a huge body is never pulled from the client. Driven over raw ASGI, since TestClient reads a
    request body whole before the app sees it."""
    chunk = b"a" * 4096
    pulled = 0
    statuses: list[int] = []

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < 10_000}  # 40 MB

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/dashboard/sign-in",
        "raw_path": b"/dashboard/sign-in",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", FORM.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    app = create_app(settings)
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        app.state.services.database.dispose()
    assert statuses == [413]
    assert pulled * len(chunk) <= MAX_FORM_BYTES + len(chunk)


def test_too_many_fields_are_refused(client: TestClient) -> None:
    token = csrf_of(client.get("/dashboard/sign-in").text)
    fields = "&".join(f"f{n}=" for n in range(MAX_FORM_FIELDS + 1))
    response = client.post(
        "/dashboard/sign-in",
        content=f"csrf={token}&{fields}".encode(),
        headers={"content-type": FORM},
        follow_redirects=False,
    )
    assert response.status_code == 413
    assert_error_page(response)


def test_a_form_within_the_limits_still_signs_in(client: TestClient, api_key: str) -> None:
    token = csrf_of(client.get("/dashboard/sign-in").text)
    response = client.post(
        "/dashboard/sign-in",
        content=f"csrf={token}&key={api_key}&tz=Europe%2FBerlin&next=%2Fdashboard%2Fevents".encode(),
        headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/events"
