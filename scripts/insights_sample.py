"""Sample semantic threads for the demo project, for the Insights screenshots before the insight
pipeline exists on a branch: one thread per stored conversation (its first question and answer),
labelled from the demo corpus (threadline/demo/corpus.py: the topic a question belongs to, whether
the docs cover it) and the feedback the answer got. Rows are inserted as the pipeline writes them.

    .venv/bin/python scripts/insights_sample.py --database-url sqlite:///demo.db [--project demo]

Not a labeller: the labels come from how the demo data was generated, not from reading text.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from sqlalchemy import delete, insert, select

from threadline.demo.corpus import TOPICS
from threadline.store.engine import open_database
from threadline.store.tables import conversations, feedback, messages, projects, semantic_threads

MAX_THREADS = 4_000
# A few questions as users outside the English-speaking world type them.
TRANSLATED = {
    "How do I create an API key?": ("de", "Wie erstelle ich einen API-Schlüssel?"),
    "How do I verify webhook signatures?": ("fr", "Comment vérifier la signature des webhooks ?"),
    "Why are my webhooks not arriving?": ("es", "¿Por qué no llegan mis webhooks?"),
    "Where do I find my API key?": ("pt", "Onde encontro minha chave de API?"),
}


def _question_type(question: str) -> str:
    text = question.lower()
    if (
        text.startswith(("why", "my ", "i get", "i'm getting"))
        or "error" in text
        or " not " in text
    ):
        return "troubleshooting"
    if text.startswith(("what is", "what's the difference", "what are", "is there")):
        return "conceptual"
    if text.startswith(("can you add", "will you", "do you plan")):
        return "feature_request"
    if any(word in text for word in ("invoice", "billing", "plan", "seat")):
        return "account"
    return "how_to" if text.startswith(("how", "where", "can i")) else "other"


def _labels(question: str, rating: str | None, rng: random.Random) -> dict[str, Any]:
    topic = next((t for t in TOPICS if question in t.questions), None)
    subject = topic.name if topic else "other"
    gap = None
    if topic is not None and not topic.documented:
        gap = f"No page explains {topic.name} well enough to answer this."
    elif rating == "negative" and rng.random() < 0.5:
        gap = f"The {subject} docs miss what this user needed; the answer was rated unhelpful."
    sentiment = {"negative": "negative", "positive": "positive"}.get(rating or "", "neutral")
    emotion = {"negative": "frustrated", "positive": "satisfied"}.get(
        rating or "", rng.choice(("curious", "curious", "neutral", "confused"))
    )
    return {
        "subject": subject,
        "category": topic.section if topic else "Other",
        "gap_summary": gap,
        "is_documented": gap is None,
        "is_answer_confident": gap is None,
        "sentiment": sentiment,
        "emotion": emotion,
        "question_type": _question_type(question),
    }


def _threads(connection: Any, project_id: str) -> list[dict[str, Any]]:
    newest = (
        select(conversations.c.id, conversations.c.integration_id)
        .where(conversations.c.project_id == project_id)
        .order_by(conversations.c.first_message_at.desc())
        .limit(MAX_THREADS)
    ).subquery()
    rows = connection.execute(
        select(messages, newest.c.integration_id)
        .join(newest, newest.c.id == messages.c.conversation_id)
        .where(messages.c.project_id == project_id, messages.c.position < 2)
        .order_by(messages.c.conversation_id, messages.c.position)
    ).mappings()
    by_conversation: dict[str, list[Any]] = {}
    for row in rows:
        by_conversation.setdefault(row["conversation_id"], []).append(row)
    ratings = dict(
        connection.execute(
            select(feedback.c.message_id, feedback.c.type).where(
                feedback.c.project_id == project_id
            )
        ).all()
    )
    rng = random.Random(13)
    out = []
    for conversation_id, pair in by_conversation.items():
        if len(pair) < 2 or pair[0]["role"] != "user" or not pair[0]["content"]:
            continue
        question, answer = pair
        language, text = "en", question["content"]
        if text in TRANSLATED and rng.random() < 0.5:
            language, text = TRANSLATED[text]
        rating = ratings.get(answer["id"])
        out.append(
            {
                "project_id": project_id,
                "id": f"thr_{conversation_id}",
                "integration_id": question["integration_id"],
                "message_ids": [question["id"], answer["id"]],
                "messages_count": 2,
                "question": text,
                "question_length": len(text),
                "answer": answer["content"] or "",
                "is_on_topic": True,
                "is_clear": True,
                "is_feature_supported": None,
                "languages": [language],
                "first_party_entities": ["Acme"],
                "third_party_entities": [],
                "properties": {},
                "user_properties": question["user_properties"] or {},
                "first_message_at": question["created_at"],
                "last_message_at": answer["created_at"],
                "last_updated_at": answer["created_at"],
                "has_positive_feedback": rating == "positive",
                "has_negative_feedback": rating == "negative",
                "conversation_ids": [conversation_id],
                "are_ai_annotations_verified": False,
                "is_initial_question_answer": True,
                **_labels(question["content"], rating, rng),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--project", default="demo")
    args = parser.parse_args(argv)
    database = open_database(args.database_url, read_pool_size=1)
    try:
        with database.writer.begin() as connection:
            project_id = connection.execute(
                select(projects.c.id).where(projects.c.name == args.project)
            ).scalar_one()
            rows = _threads(connection, project_id)
            connection.execute(
                delete(semantic_threads).where(semantic_threads.c.project_id == project_id)
            )
            if rows:
                connection.execute(insert(semantic_threads), rows)
    finally:
        database.dispose()
    print(f"{len(rows)} sample threads written for project {args.project!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
