"""Subjects: clusters of questions by meaning, in any language, named from their own words,
kept stable."""

from __future__ import annotations

import itertools

import pytest

from threadline.insights.embed import Vectors
from threadline.insights.subject_embed import SubjectEmbedder, shared
from threadline.insights.subjects import SubjectIndex, recluster


@pytest.fixture(scope="module")
def embedder() -> SubjectEmbedder:
    return shared()


# What the assistant answered: threads are clustered by question and answer together.
ANSWERS = {
    "API key": "API keys are managed in Settings → API keys: create, rotate or revoke them there.",
    "invoice": "Invoices are listed under Billing → Invoices, where each can be downloaded.",
    "SSO": "SSO is configured in Settings → Security → Single sign-on (SAML or OIDC).",
}


def embed(embedder: SubjectEmbedder, questions: list[str]) -> Vectors:
    answers = [
        next((a for word, a in ANSWERS.items() if word.lower() in q.lower()), "") for q in questions
    ]
    return embedder.embed(questions, answers)


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


def test_questions_cluster_by_meaning_with_readable_names(embedder: SubjectEmbedder) -> None:
    truth = [t for t, qs in TOPICS.items() for _ in qs]
    questions = [q for qs in TOPICS.values() for q in qs]
    subjects, ids = recluster(embed(embedder, questions), questions, [None] * len(questions), [])
    assert pairwise_f1(truth, ids) >= 0.8
    names = {s.name for s in subjects}
    assert any("key" in n for n in names) and any("invoice" in n for n in names), names
    assert all(1 <= len(s.name.split()) <= 4 and s.category for s in subjects)


def test_names_survive_a_reclustering_and_new_threads_join_the_nearest(
    embedder: SubjectEmbedder,
) -> None:
    questions = [q for qs in TOPICS.values() for q in qs]
    vectors = embed(embedder, questions)
    first, ids = recluster(vectors, questions, [None] * len(questions), [])
    for subject in first:  # a person-readable name chosen earlier must stay
        subject.name = f"subject {subject.id}"
    more = ["How can I regenerate an API key?", "Invoice PDF download link is broken"]
    index = SubjectIndex(first)
    joined = [index.nearest(v) for v in embed(embedder, more)]
    assert joined[0] is not None and joined[0].id == ids[0]
    assert joined[1] is not None and joined[1].id == ids[4]
    second, ids_after = recluster(
        embed(embedder, questions + more),
        questions + more,
        [*ids, joined[0].id, joined[1].id],
        first,
    )
    assert ids_after[: len(ids)] == ids
    assert {s.name for s in second} == {s.name for s in first}


def test_one_subject_asked_in_several_languages_is_one_cluster(embedder: SubjectEmbedder) -> None:
    """The reason for the multilingual model: with MiniLM, each language was a cluster."""
    asked = {
        "keys": [
            "How do I rotate my API key?",
            "Wie rotiere ich meinen API-Schlüssel?",
            "Comment faire tourner ma clé API ?",
            "APIキーをローテーションするには？",
        ],
        "invoices": [
            "Where can I download my invoice?",
            "Wo kann ich meine Rechnung herunterladen?",
            "Où puis-je télécharger ma facture ?",
            "¿Dónde descargo mi factura?",
        ],
        "domains": [
            "How do I add a custom domain?",
            "Wie füge ich eine eigene Domain hinzu?",
            "Como adiciono um domínio personalizado?",
            "如何添加自定义域名？",
        ],
    }
    truth = [t for t, qs in asked.items() for _ in qs]
    questions = [q for qs in asked.values() for q in qs]
    answers = [
        "Open Settings → API keys and click Rotate.",
        "Unter Einstellungen → API-Schlüssel auf Rotieren klicken.",
        "Dans Paramètres → Clés API, cliquez sur Rotation.",
        "設定 → APIキーで「ローテーション」をクリックします。",
        "Invoices are under Billing → Invoices.",
        "Rechnungen finden Sie unter Abrechnung → Rechnungen.",
        "Les factures sont dans Facturation → Factures.",
        "Las facturas están en Facturación → Facturas.",
        "Go to Settings → Domains and click Add.",
        "Unter Einstellungen → Domains auf Hinzufügen klicken.",
        "Em Configurações → Domínios, clique em Adicionar.",
        "在 设置 → 域名 中点击 添加。",
    ]
    _, ids = recluster(embedder.embed(questions, answers), questions, [None] * 12, [])
    assert pairwise_f1(truth, ids) >= 0.8, ids


def test_bad_input_gets_a_vector(embedder: SubjectEmbedder) -> None:
    texts = ["", "👍🔥", "x" * 50_000, "```\nSELECT 1;\n```", "Deploy 失败 mit Fehler"]
    vectors = embedder.embed(texts, ["", "ok", "y" * 50_000, "", "Fehler 修复"])
    assert vectors.shape == (5, 512)
    assert abs(float((vectors**2).sum(axis=1).min()) - 1.0) < 1e-3


def test_a_project_asking_one_question_over_and_over_clusters(embedder: SubjectEmbedder) -> None:
    # Centred on their mean, identical questions are all zero vectors, which cosine cannot
    # compare: the worker crashed on this ("Cosine affinity cannot be used when X contains zero
    # vectors") in the outage test, whose conversations all ask the same thing.
    questions = ["How do I rotate an API key?"] * 2  # two: their mean is exactly each of them
    subjects, ids = recluster(embed(embedder, questions), questions, [None] * 2, [])
    assert len(subjects) == 1 and len(set(ids)) == 1
