"""Signing in and out: api keys only, signed HttpOnly cookies naming a server-side session that
sign-out, idling, its lifetime and revoking the key all end; CSRF on every form."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import KeyMaker
from tests.dashboard.conftest import csrf_of, sign_in
from threadline.app import create_app
from threadline.config import Settings
from threadline.store.engine import Database
from threadline.store.keys import list_keys, revoke_key
from threadline.store.tables import dashboard_sessions


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
    assert signed_in.post("/dashboard/sign-out", data={"next": "/"}).status_code == 403
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


def session_cookie(client: TestClient) -> str:
    cookie = client.cookies.get("tl_session", path="/dashboard")
    assert cookie
    return cookie


def replay(client: TestClient, cookie: str) -> int:
    """The status of the overview opened with only this session cookie."""
    client.cookies.clear()
    client.cookies.set("tl_session", cookie, path="/dashboard")
    return client.get("/dashboard/", follow_redirects=False).status_code


def age_sessions(db: Database, **columns: int) -> None:
    """Moves every session's times back by the given microseconds (created_at, last_seen_at)."""
    with db.writer.begin() as connection:
        connection.execute(
            dashboard_sessions.update().values(
                {name: dashboard_sessions.c[name] - ago for name, ago in columns.items()}
            )
        )


def last_seen(db: Database) -> list[int]:
    with db.reader.connect() as connection:
        return list(connection.execute(select(dashboard_sessions.c.last_seen_at)).scalars())


MINUTE_US = 60 * 1_000_000


def test_a_cookie_replayed_after_sign_out_is_refused(signed_in: TestClient, db: Database) -> None:
    cookie = session_cookie(signed_in)
    token = csrf_of(signed_in.get("/dashboard/").text)
    assert signed_in.post("/dashboard/sign-out", data={"csrf": token}).status_code == 200
    assert last_seen(db) == []  # the server-side session is gone, not only the cookie
    assert replay(signed_in, cookie) == 303


def test_a_session_idle_beyond_the_timeout_ends(signed_in: TestClient, db: Database) -> None:
    idle = Settings().session_idle_minutes
    cookie = session_cookie(signed_in)
    age_sessions(db, last_seen_at=int((idle - 1) * MINUTE_US))
    assert replay(signed_in, cookie) == 200  # which counts as activity: seen now
    age_sessions(db, last_seen_at=int((idle + 1) * MINUTE_US))
    assert replay(signed_in, cookie) == 303


def test_a_session_in_use_still_ends_at_its_lifetime(signed_in: TestClient, db: Database) -> None:
    lifetime_us = int(Settings().session_lifetime_hours * 60 * MINUTE_US)
    cookie = session_cookie(signed_in)
    age_sessions(db, created_at=lifetime_us - MINUTE_US)
    assert replay(signed_in, cookie) == 200
    age_sessions(db, created_at=2 * MINUTE_US)
    assert replay(signed_in, cookie) == 303


def test_last_seen_is_written_at_most_once_a_minute(signed_in: TestClient, db: Database) -> None:
    age_sessions(db, last_seen_at=10 * 1_000_000)
    (before,) = last_seen(db)
    assert signed_in.get("/dashboard/").status_code == 200
    assert last_seen(db) == [before]  # seen 10 s ago: no write
    age_sessions(db, last_seen_at=2 * MINUTE_US)
    (aged,) = last_seen(db)
    assert signed_in.get("/dashboard/").status_code == 200
    (touched,) = last_seen(db)
    assert touched > aged + MINUTE_US


def test_sessions_live_in_the_database_shared_by_instances(database_url: str, api_key: str) -> None:
    """Two processes on one database (and one secret): a session opened on one works on the
    other, and signing out on either ends it on both."""
    settings = Settings(database_url=database_url, session_secret="shared", analytics="off")
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        assert sign_in(first, api_key).status_code == 303
        cookie = session_cookie(first)
        assert replay(second, cookie) == 200
        token = csrf_of(second.get("/dashboard/").text)
        assert second.post("/dashboard/sign-out", data={"csrf": token}).status_code == 200
        assert replay(first, cookie) == 303
