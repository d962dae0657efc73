"""The insight worker on real databases: threads appear for logged conversations, unchanged
histories are not relabelled, feedback and verification are respected, failures are retried."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from tests.insights.conftest import CountingLabeller, caught_up, conversation
from threadline.insights.embed import Embedder
from threadline.insights.worker import Worker
from threadline.store import insight_queue
from threadline.store.engine import Database, open_database
from threadline.store.tables import insights_queue, semantic_threads, thread_vectors
from threadline.timestamps import now_us

LATER = insight_queue.DEBOUNCE_US + 1_000_000


@pytest.fixture
def worker(db: Database, labeller: CountingLabeller, embedder: Embedder) -> Iterator[Worker]:
    yield Worker(db, labeller=labeller, embedder=embedder)


def run(worker: Worker) -> None:
    worker.step(now_us() + LATER)


def threads(db: Database) -> list[Any]:
    t = semantic_threads.c
    with db.reader.connect() as connection:
        return list(connection.execute(select(semantic_threads).order_by(t.first_message_at, t.id)))


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> None:
    response = client.post("/conversations", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


TWO_SUBJECTS = conversation(
    "c1",
    ("user", "How do I rotate my API key?"),
    ("assistant", "Open Settings > API keys and click Rotate."),
    ("user", "that didn't work"),
    ("assistant", "Make sure you are an admin."),
    ("user", "Separately: can I export my invoices as PDF files for accounting?"),
    ("assistant", "I'm not sure; the docs do not say."),
)


def test_a_logged_conversation_gets_its_threads(
    client: TestClient, api_headers: dict[str, str], db: Database, worker: Worker
) -> None:
    post(client, api_headers, TWO_SUBJECTS)
    run(worker)
    rows = threads(db)
    assert [r.question for r in rows] == [
        "How do I rotate my API key?",
        "Separately: can I export my invoices as PDF files for accounting?",
    ]
    assert [r.is_initial_question_answer for r in rows] == [True, False]
    assert rows[0].message_ids == ["c1-m0", "c1-m1", "c1-m2", "c1-m3"]
    assert (
        rows[0].answer
        == "Open Settings > API keys and click Rotate.\n\nMake sure you are an admin."
    )
    assert rows[1].gap_summary and rows[1].is_answer_confident is False
    assert all(r.conversation_ids == ["c1"] and r.subject for r in rows)
    caught_up(client)
    response = client.post(
        "/query/semantic-threads",
        json={"select": [{"type": "field", "field": "id"}, {"type": "field", "field": "question"}]},
        headers=api_headers,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["result"]) == 2, response.text


def test_reposting_an_unchanged_history_does_not_relabel(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    worker: Worker,
    labeller: CountingLabeller,
) -> None:
    post(client, api_headers, TWO_SUBJECTS)
    run(worker)
    first = [(r.id, r.last_updated_at) for r in threads(db)]
    assert len(labeller.calls) == 2
    post(client, api_headers, TWO_SUBJECTS)
    run(worker)
    assert len(labeller.calls) == 2
    assert [(r.id, r.last_updated_at) for r in threads(db)] == first
    # A new turn relabels the thread it joins, and only that one.
    longer = dict(TWO_SUBJECTS)
    longer["messages"] = [
        *TWO_SUBJECTS["messages"],
        {"id": "c1-m6", "role": "user", "content": "can you show an example?"},
    ]
    post(client, api_headers, longer)
    run(worker)
    assert labeller.calls[2:] == [
        "Separately: can I export my invoices as PDF files for accounting?"
    ]
    assert [r.id for r in threads(db)] == [i for i, _ in first]


def test_feedback_arriving_later_updates_the_flags(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    worker: Worker,
    labeller: CountingLabeller,
) -> None:
    post(client, api_headers, TWO_SUBJECTS)
    run(worker)
    response = client.post(
        "/feedback", json={"messageId": "c1-m5", "type": "negative"}, headers=api_headers
    )
    assert response.status_code in (200, 201), response.text
    run(worker)
    rows = threads(db)
    assert [(r.has_positive_feedback, r.has_negative_feedback) for r in rows] == [
        (False, False),
        (False, True),
    ]
    assert len(labeller.calls) == 2


def test_verified_threads_are_never_overwritten(
    client: TestClient, api_headers: dict[str, str], db: Database, worker: Worker
) -> None:
    post(client, api_headers, TWO_SUBJECTS)
    run(worker)
    with db.writer.begin() as connection:
        connection.execute(
            update(semantic_threads).values(
                are_ai_annotations_verified=True, subject="api keys (checked)"
            )
        )
    changed = dict(TWO_SUBJECTS)
    changed["messages"] = [dict(m) for m in TWO_SUBJECTS["messages"]]
    changed["messages"][1]["content"] = "A different answer now."
    changed["messages"][5]["content"] = "Another different answer."
    post(client, api_headers, changed)
    run(worker)
    worker.recluster(threads(db)[0].project_id)
    rows = threads(db)
    assert [r.subject for r in rows] == ["api keys (checked)"] * 2
    assert rows[0].answer.startswith("Open Settings")


def test_a_failing_conversation_is_kept_and_the_others_are_labelled(
    client: TestClient, api_headers: dict[str, str], db: Database, worker: Worker
) -> None:
    post(client, api_headers, conversation("bad", ("user", "EXPLODE please"), ("assistant", "?")))
    post(client, api_headers, conversation("good", ("user", "How do I add a webhook?")))
    progress = worker.step(now_us() + LATER)
    assert (progress.claimed, progress.failed) == (2, 1)
    assert [r.question for r in threads(db)] == ["How do I add a webhook?"]
    with db.reader.connect() as connection:
        queued = connection.execute(select(insights_queue)).one()
    assert queued.conversation_id == "bad" and queued.attempts == 1
    assert "labeller failed on purpose" in queued.last_error
    # Not due again at once; retried after its back-off.
    assert worker.step(now_us() + LATER).claimed == 0
    assert worker.step(now_us() + LATER + 60_000_000).claimed == 1


@pytest.mark.parametrize(
    "turns",
    [
        [("system", "You are a helpful assistant.")],
        [("assistant", "Hello! How can I help?")],
        [("user", "x" * 50_000), ("assistant", "y" * 50_000)],
        [("user", "```python\nprint('hi')\n```\nwhy does this fail? 😡🔥"), ("assistant", "ok")],
        [("user", "Как настроить SSO? 如何配置 SSO? SSOの設定方法は?"), ("assistant", "…")],
        [("user", ""), ("user", "\u200b\u0007"), ("assistant", "")],
    ],
)
def test_bad_input_never_stops_the_pipeline(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    worker: Worker,
    turns: list[tuple[str, str]],
) -> None:
    post(client, api_headers, conversation("odd", *turns))
    post(client, api_headers, conversation("fine", ("user", "How do I add a webhook?")))
    progress = worker.step(now_us() + LATER)
    assert progress.failed == 0
    questions = [r.question for r in threads(db)]
    assert "How do I add a webhook?" in questions
    expected = 1 + (1 if any(role == "user" for role, _ in turns) else 0)
    assert len(questions) == expected


def test_two_workers_on_one_database_never_label_the_same_conversation(
    client: TestClient,
    api_headers: dict[str, str],
    db: Database,
    embedder: Embedder,
    database_url: str,
) -> None:
    for n in range(6):
        post(client, api_headers, conversation(f"c{n}", ("user", f"Question number {n}?")))
    first, second = CountingLabeller(), CountingLabeller()
    other = open_database(database_url, read_pool_size=2)
    try:
        a = Worker(db, labeller=first, embedder=embedder, batch=3)
        b = Worker(other, labeller=second, embedder=embedder, batch=3)
        now = now_us() + LATER
        insight_queue.enqueue_changes(db.writer, now)
        claimed_a = insight_queue.claim(db.writer, a.owner, now, 3)
        claimed_b = insight_queue.claim(other.writer, b.owner, now, 10)
        assert len(claimed_a) == 3 and len(claimed_b) == 3
        assert not {c.conversation_id for c in claimed_a} & {c.conversation_id for c in claimed_b}
        # Nothing is left to lease while both hold theirs.
        assert insight_queue.claim(db.writer, "third", now, 10) == []
        for worker, claimed in ((a, claimed_a), (b, claimed_b)):
            with worker.database.writer.begin() as connection:
                for item in claimed:
                    insight_queue.finish(connection, worker.owner, item)
        with db.reader.connect() as connection:
            assert (
                connection.execute(select(func.count()).select_from(insights_queue)).scalar() == 0
            )
    finally:
        other.dispose()


class UnstorableLabeller(CountingLabeller):
    """Labels the database write cannot encode, for questions that ask for it."""

    def __call__(self, thread: Any, vocabulary: Any) -> Any:
        labels = super().__call__(thread, vocabulary)
        if "UNSTORABLE" in thread.question:
            return dataclasses.replace(labels, third_party_entities=(object(),))
        return labels


def test_a_thread_the_database_refuses_fails_only_its_conversation(
    client: TestClient, api_headers: dict[str, str], db: Database, embedder: Embedder
) -> None:
    post(client, api_headers, conversation("bad", ("user", "UNSTORABLE question")))
    post(client, api_headers, conversation("good", ("user", "How do I add a webhook?")))
    worker = Worker(db, labeller=UnstorableLabeller(), embedder=embedder)
    progress = worker.step(now_us() + LATER)
    assert (progress.claimed, progress.failed) == (2, 1)
    assert [r.question for r in threads(db)] == ["How do I add a webhook?"]
    with db.reader.connect() as connection:
        queued = connection.execute(select(insights_queue)).one()
    assert queued.conversation_id == "bad" and queued.attempts == 1


def test_a_conversation_erased_while_it_is_labelled_gets_no_threads(
    client: TestClient, api_headers: dict[str, str], db: Database, embedder: Embedder
) -> None:
    """The worker reads a conversation, the user is erased (issue 16), then the worker would
    write the threads it labelled: it finds the conversation gone and writes nothing."""
    from threadline.insights.labels import Labels
    from threadline.privacy.erase import erase_user

    body = {**TWO_SUBJECTS, "userProperties": {"userId": "erin"}}
    post(client, api_headers, body)
    project_id = client.get("/conversations/c1", headers=api_headers).json()["projectId"]
    counting = CountingLabeller()
    erased: list[Any] = []

    def erasing(thread: Any, vocabulary: Any) -> Labels:
        if not erased:  # mid-labelling: after the read, before the write
            with db.writer.begin() as connection:
                erased.append(erase_user(connection, project_id=project_id, user_id="erin"))
        return counting(thread, vocabulary)

    run(Worker(db, labeller=erasing, embedder=embedder))
    assert erased and erased[0].conversations == 1 and counting.calls
    assert threads(db) == []


def test_a_support_ticket_gets_threads_customer_asking_agent_answering(
    client: TestClient, api_headers: dict[str, str], db: Database, worker: Worker
) -> None:
    ticket = {
        "id": "t1",
        "type": "support_ticket",
        "messages": [
            {
                "id": "t1-m0",
                "createdAt": "2026-12-01T10:00:00Z",
                "role": "customer",
                "content": "Our invoices show the wrong VAT id.",
            },
            {
                "id": "t1-m1",
                "createdAt": "2026-12-01T10:01:00Z",
                "role": "agent",
                "content": "Fixed: edit it under Billing > Details.",
            },
            {
                "id": "t1-m2",
                "createdAt": "2026-12-01T10:02:00Z",
                "role": "Customer",
                "content": "How do I rotate an API key, too?",
            },
            {
                "id": "t1-m3",
                "createdAt": "2026-12-01T10:03:00Z",
                "role": "internal_note",
                "content": "Escalated to billing.",
            },
            {
                "id": "t1-m4",
                "createdAt": "2026-12-01T10:04:00Z",
                "role": "agent",
                "content": "Settings > API keys > Rotate.",
            },
        ],
    }
    post(client, api_headers, ticket)
    run(worker)
    rows = threads(db)
    assert [r.question for r in rows] == [
        "Our invoices show the wrong VAT id.",
        "How do I rotate an API key, too?",
    ]
    assert rows[0].answer == "Fixed: edit it under Billing > Details."
    # A role that neither asks nor answers (a note) is in no thread.
    assert rows[1].message_ids == ["t1-m2", "t1-m4"]
    assert all(r.subject for r in rows)


def test_threads_stored_without_a_subject_vector_get_one_at_the_next_clustering(
    client: TestClient, api_headers: dict[str, str], db: Database, worker: Worker
) -> None:
    """Threads labelled before migration 0014 (or while the model failed) have none."""
    post(client, api_headers, TWO_SUBJECTS)
    run(worker)
    with db.writer.begin() as connection:
        connection.execute(update(thread_vectors).values(subject_vector=None, subject_id=None))
    project_id = threads(db)[0].project_id
    worker.recluster(project_id)
    with db.reader.connect() as connection:
        stored = connection.execute(
            select(thread_vectors.c.subject_vector, thread_vectors.c.subject_id)
        ).all()
    assert len(stored) == 2
    assert all(len(vector) == 512 and subject_id for vector, subject_id in stored)
