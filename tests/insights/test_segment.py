"""Segmentation: a conversation's messages -> threads (shared/reference/semantic-threads.md)."""

from __future__ import annotations

import pytest

from threadline.insights.embed import Embedder
from threadline.insights.segment import Message, Segment, segment, user_messages


def _messages(*turns: tuple[str, str]) -> list[Message]:
    return [Message(f"m{i}", role, text, created_at=i) for i, (role, text) in enumerate(turns)]


def split(embedder: Embedder, *turns: tuple[str, str]) -> list[Segment]:
    messages = _messages(*turns)
    vectors = embedder.embed([m.content for m in user_messages(messages)])
    return segment("conv", messages, vectors)


def questions(segments: list[Segment]) -> list[str]:
    return [s.question for s in segments]


@pytest.mark.parametrize(
    "follow_up",
    [
        "that didn't work",
        "can you show an example?",
        "and on Windows?",
        "Das hat nicht funktioniert",
        "ça ne marche pas",
        "no funciona",
        "うまくいきません",
        "I tried rotating the API key again but the old key still works",
    ],
)
def test_a_follow_up_stays_in_its_thread(embedder: Embedder, follow_up: str) -> None:
    segments = split(
        embedder,
        ("user", "How do I rotate my API key?"),
        ("assistant", "Settings > API keys > Rotate."),
        ("user", follow_up),
        ("assistant", "Try again as an admin."),
    )
    assert len(segments) == 1
    assert segments[0].user_messages == ("How do I rotate my API key?", follow_up)
    assert segments[0].assistant_messages == (
        "Settings > API keys > Rotate.",
        "Try again as an admin.",
    )


def test_a_new_subject_starts_a_new_thread(embedder: Embedder) -> None:
    segments = split(
        embedder,
        ("system", "You are the Acme docs assistant."),
        ("user", "How do I rotate my API key?"),
        ("assistant", "Settings > API keys > Rotate."),
        ("user", "Where can I download my invoices as PDF files for our accountant?"),
        ("assistant", "Billing > Invoices."),
    )
    assert questions(segments) == [
        "How do I rotate my API key?",
        "Where can I download my invoices as PDF files for our accountant?",
    ]
    assert [s.is_initial for s in segments] == [True, False]
    assert [m.id for m in segments[0].messages] == ["m1", "m2"]  # the system prompt is left out


def test_ids_are_stable_and_distinct(embedder: Embedder) -> None:
    turns = (
        ("user", "How do I rotate my API key?"),
        ("assistant", "Settings."),
        ("user", "Does the Terraform provider support SAML single sign-on configuration?"),
    )
    first, again = split(embedder, *turns), split(embedder, *turns)
    assert [s.id for s in first] == [s.id for s in again]
    assert len({s.id for s in first}) == 2
    # A new message after them does not change the ids of the threads before it.
    longer = split(embedder, *turns, ("assistant", "Yes."), ("user", "thanks!"))
    assert [s.id for s in longer] == [s.id for s in first]


@pytest.mark.parametrize(
    "turns",
    [(), (("assistant", "Hi! How can I help?"),), (("system", "prompt"), ("assistant", ""))],
)
def test_histories_without_a_user_message_have_no_thread(
    embedder: Embedder, turns: tuple[tuple[str, str], ...]
) -> None:
    assert split(embedder, *turns) == []


def test_without_vectors_cues_alone_decide() -> None:
    messages = _messages(
        ("user", "How do I rotate my API key?"),
        ("user", "that didn't work"),
        ("user", "Where can I download my invoices as PDF files for our accountant?"),
    )
    assert len(segment("conv", messages, None)) == 2
