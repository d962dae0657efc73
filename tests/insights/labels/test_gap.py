"""gapSummary: one sentence naming what is missing, non-null exactly for on-topic gaps."""

from __future__ import annotations

import pytest

from tests.insights.conftest import make_thread
from threadline.insights.labels import label_thread
from threadline.insights.labels.gap import MAX_PHRASE_CHARS, gap_summary
from threadline.insights.model import ProjectVocabulary


@pytest.mark.parametrize(
    ("question", "summary"),
    [
        (
            "How do I configure SAML with Okta?",
            "No documentation on how to configure SAML with Okta.",
        ),
        (
            "Can I rotate my key without downtime?",
            "No documentation on whether you can rotate your key without downtime.",
        ),
        (
            "Does Skyport support SCIM with Azure AD?",
            "No documentation on support for SCIM with Azure AD.",
        ),
        ("What is the maximum execution time?", "No documentation on maximum execution time."),
        (
            "Terraform apply keeps showing a diff",
            "No documentation on “Terraform apply keeps showing a diff”.",
        ),
        (
            "Wie lange ist ein API-Schlüssel gültig?",
            "No documentation on “Wie lange ist ein API-Schlüssel gültig”.",
        ),
        ("APIキーの有効期限はありますか？", "No documentation on “APIキーの有効期限はありますか”."),
        ("```\nfoo\n```", "No documentation answers this question."),
    ],
)
def test_summary(question: str, summary: str) -> None:
    english = not any(char in question for char in "äöüキ")
    assert gap_summary(question, english=english) == summary


def test_summary_is_short() -> None:
    summary = gap_summary("How do I " + "configure things " * 100, english=True)
    assert len(summary) < MAX_PHRASE_CHARS + 40
    assert summary.count(".") == 1


def test_gap_exactly_when_on_topic_and_undocumented_or_unsure(
    vocabulary: ProjectVocabulary,
) -> None:
    url = ("https://docs.skyport.dev/x",)
    cases = [
        (make_thread("How do I add a domain?", "Open Settings → Domains.", urls=url), False),
        (make_thread("How do I add a domain?", "Open Settings → Domains."), True),
        (make_thread("How do I add a domain?", "I'm not sure.", urls=url), True),
        (make_thread("Write me a poem", "I can only help with Skyport."), False),
    ]
    for thread, gap in cases:
        labels = label_thread(thread, vocabulary)
        assert (labels.gap_summary is not None) is gap
        assert (labels.gap_summary is not None) == (
            labels.is_on_topic and not (labels.is_documented and labels.is_answer_confident)
        )
