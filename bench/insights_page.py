"""How long the Insights pages take at a million semantic threads, through `threadline serve`.

    .venv/bin/python bench/insights_page.py                          # 1M threads, SQLite
    .venv/bin/python bench/insights_page.py --analytics off          # the primary store answers
    .venv/bin/python bench/insights_page.py --threads 20000 --runs 5 # smoke run
    .venv/bin/python bench/insights_page.py --database-url URL --load-only  # load, print the key
    .venv/bin/python bench/insights_page.py --database-url URL --key KEY  # loaded before

Creates the project and an api key with the real CLI (which migrates a new database), then
bulk-loads --threads generated thread rows (as the insight pipeline writes them: 120 subjects,
Zipf-skewed; 12% gaps; 8% rated negative; 6 languages; every sentiment, emotion and question
type) spread over the 90 days to --to, straight into `semantic_threads` (Core executemany,
10,000 rows per commit), each with its question's vector in `thread_vectors` (the real model
embeds one question per subject; each thread's vector is its subject's plus noise, so a search
has near and far threads). Then it starts `threadline serve`, waits for the columnar copy (unless
--analytics off), signs in, and GETs each page: the first answer after the server started is
"cold", then one warm-up and --runs timed runs give median and p95 (nearest rank). Last it
POSTs semantic searches to /query/semantic-threads with the api key, timed the same way.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from dashboard import Browser, _nearest_rank, _wait_columnar, create_api_key
from servers import Server
from sqlalchemy import insert, select

from threadline.insights.embed import Embedder, normalise, to_blob
from threadline.store.engine import open_database
from threadline.store.tables import projects, semantic_threads, thread_vectors

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


# How far a thread's vector strays from its subject's (a unit vector's share of noise).
NOISE = 0.06


def _subject_vectors() -> dict[str, Any]:
    embedder = Embedder()
    vectors = embedder.embed([f"How do I configure {subject}?" for subject in SUBJECTS])
    return dict(zip(SUBJECTS, vectors, strict=True))


def _rows(project_id: str, count: int, last: datetime) -> Any:
    """count (thread row, vector row) pairs in time order over DAYS days to `last`, growing ~2x
    over the period."""
    rng = random.Random(SEED)
    noise = np.random.default_rng(SEED)
    subject_vectors = _subject_vectors()
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
        vector = normalise(subject_vectors[subject] + noise.normal(0, NOISE, 384).astype("f4"))
        vector_row = {
            "project_id": project_id,
            "thread_id": f"thr_{n:08d}",
            "conversation_id": f"conv_{n:08d}",
            "content_hash": f"{n:064d}",
            "vector": to_blob(vector),
            "created_at": at + 60_000_000,
        }
        thread = {
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
        yield thread, vector_row


def load(url: str, project: str, count: int, last: datetime) -> None:
    database = open_database(url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            project_id = connection.execute(
                select(projects.c.id).where(projects.c.name == project)
            ).scalar_one()
        chunk: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for pair in _rows(project_id, count, last):
            chunk.append(pair)
            if len(chunk) == CHUNK:
                _insert(database, chunk)
                chunk = []
        if chunk:
            _insert(database, chunk)
    finally:
        database.dispose()


def _insert(database: Any, chunk: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    with database.writer.begin() as connection:
        connection.execute(insert(semantic_threads), [thread for thread, _ in chunk])
        connection.execute(insert(thread_vectors), [vector for _, vector in chunk])


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


def _condition(field: str, operator: str, value: str) -> dict[str, Any]:
    return {"condition": {"field": field, "operator": operator, "value": value}}


def searches(last: str) -> dict[str, dict[str, Any]]:
    """Bodies of POST /query/semantic-threads: a search over 30 days (as the threads page
    asks), over every thread, and within one subject."""
    end = datetime.strptime(last, "%Y-%m-%d") + timedelta(days=1)
    since = f"{end - timedelta(days=30):%Y-%m-%dT00:00:00Z}"
    period = [
        _condition("firstMessageTime", "gte", since),
        _condition("firstMessageTime", "lt", f"{end:%Y-%m-%dT00:00:00Z}"),
    ]
    subject = [*period, _condition("subject", "eq", "sso okta")]
    fields = [{"type": "field", "field": f} for f in ("id", "question", "subject")]
    return {
        "search, 30 days": {
            "select": fields,
            "query": "rotate an expired api token",
            "where": {"and": period},
        },
        "search, all threads": {"select": fields, "query": "single sign-on with okta"},
        "search, one subject": {
            "select": fields,
            "query": "okta login fails",
            "where": {"and": subject},
        },
    }


def post(base: str, key: str, body: dict[str, Any]) -> float:
    request = urllib.request.Request(
        f"{base}/query/semantic-threads",
        data=msgspec.json.encode(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as answer:
        data = msgspec.json.decode(answer.read())
    elapsed = time.perf_counter() - started
    if not data["data"]:
        raise RuntimeError(f"no threads found for {body['query']!r}")
    return elapsed


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
    parser.add_argument(
        "--searches-only", action="store_true", help="time the API searches, not the pages"
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="load the threads and stop (build the data under load, measure later with --key)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="threadline-insights-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'insights.db'}"
    key = args.key
    if key is None:
        key = create_api_key(url, "bench")
        print(f"api key {key} (for --key)", file=sys.stderr)
        last = datetime.strptime(args.to, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
        started = time.perf_counter()
        load(url, "bench", args.threads, last)
        print(
            f"{args.threads:,} threads loaded into {url} in {time.perf_counter() - started:.0f} s"
        )
        if args.load_only:
            print(f"--key {key}")
            return 0

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
        for name, path in {} if args.searches_only else pages(args.to).items():
            cold = timed(browser, path)
            timed(browser, path)
            seconds = [timed(browser, path) for _ in range(args.runs)]
            median = statistics.median(seconds) * 1000
            p95 = _nearest_rank(seconds, 0.95) * 1000
            print(f"| {name} | {cold * 1000:,.0f} | {median:,.0f} | {p95:,.0f} |", flush=True)
        print("\nSearches: the server's CPU per search (all its threads; moves much less with")
        print("the machine's load than the wall-clock times)\n")
        print("| search | cold | median | p95 | server CPU ms per search |\n|---|--:|--:|--:|--:|")
        for name, body in searches(args.to).items():
            cold = post(server.url, key, body)
            post(server.url, key, body)
            before = sum(server.cpu_seconds())
            seconds = [post(server.url, key, body) for _ in range(args.runs)]
            cpu_ms = (sum(server.cpu_seconds()) - before) / args.runs * 1000
            median = statistics.median(seconds) * 1000
            p95 = _nearest_rank(seconds, 0.95) * 1000
            print(
                f"| API {name} | {cold * 1000:,.0f} | {median:,.0f} | {p95:,.0f} | {cpu_ms:,.0f} |",
                flush=True,
            )
        print(f"\nload average {os.getloadavg()[0]:.2f} after")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
