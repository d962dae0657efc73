"""label_thread as a whole: every label in the contract's vocabulary, and bad input never
raises (empty strings, huge messages, code, emoji, mixed scripts, NULs, no user message)."""

from __future__ import annotations

import pytest

from tests.insights.conftest import make_thread
from threadline.insights.labels import label_thread
from threadline.insights.model import (
    EMOTIONS,
    QUESTION_TYPES,
    SENTIMENTS,
    Labels,
    ProjectVocabulary,
    ThreadText,
)

HUGE = ("The deploy fails with an error on Skyport and Docker. " * 1000)[:50_000]
BAD_INPUT = [
    ThreadText("", (), ()),
    ThreadText("", ("",), ("",)),
    make_thread(HUGE, HUGE, HUGE),
    make_thread("```python\nimport os\nprint(os.environ)\n```", "```\nok\n```"),
    make_thread("😀😀😀", "🙂"),
    make_thread("Deploy の error が出ます, bitte hilfe 🙏 ¿qué pasa?", "Пример ответа"),
    make_thread("How\x00 do I\x00 deploy?\x00", "Run\x00 it.", urls=("\x00",)),
    ThreadText("", (), ("An assistant message with nobody asking.",)),
    make_thread("'''\"\"\"«»„“「」`", "[](", "\\", "\u202e\u200b"),
    make_thread("a" * 60_000, "b" * 60_000),
]


def _valid(labels: Labels) -> None:
    assert labels.languages and list(labels.languages) == sorted(set(labels.languages))
    assert all(code.isascii() and code.islower() and len(code) == 2 for code in labels.languages)
    assert labels.sentiment in SENTIMENTS
    assert labels.emotion in EMOTIONS
    assert labels.question_type in QUESTION_TYPES
    assert (labels.gap_summary is not None) == (
        labels.is_on_topic and not (labels.is_documented and labels.is_answer_confident)
    )
    if labels.is_documented:
        assert labels.is_answer_confident and labels.is_on_topic


@pytest.mark.parametrize("thread", BAD_INPUT)
def test_bad_input_never_raises(thread: ThreadText, vocabulary: ProjectVocabulary) -> None:
    _valid(label_thread(thread, vocabulary))


def test_deterministic(vocabulary: ProjectVocabulary) -> None:
    thread = make_thread("Wie richte ich SSO mit Okta ein?", "Ich bin mir nicht sicher.")
    assert label_thread(thread, vocabulary) == label_thread(thread, vocabulary)


def test_a_whole_thread(vocabulary: ProjectVocabulary) -> None:
    thread = make_thread(
        "My Skyport Postgres connection fails with 'too many connections' on Vercel",
        "I'm not sure why; I couldn't find it in the docs.",
        "still broken, this is so annoying 😤",
    )
    labels = label_thread(thread, vocabulary)
    _valid(labels)
    assert labels == Labels(
        languages=("en",),
        sentiment="negative",
        emotion="frustrated",
        question_type="troubleshooting",
        is_on_topic=True,
        is_clear=True,
        is_answer_confident=False,
        is_documented=False,
        is_feature_supported=None,
        gap_summary="No documentation on “My Skyport Postgres connection fails with"
        " 'too many connections' on Vercel”.",
        first_party_entities=("Skyport Postgres",),
        third_party_entities=("Vercel",),
    )


def test_assistant_only_thread(vocabulary: ProjectVocabulary) -> None:
    labels = label_thread(
        ThreadText("", (), ("Bonjour ! Comment puis-je vous aider ?",)), vocabulary
    )
    assert labels.languages == ("fr",)
    assert (labels.is_clear, labels.is_on_topic, labels.gap_summary) == (False, False, None)
