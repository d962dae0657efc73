"""How long the Insights pages take at a million semantic threads, through `threadline serve`.

    .venv/bin/python bench/insights_page.py                          # 1M threads, SQLite
    .venv/bin/python bench/insights_page.py --analytics off          # the primary store answers
    .venv/bin/python bench/insights_page.py --threads 20000 --runs 5 # smoke run
    .venv/bin/python bench/insights_page.py --database-url URL --key KEY  # loaded before

Creates the project and an api key with the real CLI (which migrates a new database), then
bulk-loads --threads generated thread rows (as the insight pipeline writes them: 120 subjects,
Zipf-skewed; 12% gaps; 8% rated negative; 6 languages; every sentiment, emotion and question
type) spread over the 90 days to --to, straight into `semantic_threads` (Core executemany,
10,000 rows per commit). Then it starts `threadline serve`, waits for the columnar copy (unless
--analytics off), signs in, and GETs each page: the first answer after the server started is
"cold", then one warm-up and --runs timed runs give median and p95 (nearest rank).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard import Browser, _nearest_rank, _wait_columnar, create_api_key
from servers import Server
from sqlalchemy import insert, select

from threadline.store.engine import open_database
from threadline.store.tables import projects, semantic_threads

SEED = 13
DAYS = 90
CHUNK = 10_000
AREAS = ("sso", "billing", "install", "api", "export", "search", "webhooks", "widget", "auth",
         "deploy", "theme", "limits")  # fmt: skip
TOPICS = ("setup", "errors", "keys", "plans", "docker", "tokens", "csv", "sdk", "okta", "k8s")
SUBJECTS = [f"{area} {topic}" for area in AREAS for topic in TOPICS]
LANGUAGES = (
    [["en"]] * 70 + [["de"]] * 10 + [["fr"]] * 8 + [["es"]] * 6 + [["ja"]] * 4 + [["de", "en"]] * 2
)
SENTIMENTS = ["neutral"] * 70 + ["negative"] * 18 + ["positive"] * 12
EMOTIONS = (
    ["curious"] * 50
    + ["neutral"] * 20
    + ["confused"] * 15
    + ["frustrated"] * 10
    + ["satisfied"] * 5
)
TYPES = ["how_to"] * 45 + ["troubleshooting"] * 25 + ["conceptual"] * 15 + ["account"] * 8 + [
    "feature_request"] * 5 + ["other"] * 2  # fmt: skip


def _rows(project_id: str, count: int, last: datetime) -> Any:
    """count thread rows in time order over DAYS days to `last`, growing ~2x over the period."""
    rng = random.Random(SEED)
    weights = [1 / (rank + 1) for rank in range(len(SUBJECTS))]
    start = last - timedelta(days=DAYS)
    span = DAYS * 86_400 * 1_000_000
    base = int(start.timestamp() * 1_000_000)
    for n in range(count):
        # Inverse of a linearly growing density: more threads near the end.
        at = base + int(span * ((1 + 3 * (n / count)) ** 0.5 - 1))
        subject = rng.choices(SUBJECTS, weights)[0]
        gap = rng.random() < 0.12
        negative = rng.random() < 0.08
        question = f"How do I configure {subject} for team {n % 997} in production?"
        yield {
            "project_id": project_id,
            "id": f"thr_{n:08d}",
            "integration_id": None,
            "message_ids": [f"m{n}q", f"m{n}a"],
            "messages_count": 2,
            "question": question,
            "question_length": len(question),
            "answer": f"To configure **{subject}**:\n\n1. Open settings\n2. Run `tl {n}`\n\n"
            f"See [the guide](https://docs.example.com/{subject.replace(' ', '-')}).",
            "is_on_topic": True,
            "is_clear": True,
            "is_documented": not gap,
            "is_feature_supported": None,
            "is_answer_confident": not gap,
            "gap_summary": f"The docs do not cover {subject} for this case." if gap else None,
            "subject": subject,
            "category": subject.split()[0],
            "question_type": rng.choice(TYPES),
            "languages": rng.choice(LANGUAGES),
            "first_party_entities": [],
            "third_party_entities": [],
            "emotion": rng.choice(EMOTIONS),
            "sentiment": "negative" if negative else rng.choice(SENTIMENTS),
            "properties": {},
            "user_properties": {"userId": f"u{n % 20_000}"},
            "first_message_at": at,
            "last_message_at": at + 30_000_000,
            "last_updated_at": at + 60_000_000,
            "has_positive_feedback": rng.random() < 0.1,
            "has_negative_feedback": negative,
            "conversation_ids": [f"conv_{n:08d}"],
            "are_ai_annotations_verified": False,
            "is_initial_question_answer": True,
        }


def load(url: str, project: str, count: int, last: datetime) -> None:
    database = open_database(url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            project_id = connection.execute(
                select(projects.c.id).where(projects.c.name == project)
            ).scalar_one()
        chunk: list[dict[str, Any]] = []
        for row in _rows(project_id, count, last):
            chunk.append(row)
            if len(chunk) == CHUNK:
                with database.writer.begin() as connection:
                    connection.execute(insert(semantic_threads), chunk)
                chunk = []
        if chunk:
            with database.writer.begin() as connection:
                connection.execute(insert(semantic_threads), chunk)
    finally:
        database.dispose()


def pages(last: str) -> dict[str, str]:
    end = datetime.strptime(last, "%Y-%m-%d")
    span = f"from={(end - timedelta(days=29)):%Y-%m-%d}&to={last}"
    long_span = f"from={(end - timedelta(days=89)):%Y-%m-%d}&to={last}"
    return {
        "insights, 30 days": f"/dashboard/insights?{span}",
        "insights, 90 days": f"/dashboard/insights?{long_span}",
        "threads, 30 days": f"/dashboard/insights/threads?{span}",
        "threads of a subject": f"/dashboard/insights/threads?{span}&subject=sso+setup",
        "threads, gaps only": f"/dashboard/insights/threads?{span}&gap=1",
        "threads, search": f"/dashboard/insights/threads?{span}&q=team+42+in",
    }


def timed(browser: Browser, path: str) -> float:
    started = time.perf_counter()
    status, page = browser.get(path)
    elapsed = time.perf_counter() - started
    if status != 200 or 'class="error-page' in page or "not computed yet" in page:
        raise RuntimeError(f"{path}: status {status}, or no threads")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite file)")
    parser.add_argument("--threads", type=int, default=1_000_000)
    parser.add_argument("--to", default="2026-11-23", help="last day of the data")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--analytics", default="columnar", choices=("columnar", "off"))
    parser.add_argument("--key", help="with --database-url: a database loaded before, this key's")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="threadline-insights-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'insights.db'}"
    key = args.key
    if key is None:
        key = create_api_key(url, "bench")
        last = datetime.strptime(args.to, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
        started = time.perf_counter()
        load(url, "bench", args.threads, last)
        print(
            f"{args.threads:,} threads loaded into {url} in {time.perf_counter() - started:.0f} s"
        )

    server = Server.threadline(
        url, workdir / "server.log", {"THREADLINE_ANALYTICS": args.analytics}
    )
    try:
        started = time.perf_counter()
        if args.analytics == "columnar":
            _wait_columnar(server)
        print(f"server ready after {time.perf_counter() - started:.0f} s", file=sys.stderr)
        browser = Browser(server.url)
        browser.sign_in(key)
        print(f"\nInsights pages at {args.threads:,} threads, ms (`{args.analytics}`; cold = the")
        print(f"first answer after start, then {args.runs} runs after a warm-up; load average")
        print(f"{os.getloadavg()[0]:.2f} before)\n")
        print("| page | cold | median | p95 |\n|---|--:|--:|--:|")
        for name, path in pages(args.to).items():
            cold = timed(browser, path)
            timed(browser, path)
            seconds = [timed(browser, path) for _ in range(args.runs)]
            median = statistics.median(seconds) * 1000
            p95 = _nearest_rank(seconds, 0.95) * 1000
            print(f"| {name} | {cold * 1000:,.0f} | {median:,.0f} | {p95:,.0f} |", flush=True)
        print(f"\nload average {os.getloadavg()[0]:.2f} after")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
