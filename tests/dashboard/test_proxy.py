"""Behind a TLS-terminating proxy: X-Forwarded-Proto is believed from THREADLINE_TRUSTED_PROXIES
only, and over https the dashboard's cookies are Secure and __Host- prefixed."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from tests.dashboard.conftest import csrf_of
from threadline.app import create_app
from threadline.config import Settings, settings_from_env

PROXY = ("10.1.2.3", 40000)
STRANGER = ("192.0.2.7", 40000)
HTTPS = {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.9"}


@pytest.fixture
def proxied(database_url: str) -> Settings:
    return Settings(database_url=database_url, analytics="off", trusted_proxies=("10.0.0.0/8",))


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    headers = response.headers.get_list("set-cookie")
    return {header.split("=", 1)[0]: header for header in headers}


def sign_in_via(client: TestClient, api_key: str) -> tuple[httpx.Response, httpx.Response]:
    """The sign-in page and the sign-in POST, cookies passed by hand: httpx would not send a
    Secure cookie back over the test's plain http."""
    page = client.get("/dashboard/sign-in", headers=HTTPS)
    csrf_cookie = set_cookies(page)
    jar = "; ".join(header.split(";", 1)[0] for header in csrf_cookie.values())
    client.cookies.clear()
    posted = client.post(
        "/dashboard/sign-in",
        data={"csrf": csrf_of(page.text), "key": api_key},
        headers={**HTTPS, "cookie": jar},
        follow_redirects=False,
    )
    return page, posted


def test_https_from_a_trusted_proxy_makes_host_prefixed_secure_cookies(
    proxied: Settings, api_key: str
) -> None:
    with TestClient(create_app(proxied), client=PROXY) as client:
        page, posted = sign_in_via(client, api_key)
        csrf = set_cookies(page)["__Host-tl_csrf"]
        assert posted.status_code == 303
        session = set_cookies(posted)["__Host-tl_session"]
        for cookie in (csrf, session):
            assert "Secure" in cookie and "Path=/;" in cookie + ";" and "Domain" not in cookie
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        value = session.split(";", 1)[0]
        opened = client.get(
            "/dashboard/", headers={**HTTPS, "cookie": value}, follow_redirects=False
        )
        assert opened.status_code == 200
        # The prefix is the point: over https an unprefixed cookie (which a sibling subdomain
        # or a plain-http page could have planted) is not a session.
        plain = {**HTTPS, "cookie": value.removeprefix("__Host-")}
        refused = client.get("/dashboard/", headers=plain, follow_redirects=False)
        assert refused.status_code == 303


def test_forwarded_https_from_anyone_else_is_ignored(proxied: Settings) -> None:
    with TestClient(create_app(proxied), client=STRANGER) as client:
        page = client.get("/dashboard/sign-in", headers=HTTPS)
        cookies = set_cookies(page)
        assert "tl_csrf" in cookies and "__Host-tl_csrf" not in cookies
        assert "Secure" not in cookies["tl_csrf"]


def test_no_proxy_is_trusted_by_default(database_url: str) -> None:
    settings = Settings(database_url=database_url, analytics="off")
    assert settings.trusted_proxies == ()
    with TestClient(create_app(settings), client=("127.0.0.1", 40000)) as client:
        cookies = set_cookies(client.get("/dashboard/sign-in", headers=HTTPS))
        assert "tl_csrf" in cookies and "Secure" not in cookies["tl_csrf"]


def test_https_served_directly_also_uses_secure_host_prefixed_cookies(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, analytics="off")
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        cookies = set_cookies(client.get("/dashboard/sign-in"))
        assert "Secure" in cookies["__Host-tl_csrf"]


def test_trusted_proxies_are_read_from_the_environment() -> None:
    settings = settings_from_env({"THREADLINE_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16"})
    assert settings.trusted_proxies == ("10.0.0.1", "192.168.0.0/16")
