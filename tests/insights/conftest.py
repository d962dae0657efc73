"""The evaluation set's vocabulary and a thread builder for the labeller tests."""

from __future__ import annotations

import pytest

from threadline.insights.model import ProjectVocabulary, ThreadText

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
