"""PNG screenshots of the dashboard's main pages, desktop and phone width, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py --base-url http://127.0.0.1:8080 --key "$KEY" \
        [--query "from=2026-10-25&to=2026-11-22"] [--out docs/screenshots] [--only insights]

Drives Debian's chromium (/usr/bin/chromium) with Playwright; no browser is downloaded. `--query`
is added to every page's URL (a date range that holds the data). docs/dashboard.md shows how the
README's screenshots were made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1360, "height": 900}
PHONE = {"width": 390, "height": 844}
# (file name, path, whether the query string applies)
PAGES = (
    ("overview", "/dashboard/", True),
    ("conversations", "/dashboard/conversations", True),
    ("feedback", "/dashboard/feedback", True),
    ("search", "/dashboard/search", True),
    ("events", "/dashboard/events", True),
    ("insights", "/dashboard/insights", True),
    ("insights-threads", "/dashboard/insights/threads", True),
)


# Pages shown at their whole length on desktop (the Insights page's gaps and charts sit below
# the fold).
FULL_PAGE = {"insights"}


def _sign_in(page: Any, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/dashboard/sign-in")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/dashboard/**")


def _first_transcript(page: Any) -> str | None:
    link = page.locator("table a[href^='/dashboard/conversations/']").first
    return link.get_attribute("href") if link.count() else None


def take(
    base_url: str, key: str, query: str, out: Path, zone: str, only: set[str] | None = None
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                context = browser.new_context(
                    viewport=viewport,
                    timezone_id=zone,
                    device_scale_factor=2 if device == "phone" else 1,
                    is_mobile=device == "phone",
                )
                page = context.new_page()
                _sign_in(page, base_url, key)
                for name, path, filtered in PAGES:
                    if only and name not in only:
                        continue
                    suffix = f"?{query}" if query and filtered else ""
                    page.goto(f"{base_url}{path}{suffix}")
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}-{device}.png"
                    page.screenshot(
                        path=str(target), full_page=name in FULL_PAGE and device == "desktop"
                    )
                    written.append(target)
                    if name == "conversations" and (href := _first_transcript(page)):
                        page.goto(f"{base_url}{href}")
                        page.wait_for_load_state("networkidle")
                        target = out / f"transcript-{device}.png"
                        page.screenshot(path=str(target))
                        written.append(target)
                context.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--key", required=True, help="an api key of the project to show")
    parser.add_argument("--query", default="", help="added to each page's URL, e.g. range=90d")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--timezone", default="Europe/Berlin", help="the browser's timezone")
    parser.add_argument("--only", nargs="*", help="these pages only (names as in PAGES)")
    args = parser.parse_args(argv)
    only = set(args.only) if args.only else None
    base = args.base_url.rstrip("/")
    for path in take(base, args.key, args.query, args.out, args.timezone, only):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
