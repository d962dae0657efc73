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
from tests.dashboard.threads import thread, write_threads
from tests.e2e.conftest import LiveServer, log_excerpt
from threadline.store.engine import open_database

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
    ("Insights", "Insights"),
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


def test_insights_in_chromium(live_server: LiveServer, browser_page: Any) -> None:
    """The Insights page shows the pipeline's threads; the search box finds one; a person
    corrects its labels and the list shows them verified."""
    page, base = browser_page, live_server.base_url
    key = live_server.create_key("api")
    database = open_database(live_server.database_url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            write_threads(
                connection,
                [
                    thread(1, subject="installation", question="How do I install alpha?"),
                    thread(2, subject="billing", gap="No refund policy.", question="Refunds?"),
                    thread(3, subject="billing", answer="**Plans** are:\n\n- free\n- pro"),
                ],
            )
    finally:
        database.dispose()
    # Written after the threads: the server's next reads wait for a copy holding both.
    with live_server.client() as client:
        seed(client, key, "alpha")  # type: ignore[arg-type]

    page.goto(f"{base}/dashboard/sign-in?next=/dashboard/insights")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/insights")
    assert _heading(page) == "Insights", log_excerpt(live_server.log)
    subjects = page.locator("#subjects").inner_text()
    assert "installation" in subjects and "billing" in subjects
    assert "No refund policy." in page.locator("#gaps").inner_text()

    # The search box: the text becomes the threads query.
    page.fill("form.search-box input[name=q]", "install")
    page.click("form.search-box button[type=submit]")
    page.wait_for_url(lambda url: "/dashboard/insights/threads?" in url and "q=install" in url)
    found = page.locator("article.thread")
    assert found.count() == 1 and "How do I install alpha?" in found.first.inner_text()

    # Confirm or correct: a new subject, marked a gap, saved and shown verified.
    found.first.locator("details.thread-labels summary").click()
    form = found.first.locator("form.label-form")
    form.locator("input[name=subject]").fill("alpha setup")
    form.locator("input[name=gap]").check()
    form.locator("input[name=gapSummary]").fill("No guide for installing on ARM.")
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/dashboard/insights/threads?" in url and "q=install" in url)
    # The list is ranked by meaning: the worker's own thread of the seeded conversation (the
    # same question, embedded) may come first, so the corrected one is found by its subject.
    verified = page.locator("article.thread", has_text="alpha setup").first.inner_text()
    assert "verified by a person" in verified
    assert "No guide for installing on ARM." in verified

    # An answer's Markdown, rendered, with its raw text one click away.
    page.goto(f"{base}/dashboard/insights/threads?subject=billing")
    answer = page.locator("article.thread", has_text="Plans").first
    answer.locator("details.thread-answer > summary").click()
    assert answer.locator(".markdown strong", has_text="Plans").count() == 1
    assert answer.locator(".markdown li").count() == 2
    answer.locator("details.raw-text > summary").click()
    assert "**Plans** are:" in answer.locator("pre.message-raw").inner_text()

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    for path in ("/insights", "/insights/threads"):
        page.goto(f"{base}/dashboard{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} is {width} px wide on a {PHONE_WIDTH} px screen"
