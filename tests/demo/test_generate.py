"""threadline.demo.generate: one seed, one dataset; proportions a dashboard can believe."""

from __future__ import annotations

import collections
import itertools

import pytest

from threadline.demo.corpus import INTEGRATIONS, NEGATIVE_REASONS, TOPICS
from threadline.demo.generate import (
    EVENT_TYPES,
    SEARCH_CLICKED,
    SEARCH_SUBMITTED,
    Dataset,
    Event,
    generate,
)
from threadline.demo.scripts import KIND_SHARES, SCRIPTS
from threadline.demo.shape import Shape
from threadline.timestamps import DAY_US

END_US = 1_795_392_000_000_000  # 2026-11-23T00:00:00Z
EVENTS = 20_000


def _shape(seed: int = 1, events: int = EVENTS) -> Shape:
    return Shape.for_events(events, end_us=END_US, days=60, seed=seed)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(_shape())


@pytest.fixture(scope="module")
def events(dataset: Dataset) -> list[Event]:
    return list(itertools.chain.from_iterable(dataset.events()))


def test_the_same_seed_generates_the_same_data(dataset: Dataset, events: list[Event]) -> None:
    again = generate(_shape())
    assert again.conversations == dataset.conversations
    assert again.feedback == dataset.feedback
    assert list(itertools.chain.from_iterable(again.events())) == events
    # Iterating the events twice gives the same rows too (each day has its own seed).
    assert list(itertools.chain.from_iterable(dataset.events())) == events


def test_another_seed_generates_other_data(dataset: Dataset) -> None:
    other = generate(_shape(seed=2))
    assert [c.id for c in other.conversations] != [c.id for c in dataset.conversations]


def test_every_event_is_in_the_period_and_each_day_in_time_order(
    dataset: Dataset, events: list[Event]
) -> None:
    assert len(events) == EVENTS
    shape = dataset.shape
    assert all(shape.start_us <= event[0] < shape.end_us for event in events)
    for day in dataset.events():
        assert day == sorted(day)
    # The data ends just before `end_us`: the dashboard's last days are populated.
    assert max(event[0] for event in events) > shape.end_us - DAY_US


def test_event_proportions(events: list[Event]) -> None:
    kinds = collections.Counter(EVENT_TYPES[event[1]][1] for event in events)
    assert 0.25 < kinds["search"] / len(events) < 0.35
    assert 0.5 < kinds["conversation"] / len(events) < 0.65
    assert 0.1 < kinds["message"] / len(events) < 0.2


def test_some_searches_are_clicked_and_some_queries_never_are(
    dataset: Dataset, events: list[Event]
) -> None:
    submitted = collections.Counter(e[3] for e in events if e[1] == SEARCH_SUBMITTED)
    clicked = collections.Counter(e[3] for e in events if e[1] == SEARCH_CLICKED)
    assert 0.3 < sum(clicked.values()) / sum(submitted.values()) < 0.7
    assert set(clicked) <= set(submitted)
    # Gaps in the docs: queries searched often and (almost) never clicked.
    gaps = [q for q, n in submitted.items() if n >= 20 and clicked[q] <= 0.15 * n]
    assert gaps
    assert all(not TOPICS[dataset.queries[q].topic].documented for q in gaps)


def test_conversations_spread_over_integrations_and_types(dataset: Dataset) -> None:
    per_integration = collections.Counter(c.integration for c in dataset.conversations)
    total = len(dataset.conversations)
    for index, integration in enumerate(INTEGRATIONS):
        share = per_integration[index] / total
        assert abs(share - integration.weight / 100) < 0.05, integration.name
    types = {INTEGRATIONS[c.integration].conversation_type for c in dataset.conversations}
    assert types == {"openai", "support_copilot", "support_ticket"}
    turns = collections.Counter(c.turns for c in dataset.conversations)
    assert 0.35 < turns[1] / total < 0.55


def test_feedback_is_mostly_positive_and_every_thumbs_down_has_a_reason(dataset: Dataset) -> None:
    feedback = dataset.feedback
    assert len(feedback) == dataset.shape.feedback
    positive = sum(f.positive for f in feedback) / len(feedback)
    assert 0.55 < positive < 0.85
    labels = {label for label, _ in NEGATIVE_REASONS}
    assert all(f.reason is None for f in feedback if f.positive)
    assert all(f.reason and f.reason[0] in labels for f in feedback if not f.positive)
    rated = {(f.conversation, f.turn) for f in feedback}
    assert len(rated) == len(feedback)  # one rating per answer


def test_a_share_of_conversations_is_in_other_languages(dataset: Dataset) -> None:
    total = len(dataset.conversations)
    languages = collections.Counter(
        SCRIPTS[c.script].language if c.script >= 0 else "en" for c in dataset.conversations
    )
    assert {"de", "fr", "es", "pt", "ja"} <= set(languages)
    assert 0.15 <= 1 - languages["en"] / total <= 0.25


def test_gaps_unsupported_off_topic_unclear_and_subject_changes_are_present(
    dataset: Dataset,
) -> None:
    kinds = collections.Counter(
        SCRIPTS[c.script].kind for c in dataset.conversations if c.script >= 0
    )
    assert set(kinds) == set(KIND_SHARES)
    weak = sum(c.is_weak(turn) for c in dataset.conversations for turn in range(c.turns))
    answers = sum(c.turns for c in dataset.conversations)
    assert 0.1 < weak / answers < 0.35
    # A scripted conversation has exactly its script's turns.
    assert all(
        c.turns == len(SCRIPTS[c.script].turns) for c in dataset.conversations if c.script >= 0
    )


def test_thumbs_down_concentrate_on_gap_answers(dataset: Dataset) -> None:
    conversations = dataset.conversations
    on_weak = [f for f in dataset.feedback if conversations[f.conversation].is_weak(f.turn)]
    on_strong = [f for f in dataset.feedback if not conversations[f.conversation].is_weak(f.turn)]
    assert on_weak and on_strong
    negative_weak = sum(not f.positive for f in on_weak) / len(on_weak)
    negative_strong = sum(not f.positive for f in on_strong) / len(on_strong)
    assert negative_weak > 0.6 > 0.3 > negative_strong
