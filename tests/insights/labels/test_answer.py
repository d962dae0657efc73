"""isAnswerConfident, isDocumented and isFeatureSupported, with hedges in every language the
evaluation set covers."""

from __future__ import annotations

import pytest

from tests.insights.conftest import make_thread
from threadline.insights.labels import label_thread
from threadline.insights.model import ProjectVocabulary

URL = ("https://docs.skyport.dev/guides/custom-domains",)


@pytest.mark.parametrize(
    "answer",
    [
        "I'm not sure whether that is possible; I couldn't find it in the documentation.",
        "The documentation doesn't cover this.",
        "Da bin ich mir nicht sicher. In der Dokumentation habe ich nichts gefunden.",
        "Je ne suis pas sûr. Je n'ai pas trouvé d'information.",
        "La documentation ne couvre pas ce point.",
        "No estoy seguro. No encontré información en la documentación.",
        "Não tenho certeza. Não encontrei informações na documentação.",
        "確かではありません。ドキュメントには記載がありません。",
        "我不确定。文档中没有关于这个的说明。",
        "Non sono sicuro.",
        "",
    ],
)
def test_hedging_answers_are_not_confident(vocabulary: ProjectVocabulary, answer: str) -> None:
    thread = make_thread("How do I rotate an API key?", answer, urls=URL)
    labels = label_thread(thread, vocabulary)
    assert labels.is_answer_confident is False
    assert labels.is_documented is False
    assert labels.gap_summary is not None


def test_documented_needs_confidence_a_source_and_no_negative_feedback(
    vocabulary: ProjectVocabulary,
) -> None:
    answer = "Open Settings → Domains and click Add Domain."
    documented = label_thread(make_thread("How do I add a domain?", answer, urls=URL), vocabulary)
    assert (documented.is_answer_confident, documented.is_documented) == (True, True)
    assert documented.gap_summary is None
    unsourced = label_thread(make_thread("How do I add a domain?", answer), vocabulary)
    assert (unsourced.is_answer_confident, unsourced.is_documented) == (True, False)
    assert unsourced.gap_summary is not None
    linked = answer + " See [the guide](https://docs.skyport.dev/domains)."
    assert label_thread(make_thread("How do I add a domain?", linked), vocabulary).is_documented
    disliked = make_thread("How do I add a domain?", answer, urls=URL, negative=True)
    assert label_thread(disliked, vocabulary).is_documented is False


@pytest.mark.parametrize(
    ("question", "answer", "supported"),
    [
        ("Can I pay with PayPal?", "No, Skyport doesn't support PayPal.", False),
        ("Kann ich per Lastschrift bezahlen?", "Nein, Lastschrift wird nicht unterstützt.", False),
        ("Skyport prend-il en charge SCIM ?", "Non, SCIM n'est pas pris en charge.", False),
        ("¿Las funciones soportan WebSockets?", "No, las funciones no soportan WebSockets.", False),
        ("Vocês oferecem MongoDB?", "Não, o Skyport não oferece MongoDB.", False),
        ("MySQLを追加してほしいです", "現在、MySQL には対応していません。", False),
        ("支持 MongoDB 吗？", "目前不支持 MongoDB。", False),
        ("Can I use a wildcard domain?", "Yes, Skyport supports wildcard domains.", True),
        ("Kann ich Django verwenden?", "Ja. Setze DATABASE_URL auf die Verbindung.", True),
        ("Dá para fazer deploy de uma imagem Docker?", "Sim. Envie a imagem.", True),
        ("How do I add a domain?", "Yes: open Settings → Domains.", None),
        ("Does it support SCIM?", "I'm not sure whether SCIM is supported.", None),
    ],
)
def test_feature_support(
    vocabulary: ProjectVocabulary, question: str, answer: str, supported: bool | None
) -> None:
    thread = make_thread(question, answer, urls=URL)
    assert label_thread(thread, vocabulary).is_feature_supported is supported
