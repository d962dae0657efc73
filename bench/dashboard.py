"""How long each dashboard page takes to answer, end to end through `threadline serve`.

    .venv/bin/python bench/dashboard.py --database-url sqlite:////tmp/big.db --project bench \\
        --to 2026-11-23
    .venv/bin/python bench/dashboard.py --events 20000        # a fresh demo database, quick

With --database-url it serves an existing database (e.g. one bench/queries.py --keep left);
otherwise it loads a demo project of --events events with `threadline demo --no-serve` into a
temp SQLite file. It creates an api key with the real CLI, starts `threadline serve` (the
columnar copy on unless --analytics off), waits for the copy, signs in through the sign-in
form like a browser, then GETs each page --runs times after one warm-up, with the period
ending at --to (the last day of the data), and prints median and p95 (nearest rank) per page.
Every answer must be 200 with a page that is not an error page.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import msgspec
from servers import Server

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TRANSCRIPT = re.compile(r'href="(/dashboard/conversations/[^"?]+)')


def page_paths(last: str) -> dict[str, str]:
    """Each page benchmarked, by name, for periods of 30 and 90 days ending on `last`."""
    end = time.mktime(time.strptime(last, "%Y-%m-%d"))
    first = time.strftime("%Y-%m-%d", time.localtime(end - 29 * 86400))
    days90 = time.strftime("%Y-%m-%d", time.localtime(end - 89 * 86400))
    span = f"from={first}&to={last}"
    long_span = f"from={days90}&to={last}"
    return {
        "overview, 30 days": f"/dashboard/?{span}",
        "overview, 90 days": f"/dashboard/?{long_span}",
        "conversations": f"/dashboard/conversations?{span}",
        "conversations, text search": f"/dashboard/conversations?{span}&q=export",
        "conversations, text search, 90 days": f"/dashboard/conversations?{long_span}&q=export",
        "conversations, text search, page 5": (
            f"/dashboard/conversations?{long_span}&q=api+key&page=5"
        ),
        "conversations, text search, Japanese": (
            f"/dashboard/conversations?{long_span}&q=%E8%AA%B2%E9%87%91"  # 課金
        ),
        "feedback": f"/dashboard/feedback?{span}",
        "search analytics, 30 days": f"/dashboard/search?{span}",
        "search analytics, 90 days": f"/dashboard/search?{long_span}",
        "events": f"/dashboard/events?{span}",
        "events, by type": f"/dashboard/events?{span}&type=search",
        "events, by property": f"/dashboard/events?{span}&key=theme&value=dark",
    }


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _cli(*arguments: str) -> str:
    command = [sys.executable, "-m", "threadline", *arguments]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def create_api_key(url: str, project: str) -> str:
    """An api key of `project`, made with the real CLI."""
    return _cli(
        "keys",
        "create",
        "--project",
        project,
        "--integration",
        "bench",
        "--kind",
        "api",
        "--database-url",
        url,
    ).strip()


class Browser:
    """Cookies and redirects, as a browser keeps them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=600) as answer:
            return answer.status, answer.read().decode()

    def sign_in(self, key: str) -> None:
        _, form = self.get("/dashboard/sign-in")
        csrf = CSRF.search(form)
        assert csrf, "no CSRF token on the sign-in form"
        body = urllib.parse.urlencode({"key": key, "csrf": csrf.group(1), "tz": "UTC"}).encode()
        with self.opener.open(self.base + "/dashboard/sign-in", data=body, timeout=60) as answer:
            page = answer.read().decode()
        assert "sign-out" in page, "signing in did not reach a signed-in page"


def _wait_columnar(server: Server) -> None:
    while True:
        ready = msgspec.json.decode(server.get("/ready") or b"{}")
        if ready.get("analytics", {}).get("columnarReady"):
            return
        time.sleep(0.5)


def measure(browser: Browser, path: str, runs: int) -> list[float]:
    seconds = []
    for run in range(runs + 1):
        started = time.perf_counter()
        status, page = browser.get(path)
        elapsed = time.perf_counter() - started
        if status != 200 or 'class="error-page' in page:
            raise RuntimeError(f"{path}: status {status}")
        if run:
            seconds.append(elapsed)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--project", default="demo")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--to", help="last day of the period (default: today)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--analytics", default="columnar", choices=("columnar", "off"))
    parser.add_argument("--analytics-path", help="the columnar copy to follow on from")
    parser.add_argument(
        "--pages", default="", help="only the pages whose name contains this (e.g. 'search a')"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="threadline-dashboard-bench-"))
    url = args.database_url
    if url is None:
        url = f"sqlite:///{workdir / 'demo.db'}"
        _cli("demo", "--no-serve", "--events", str(args.events), "--database-url", url)
    key = create_api_key(url, args.project)
    last = time.strftime("%Y-%m-%d") if args.to is None else args.to

    env = {"THREADLINE_ANALYTICS": args.analytics}
    if args.analytics_path:
        env["THREADLINE_ANALYTICS_PATH"] = args.analytics_path
    server = Server.threadline(url, workdir / "server.log", env)
    try:
        started = time.perf_counter()
        if args.analytics == "columnar":
            _wait_columnar(server)
        print(f"columnar copy ready after {time.perf_counter() - started:.0f} s", file=sys.stderr)
        browser = Browser(server.url)
        browser.sign_in(key)
        pages = {name: path for name, path in page_paths(last).items() if args.pages in name}
        _, listing = browser.get(page_paths(last)["conversations"])
        transcript = TRANSCRIPT.search(listing)
        if transcript and args.pages in "transcript":
            pages["transcript"] = transcript.group(1)
        load_before = os.getloadavg()[0]
        print(f"\nDashboard pages, ms ({args.runs} runs after a warm-up; `{args.analytics}`;")
        print(f"load average {load_before:.2f} before)\n")
        print("| page | median | p95 |\n|---|--:|--:|")
        for name, path in pages.items():
            seconds = measure(browser, path, args.runs)
            median = statistics.median(seconds) * 1000
            p95 = _nearest_rank(seconds, 0.95) * 1000
            print(f"| {name} | {median:,.0f} | {p95:,.0f} |", flush=True)
        print(f"\nload average {os.getloadavg()[0]:.2f} after")
        # Issue 15's 50M target bounds the server's memory, copy build included.
        print(f"server peak RSS {server.peak_rss_mb():,.0f} MB")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
