"""The Insights pages over semantic threads written as the pipeline writes them: subjects,
knowledge gaps (and their CSV), charts, the threads list and its search, confirming or correcting
labels, Markdown answers, empty states and tenancy."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.dashboard.conftest import csrf_of, seed, sign_in
from tests.dashboard.threads import insert_threads, micros, thread
from threadline.dashboard.insights_data import bucket_width
from threadline.dashboard.period import period_from
from threadline.store.engine import Database
from threadline.store.tables import semantic_threads

WEEK = "range=7d"
WEEK_AGO = timedelta(days=6)
REFUNDS = "The docs do not say how refunds work."


@pytest.fixture
def threads(signed_in: TestClient) -> TestClient:
    day = timedelta(days=1)
    insert_threads(
        signed_in,
        [
            thread(1, subject="installation"),
            thread(2, subject="installation", negative=True, age=2 * day),
            thread(3, subject="installation", gap="No guide for ARM installs.", age=3 * day),
            thread(4, subject="installation", age=10 * day),  # the previous period
            thread(5, subject="billing", gap=REFUNDS, question="How do refunds work?"),
            thread(6, subject="billing", gap=REFUNDS, age=day, question="Refund for annual?"),
            thread(7, subject="billing", gap=REFUNDS, age=2 * day, question="Partial refund?"),
            thread(8, subject="billing", gap=REFUNDS, age=4 * day, question="Old refund q?"),
            thread(9, subject="sso", languages=["de"], sentiment="positive", emotion="satisfied"),
            # Another project's threads: never seen through this session.
            thread(1, project_id="other", subject="omega secret", gap="omega gap"),
        ],
    )
    return signed_in


def test_the_insights_page_is_in_the_navigation(signed_in: TestClient) -> None:
    page = signed_in.get("/dashboard/")
    assert 'href="/dashboard/insights"' in page.text


def test_before_the_pipeline_ran_the_page_says_how_to_compute_insights(
    signed_in: TestClient,
) -> None:
    page = signed_in.get("/dashboard/insights")
    assert page.status_code == 200
    assert "Insights are not computed yet" in page.text
    assert "threadline insights run" in page.text


def test_a_period_without_threads_says_so(threads: TestClient) -> None:
    page = threads.get("/dashboard/insights?range=custom&from=2020-01-01&to=2020-01-31").text
    assert "No threads in this period" in page and "Widen the date range" in page


def test_subjects_count_compare_and_share(threads: TestClient) -> None:
    page = threads.get(f"/dashboard/insights?{WEEK}").text
    assert "omega" not in page
    subjects = page.split('id="subjects"', 1)[1].split('id="gaps"', 1)[0]
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [c.split(">", 1)[-1].strip() for c in _cells(row)] for row in subjects.split("<tr>")[2:]
        )
    }
    # installation: 3 threads this week, 1 the week before; 1 of 3 negative, 1 of 3 a gap.
    assert rows["installation"] == ["3", "+200%", "33%", "33%"]
    assert rows["billing"] == ["4", "new", "0%", "100%"]
    assert rows["sso"] == ["1", "new", "0%", "0%"]
    assert "installation&amp;page" not in subjects  # paging is not carried into a subject
    assert 'href="/dashboard/insights/threads?range=7d&amp;subject=billing"' in subjects


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell) for cell in row.split("</tr>", 1)[0].split("<td")[1:]]


def test_knowledge_gaps_are_grouped_with_examples_and_transcript_links(
    threads: TestClient,
) -> None:
    page = threads.get(f"/dashboard/insights?{WEEK}").text
    gaps = page.split('id="gaps"', 1)[1]
    billing = gaps.split("billing", 1)[1].split('class="gap-group"', 1)[0]
    assert "4 gaps" in billing and "new" in billing
    # The three newest questions, each linked to its transcript; the oldest is left out.
    assert "How do refunds work?" in billing and "Partial refund?" in billing
    assert "Old refund q?" not in billing
    assert 'href="/dashboard/conversations/docs-conv-5"' in billing
    assert REFUNDS in billing
    assert "No guide for ARM installs." in gaps
    assert "omega" not in page


def test_the_knowledge_gaps_csv_holds_every_gap_of_the_period(threads: TestClient) -> None:
    response = threads.get(f"/dashboard/export/knowledge-gaps.csv?{WEEK}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["subject"], r["question"]) for r in rows] == [
        ("billing", "How do refunds work?"),
        ("billing", "Refund for annual?"),
        ("billing", "Partial refund?"),
        ("billing", "Old refund q?"),
        ("installation", "How do I set up installation step 3?"),
    ]
    assert rows[0]["gapSummary"] == REFUNDS


def test_sentiment_emotion_languages_and_question_types(threads: TestClient) -> None:
    page = threads.get(f"/dashboard/insights?{WEEK}").text
    assert 'class="bar seg-neutral"' in page and 'class="bar seg-negative"' in page
    assert 'class="bar seg-satisfied"' in page
    assert "Threads per day by emotion" in page
    assert '<span class="bar-label" title="de">de</span>' in page
    assert '<span class="bar-label" title="how_to">how_to</span>' in page


def test_a_subject_opens_its_threads_paged_with_transcript_links(signed_in: TestClient) -> None:
    insert_threads(
        signed_in,
        [thread(n, subject="paging", age=timedelta(minutes=n)) for n in range(30)]
        + [thread(99, subject="elsewhere")],
    )
    first = signed_in.get("/dashboard/insights/threads?subject=paging").text
    assert "1\u201325 of 30" in first and "elsewhere" not in first
    assert 'href="/dashboard/conversations/docs-conv-0"' in first
    assert "subject=paging&amp;page=2" in first
    second = signed_in.get("/dashboard/insights/threads?subject=paging&page=2").text
    assert "26\u201330 of 30" in second and "docs-conv-29" in second


def test_the_search_box_passes_its_text_as_the_query(threads: TestClient) -> None:
    page = threads.get(f"/dashboard/insights?{WEEK}").text
    assert 'action="/dashboard/insights/threads"' in page and 'name="q"' in page
    found = threads.get(f"/dashboard/insights/threads?{WEEK}&q=REFUND").text
    assert "How do refunds work?" in found and "Partial refund?" in found
    assert "set up installation" not in found and "omega" not in found
    gaps_only = threads.get(f"/dashboard/insights/threads?{WEEK}&gap=1").text
    assert "No guide for ARM installs." in gaps_only and "step 1?" not in gaps_only


def test_answers_render_as_safe_markdown_with_the_raw_text_at_hand(
    signed_in: TestClient,
) -> None:
    hostile = (
        "**Use** the CLI:\n\n```sh\ntl serve\n```\n\n<script>alert(1)</script>\n"
        "[x](jav&#x61;script:alert(2)) ![t](https://tracker.example/p.png)"
    )
    insert_threads(signed_in, [thread(1, answer=hostile)])
    page = signed_in.get("/dashboard/insights/threads").text
    assert "<strong>Use</strong>" in page and '<code class="language-sh">' in page
    assert "<script>alert" not in page and 'href="javascript' not in page
    assert "[x](javascript:alert(2))" in page  # not a link: shown as typed
    assert "<img" not in page.split("<main", 1)[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # rendered as text, and raw
    assert '<details class="raw-text"><summary>Raw text</summary>' in page


def test_a_transcript_renders_assistant_markdown(signed_in: TestClient, api_key: str) -> None:
    body = {
        "id": "md",
        "type": "openai",
        "messages": [
            {"role": "user", "content": "**not bold** from the user"},
            {"role": "assistant", "content": "1. one\n2. [two](https://docs.example.com/2)"},
        ],
    }
    headers = {"Authorization": f"Bearer {api_key}"}
    assert signed_in.post("/conversations", json=body, headers=headers).status_code == 200
    page = signed_in.get("/dashboard/conversations/md").text
    assert (
        '<li><a href="https://docs.example.com/2" rel="nofollow noopener noreferrer">two</a>'
        in page
    )
    assert "**not bold** from the user" in page  # user text is shown as typed
    assert '<pre class="message-raw">1. one\n2. [two](https://docs.example.com/2)</pre>' in page


def _confirm(client: TestClient, thread_id: str, **form: str) -> Any:
    page = client.get("/dashboard/insights/threads?range=90d").text
    data = {"csrf": csrf_of(page), "next": "/dashboard/insights/threads?range=90d", **form}
    return client.post(
        f"/dashboard/insights/threads/{thread_id}/labels", data=data, follow_redirects=False
    )


def _stored(db: Database, thread_id: str) -> Any:
    """A stored thread (ids are unique across these tests' projects)."""
    with db.reader.connect() as connection:
        return connection.execute(
            select(semantic_threads).where(semantic_threads.c.id == thread_id)
        ).one()


def test_a_person_corrects_a_threads_labels_and_they_are_verified(
    threads: TestClient, db: Database
) -> None:
    response = _confirm(
        threads, "docs-thread-1", subject="  ARM   installs ", gap="1", gapSummary="No ARM guide."
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/insights/threads?range=90d"
    row = _stored(db, "docs-thread-1")
    assert row.subject == "ARM installs" and row.gap_summary == "No ARM guide."
    assert row.are_ai_annotations_verified is True and row.is_documented is False
    page = threads.get("/dashboard/insights/threads?subject=ARM+installs").text
    assert "verified by a person" in page and "No ARM guide." in page
    # Clearing the gap keeps the view's rule: no summary unless the thread is a gap.
    assert _confirm(threads, "docs-thread-5", subject="billing").status_code == 303
    cleared = _stored(db, "docs-thread-5")
    assert cleared.gap_summary is None and cleared.is_documented is True
    assert cleared.are_ai_annotations_verified is True


def test_confirming_needs_the_csrf_token_a_subject_and_a_summary_for_a_gap(
    threads: TestClient, db: Database
) -> None:
    forged = threads.post(
        "/dashboard/insights/threads/docs-thread-1/labels",
        data={"csrf": "0" * 64, "subject": "hijacked"},
    )
    assert forged.status_code == 403
    assert _confirm(threads, "docs-thread-1", subject=" ").status_code == 422
    assert _confirm(threads, "docs-thread-1", subject="x", gap="1").status_code == 422
    row = _stored(db, "docs-thread-1")
    assert row.subject == "installation" and row.are_ai_annotations_verified is False


def test_another_projects_thread_cannot_be_labelled(threads: TestClient, db: Database) -> None:
    response = _confirm(threads, "other-thread-1", subject="mine now")
    assert response.status_code == 404
    assert _stored(db, "other-thread-1").subject == "omega secret"


def test_the_threads_csv_follows_the_filters(threads: TestClient) -> None:
    text = threads.get(f"/dashboard/export/threads.csv?{WEEK}&subject=billing").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["subject"] for r in rows} == {"billing"} and len(rows) == 4


def test_days_are_the_viewers_days(client: TestClient, api_key: str) -> None:
    # 2026-03-01 20:00 UTC is already 2026-03-02 in Tokyo.
    at = micros(datetime(2026, 3, 1, 20, tzinfo=UTC))
    assert sign_in(client, api_key, tz="Asia/Tokyo").status_code == 303
    signed_in = client
    insert_threads(signed_in, [thread(1, first_message_at=at, subject="tokyo")])
    march_2 = signed_in.get("/dashboard/insights?range=custom&from=2026-03-02&to=2026-03-02")
    assert "tokyo" in march_2.text
    march_1 = signed_in.get("/dashboard/insights?range=custom&from=2026-03-01&to=2026-03-01")
    assert "No threads in this period" in march_1.text


def test_insights_sit_beside_the_other_pages_data(signed_in: TestClient, api_key: str) -> None:
    seed(signed_in, api_key, "alpha")
    assert "Insights are not computed yet" in signed_in.get("/dashboard/insights").text


def test_every_gap_group_gets_its_examples_beyond_the_first_scan(
    threads: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The newest gap alone in the first read: every other group is asked for on its own.
    monkeypatch.setattr("threadline.dashboard.insights_data.EXAMPLES_SCAN", 1)
    gaps = threads.get(f"/dashboard/insights?{WEEK}").text.split('id="gaps"', 1)[1]
    billing = gaps.split("billing", 1)[1].split('class="gap-group"', 1)[0]
    assert all(q in billing for q in ("How do refunds work?", "Refund for annual?", "Partial"))
    assert "No guide for ARM installs." in gaps


def test_subjects_beyond_the_first_ten_fold_away(signed_in: TestClient) -> None:
    insert_threads(signed_in, [thread(n, subject=f"subject {n:02d}") for n in range(12)])
    page = signed_in.get("/dashboard/insights").text
    subjects = page.split('id="subjects"', 1)[1].split('id="gaps"', 1)[0]
    shown, folded = subjects.split('<details class="more-rows">', 1)
    assert "2 more subjects" in folded
    assert shown.count("<tr>") == 1 + 10 and folded.count("<tr>") == 1 + 2


def test_gap_examples_are_distinct_questions(signed_in: TestClient) -> None:
    same = "How do I query nested objects in GraphQL?"
    rows = [
        thread(n, subject="graphql", gap="No page on nesting.", question=same) for n in range(4)
    ]
    rows.append(
        thread(9, subject="graphql", gap="No page.", question="GraphQL limits?", age=WEEK_AGO)
    )
    insert_threads(signed_in, rows)
    gaps = signed_in.get("/dashboard/insights").text.split('id="gaps"', 1)[1]
    assert gaps.count(same) == 1 and "GraphQL limits?" in gaps and "5 gaps" in gaps


@pytest.mark.parametrize(
    ("zone", "minutes"),
    [("Europe/Berlin", 60), ("Asia/Kolkata", 30), ("Asia/Kathmandu", 15), ("UTC", 60)],
)
def test_time_buckets_never_straddle_a_local_midnight(zone: str, minutes: int) -> None:
    period = period_from(
        {"range": "custom", "from": "2026-03-01", "to": "2026-04-30"}, ZoneInfo(zone)
    )
    assert bucket_width(period) == minutes * 60_000_000


def test_a_quarter_past_midnight_zone_counts_the_right_day(
    client: TestClient, api_key: str
) -> None:
    # 18:15 UTC is 00:00 the next day in Kathmandu (+05:45); 18:14 is still the day before.
    assert sign_in(client, api_key, tz="Asia/Kathmandu").status_code == 303
    insert_threads(
        client,
        [
            thread(1, first_message_at=micros(datetime(2026, 3, 1, 18, 15, tzinfo=UTC))),
            thread(2, first_message_at=micros(datetime(2026, 3, 1, 18, 14, tzinfo=UTC))),
        ],
    )
    page = client.get("/dashboard/insights?range=custom&from=2026-03-01&to=2026-03-02").text
    assert "<title>Mar 1, neutral: 1</title>" in page
    assert "<title>Mar 2, neutral: 1</title>" in page
