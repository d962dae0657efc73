"""A small factory of semantic-thread rows, as the insight pipeline writes them, inserted through
the app's own single writer (so a read after it waits for the columnar copy like after any write).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select
from starlette.testclient import TestClient

from threadline.services import Services
from threadline.store.tables import projects, semantic_threads

NOW = datetime.now(UTC)


def micros(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def thread(
    n: int,
    *,
    project_id: str = "docs",
    subject: str = "installation",
    age: timedelta = timedelta(hours=1),
    gap: str | None = None,
    negative: bool = False,
    question: str | None = None,
    answer: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Thread n of a project (named; insert_threads finds its id): an on-topic, answered how-to
    question unless told otherwise."""
    at = micros(NOW - age)
    text = question or f"How do I set up {subject} step {n}?"
    row: dict[str, Any] = {
        "project_id": project_id,
        "id": f"{project_id}-thread-{n}",
        "integration_id": None,
        "message_ids": [f"{project_id}-m{n}-q", f"{project_id}-m{n}-a"],
        "messages_count": 2,
        "question": text,
        "question_length": len(text),
        "answer": answer
        or f"Run `tl {subject}`, then see [the guide](https://docs.example.com/{n}).",
        "is_on_topic": True,
        "is_clear": True,
        "is_documented": gap is None,
        "is_feature_supported": None,
        "is_answer_confident": gap is None,
        "gap_summary": gap,
        "subject": subject,
        "category": "setup",
        "question_type": "how_to",
        "languages": ["en"],
        "first_party_entities": [],
        "third_party_entities": [],
        "emotion": "curious",
        "sentiment": "negative" if negative else "neutral",
        "properties": {},
        "user_properties": {},
        "first_message_at": at,
        "last_message_at": at + 5_000_000,
        "last_updated_at": at + 60_000_000,
        "has_positive_feedback": False,
        "has_negative_feedback": negative,
        "conversation_ids": [f"{project_id}-conv-{n}"],
        "are_ai_annotations_verified": False,
        "is_initial_question_answer": True,
    }
    row.update(overrides)
    return row


def services_of(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def write_threads(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose project_id holds a project's name (or an id of no project)."""
    named = connection.execute(select(projects.c.name, projects.c.id))
    ids = {name: id_ for name, id_ in named}
    for row in rows:
        row["project_id"] = ids.get(row["project_id"], row["project_id"])
    connection.execute(insert(semantic_threads), rows)


def insert_threads(client: TestClient, rows: list[dict[str, Any]]) -> None:
    """write_threads through the TestClient app's own writer."""

    def job(connection: Connection) -> None:
        write_threads(connection, rows)

    client.portal.call(services_of(client).writer.submit, job)  # type: ignore[union-attr]
