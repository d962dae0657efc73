"""Fixtures of the insight tests: the evaluation set's vocabulary and a thread builder for the
labeller tests; a deterministic labeller for the pipeline's tests (the real one is
threadline.insights.labels) and helpers to write conversations through the API."""

from __future__ import annotations

import time
from typing import Any

import pytest

from threadline.insights.embed import Embedder, shared
from threadline.insights.model import Labels, ProjectVocabulary, ThreadText

VOCABULARY = ProjectVocabulary(
    product_names=("Skyport", "Skyport CLI", "Skyport Edge", "Skyport Postgres", "Build Cache"),
    learned_terms=("skyport.toml",),
)


def make_thread(
    question: str,
    answer: str = "",
    *follow_ups: str,
    urls: tuple[str, ...] = (),
    negative: bool = False,
) -> ThreadText:
    return ThreadText(
        question=question,
        user_messages=(question, *follow_ups),
        assistant_messages=(answer,) if answer else (),
        cited_urls=urls,
        has_negative_feedback=negative,
    )


@pytest.fixture
def vocabulary() -> ProjectVocabulary:
    return VOCABULARY


class CountingLabeller:
    """Labels from plain rules, and counts its calls (re-posting must not relabel)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, thread: ThreadText, vocabulary: ProjectVocabulary) -> Labels:
        self.calls.append(thread.question)
        if "EXPLODE" in thread.question:
            raise RuntimeError("labeller failed on purpose")
        gap = "not sure" in thread.answer.lower()
        return Labels(
            languages=("en",),
            sentiment="negative" if thread.has_negative_feedback else "neutral",
            emotion="neutral",
            question_type="how_to",
            is_on_topic=True,
            is_clear=True,
            is_answer_confident=not gap,
            is_documented=not gap,
            is_feature_supported=None,
            gap_summary="The docs do not cover this." if gap else None,
            first_party_entities=tuple(n for n in vocabulary.product_names if n in thread.answer),
            third_party_entities=(),
        )


@pytest.fixture
def labeller() -> CountingLabeller:
    return CountingLabeller()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return shared()


def conversation(
    conversation_id: str, *turns: tuple[str, str], feedback: Any = None
) -> dict[str, Any]:
    """A conversation body with user/assistant turns; message ids m0, m1, ... per conversation."""
    messages = [
        {"id": f"{conversation_id}-m{i}", "role": role, "content": content}
        for i, (role, content) in enumerate(turns)
    ]
    return {"id": conversation_id, "type": "openai", "messages": messages}


def caught_up(client: Any) -> None:
    """Waits for the app's columnar copy (if any) to copy what the worker wrote beside it."""
    copy = client.app.state.services.columnar
    assert copy is None or copy.wait_until(time.monotonic(), timeout=30.0)
