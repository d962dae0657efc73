"""The values passed between the insight pipeline's stages: a thread's text in, its labels out.

The label vocabulary is a contract (shared/reference/semantic-threads.md): clients filter and
group on these exact strings, so they are spelled once, here.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Sentiment = Literal["positive", "neutral", "negative"]
Emotion = Literal["neutral", "curious", "confused", "frustrated", "satisfied"]
QuestionType = Literal[
    "how_to", "troubleshooting", "conceptual", "feature_request", "account", "other"
]

SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative")
EMOTIONS: tuple[Emotion, ...] = ("neutral", "curious", "confused", "frustrated", "satisfied")
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "how_to",
    "troubleshooting",
    "conceptual",
    "feature_request",
    "account",
    "other",
)


@dataclasses.dataclass(frozen=True)
class ThreadText:
    """One question and the answers that follow it, as the labellers see them."""

    # The first user message of the thread, whole.
    question: str
    # Every user message of the thread in order (question first: follow-ups, "that didn't work").
    user_messages: tuple[str, ...]
    # Every assistant message of the thread in order; joined, they are the thread's `answer`.
    assistant_messages: tuple[str, ...]
    # URLs the assistant cited (messages[].links[].url) in this thread.
    cited_urls: tuple[str, ...] = ()
    # Feedback on the thread's messages, as known when labelled.
    has_positive_feedback: bool = False
    has_negative_feedback: bool = False

    @property
    def answer(self) -> str:
        return "\n\n".join(self.assistant_messages)


@dataclasses.dataclass(frozen=True)
class ProjectVocabulary:
    """What the labellers know about the operator's own product."""

    # Configured product, feature and component names (`projects set --product-names`).
    product_names: tuple[str, ...] = ()
    # Terms learned from the project's own answers (frequent capitalised terms).
    learned_terms: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Labels:
    """Every per-thread label of the semantic-threads view except subject and category, which
    are given by clustering a project's threads together (insights.subjects)."""

    languages: tuple[str, ...]  # ISO 639-1, lowercase, sorted
    sentiment: Sentiment
    emotion: Emotion
    question_type: QuestionType
    is_on_topic: bool
    is_clear: bool
    is_answer_confident: bool
    is_documented: bool
    is_feature_supported: bool | None
    # Non-null exactly when the thread is an on-topic gap (not documented or not confident).
    gap_summary: str | None
    first_party_entities: tuple[str, ...]
    third_party_entities: tuple[str, ...]
