"""The dashboard in a real browser against the real server (SQLite and PostgreSQL): Debian's
chromium, driven by Playwright, signs in with an api key, opens every page, applies a filter,
opens a transcript, downloads a CSV and signs out. Data is posted through the HTTP API first.

/usr/bin/chromium is required (CI installs it): its absence fails, never skips.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import seed
from tests.e2e.conftest import LiveServer, log_excerpt

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
STEP_MS = 15_000
PHONE_WIDTH = 390
ZONE = "America/New_York"
PAGES = (
    ("Overview", "Overview"),
    ("Conversations", "Conversations"),
    ("Feedback", "Feedback"),
    ("Search", "Search analytics"),
    ("Events", "Events"),
)


@pytest.fixture
def browser_page(live_server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing (CI installs it: apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(timezone_id=ZONE, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert not errors, f"script errors in the dashboard: {errors}"
        finally:
            browser.close()


def _heading(page: Any) -> str:
    return str(page.locator("main h1").first.inner_text())


def test_the_dashboard_in_chromium(live_server: LiveServer, browser_page: Any) -> None:
    page, base = browser_page, live_server.base_url
    key = live_server.create_key("api")
    with live_server.client() as client:
        seed(client, key, "alpha")  # type: ignore[arg-type]  # httpx.Client serves as well

    # Signed out, any page leads to the sign-in form, and back to that page afterwards.
    page.goto(f"{base}/dashboard/events")
    page.wait_for_url(lambda url: url.startswith(f"{base}/dashboard/sign-in?next="))
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/events")
    assert "chat_shared" in page.content(), log_excerpt(live_server.log)
    # The browser's timezone reached the server: days and times are drawn in it.
    assert page.locator("[data-zone]").inner_text() == ZONE

    for link, heading in PAGES:
        page.locator("nav.nav a", has_text=link).click()
        page.wait_for_load_state()
        assert _heading(page) == heading, log_excerpt(live_server.log)
        assert page.locator(".error-card").count() == 0

    # A filter: message text search narrows the conversations to one.
    page.locator("nav.nav a", has_text="Conversations").click()
    page.fill("input[name=q]", "install")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(lambda url: "/dashboard/conversations?" in url and "q=install" in url)
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "How do I install alpha?" in rows.first.inner_text()

    # The CSV download holds what the table shows.
    with page.expect_download() as started:
        page.click("a.download")
    download = started.value
    text = Path(download.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in exported] == ["alpha-conv-0"]
    assert download.suggested_filename.startswith("conversations-")

    # The transcript: messages, the cited link, the feedback and events on the answer.
    rows.first.locator("a").first.click()
    page.wait_for_url(lambda url: "/dashboard/conversations/alpha-conv-0" in url)
    transcript = page.locator("ol.transcript").inner_text()
    assert "How do I install alpha?" in transcript and "Answer 0 about alpha." in transcript
    assert page.locator("ol.transcript a", has_text="Guide").count() == 1
    assert "Positive feedback" in transcript and "message:copied" in transcript
    # Times were re-formatted in the browser (the ISO instant stays in the title).
    assert page.locator("time[title]").count() > 0

    # A phone's width: every page fits (tables scroll or stack inside their cards).
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    for path in (
        "/",
        "/conversations",
        "/conversations/alpha-conv-0",
        "/feedback",
        "/search",
        "/events",
    ):
        page.goto(f"{base}/dashboard{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} is {width} px wide on a {PHONE_WIDTH} px screen"
    page.set_viewport_size({"width": 1280, "height": 800})

    page.click("form.signout button")
    page.wait_for_url(f"{base}/dashboard/sign-in")
    page.goto(f"{base}/dashboard/")
    page.wait_for_url(lambda url: url.startswith(f"{base}/dashboard/sign-in?next="))
