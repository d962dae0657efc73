"""Signing in and out: api keys only, signed HttpOnly cookies, CSRF on every form."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.dashboard.conftest import csrf_of, sign_in
from threadline.store.engine import Database
from threadline.store.keys import list_keys, revoke_key


def test_an_api_key_signs_in_with_an_httponly_lax_cookie(client: TestClient, api_key: str) -> None:
    response = sign_in(client, api_key)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("tl_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/dashboard" in session
    assert api_key not in session  # the cookie names the key, never holds it
    page = client.get("/dashboard/")
    assert page.status_code == 200 and "Overview" in page.text and "docs" in page.text


def test_a_web_key_cannot_sign_in(client: TestClient, make_key: KeyMaker) -> None:
    response = sign_in(client, make_key("web"))
    assert response.status_code == 403
    assert "Web keys cannot sign in" in response.text
    assert "tl_session" not in response.headers.get("set-cookie", "")
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_an_unknown_or_empty_key_is_refused(client: TestClient) -> None:
    response = sign_in(client, "tl_api_not-a-real-key")
    assert response.status_code == 401
    assert "unknown or has been revoked" in response.text
    assert sign_in(client, "").status_code == 400


def test_sign_in_without_the_csrf_token_is_refused(client: TestClient, api_key: str) -> None:
    client.get("/dashboard/sign-in")
    response = client.post("/dashboard/sign-in", data={"key": api_key}, follow_redirects=False)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    forged = client.post(
        "/dashboard/sign-in", data={"key": api_key, "csrf": "0" * 64}, follow_redirects=False
    )
    assert forged.status_code == 403


def test_pages_send_a_signed_out_viewer_to_sign_in(client: TestClient) -> None:
    response = client.get("/dashboard/events?range=7d", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in?next=/dashboard/events%3Frange%3D7d"
    export = client.get("/dashboard/export/events.csv", follow_redirects=False)
    assert export.status_code == 303


def test_sign_in_returns_to_the_page_asked_for_and_never_elsewhere(
    client: TestClient, api_key: str
) -> None:
    page = client.get("/dashboard/sign-in")
    for target, landing in (
        ("/dashboard/events?range=7d", "/dashboard/events?range=7d"),
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/", "/dashboard/"),
    ):
        response = client.post(
            "/dashboard/sign-in",
            data={"csrf": csrf_of(page.text), "key": api_key, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == landing


def test_sign_out_needs_the_session_csrf_token_and_ends_the_session(
    signed_in: TestClient,
) -> None:
    assert signed_in.post("/dashboard/sign-out", data={}).status_code == 403
    assert signed_in.get("/dashboard/", follow_redirects=False).status_code == 200
    token = csrf_of(signed_in.get("/dashboard/").text)
    response = signed_in.post("/dashboard/sign-out", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"
    assert signed_in.get("/dashboard/", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions(signed_in: TestClient, db: Database) -> None:
    with db.writer.begin() as connection:
        for key in list_keys(connection):
            revoke_key(connection, key.id)
    assert signed_in.get("/dashboard/", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_is_no_session(signed_in: TestClient) -> None:
    cookie = signed_in.cookies.get("tl_session", path="/dashboard")
    assert cookie
    signed_in.cookies.clear()
    signed_in.cookies.set("tl_session", cookie[:-2] + "xx", path="/dashboard")
    assert signed_in.get("/dashboard/", follow_redirects=False).status_code == 303


def test_the_timezone_sent_at_sign_in_draws_the_pages(client: TestClient, api_key: str) -> None:
    response = sign_in(client, api_key, tz="Asia/Kolkata")
    assert response.status_code == 303
    assert "Times shown in <span data-zone>Asia/Kolkata</span>" in client.get("/dashboard/").text
