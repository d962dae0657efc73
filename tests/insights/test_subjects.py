"""Subjects: clusters of questions by meaning, named from their own words, kept stable."""

from __future__ import annotations

import itertools

from threadline.insights.embed import Embedder
from threadline.insights.subjects import SubjectIndex, recluster

TOPICS = {
    "keys": [
        "How do I rotate my API key?",
        "Where do I create a new API key?",
        "My API key was leaked, how do I revoke it?",
        "Can an API key be limited to read only?",
    ],
    "invoices": [
        "Where can I download my invoice as a PDF?",
        "The invoice has the wrong VAT number",
        "Can invoices be emailed to our accounting team?",
        "How do I get an invoice for last month?",
    ],
    "sso": [
        "How do I set up SSO with Okta?",
        "SAML single sign-on fails with an assertion error",
        "Can we enforce SSO login for all users?",
        "Azure AD SSO configuration steps",
    ],
}


def pairwise_f1(truth: list[str], predicted: list[int]) -> float:
    pairs = list(itertools.combinations(range(len(truth)), 2))
    same_true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    same_pred = {p for p in pairs if predicted[p[0]] == predicted[p[1]]}
    hits = len(same_true & same_pred)
    if not hits:
        return 0.0
    precision, recall = hits / len(same_pred), hits / len(same_true)
    return 2 * precision * recall / (precision + recall)


def test_questions_cluster_by_meaning_with_readable_names(embedder: Embedder) -> None:
    truth = [t for t, qs in TOPICS.items() for _ in qs]
    questions = [q for qs in TOPICS.values() for q in qs]
    subjects, ids = recluster(embedder.embed(questions), questions, [None] * len(questions), [])
    assert pairwise_f1(truth, ids) >= 0.8
    names = {s.name for s in subjects}
    assert any("key" in n for n in names) and any("invoice" in n for n in names), names
    assert all(1 <= len(s.name.split()) <= 4 and s.category for s in subjects)


def test_names_survive_a_reclustering_and_new_threads_join_the_nearest(
    embedder: Embedder,
) -> None:
    questions = [q for qs in TOPICS.values() for q in qs]
    vectors = embedder.embed(questions)
    first, ids = recluster(vectors, questions, [None] * len(questions), [])
    for subject in first:  # a person-readable name chosen earlier must stay
        subject.name = f"subject {subject.id}"
    more = ["How can I regenerate an API key?", "Invoice PDF download link is broken"]
    index = SubjectIndex(first)
    joined = [index.nearest(v) for v in embedder.embed(more)]
    assert joined[0] is not None and joined[0].id == ids[0]
    assert joined[1] is not None and joined[1].id == ids[4]
    second, ids_after = recluster(
        embedder.embed(questions + more),
        questions + more,
        [*ids, joined[0].id, joined[1].id],
        first,
    )
    assert ids_after[: len(ids)] == ids
    assert {s.name for s in second} == {s.name for s in first}
