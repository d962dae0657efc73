"""questionType from the user's messages, in several languages."""

from __future__ import annotations

import pytest

from threadline.insights.labels.question_type import question_type_of
from threadline.insights.labels.text import Text


@pytest.mark.parametrize(
    ("message", "question_type"),
    [
        ("How do I set environment variables for production only?", "how_to"),
        ("Wie richte ich SAML-SSO mit Okta ein?", "how_to"),
        ("Build fails with 'npm ERR! code ERESOLVE'", "troubleshooting"),
        ("Mein Build schlägt fehl", "troubleshooting"),
        # "bitte" is politeness, not a feature request.
        ("Kannst du mir bitte helfen? Mein Build schlägt fehl", "troubleshooting"),
        ("Le build échoue avec une erreur", "troubleshooting"),
        ("El despliegue falla con un error 500", "troubleshooting"),
        ("ビルドが失敗します", "troubleshooting"),
        ("调用 API 一直返回 401 错误", "troubleshooting"),
        ("What's the difference between SAML and OIDC?", "conceptual"),
        ("Was ist der Unterschied zwischen Build- und Laufzeitvariablen?", "conceptual"),
        ("Pourquoi la première requête est-elle lente ?", "conceptual"),
        ("构建时和运行时变量有什么区别？", "conceptual"),
        ("Can you add Bun as a runtime?", "feature_request"),
        ("Pourriez-vous ajouter des webhooks ? Ce serait utile.", "feature_request"),
        ("MySQLを追加してほしいです", "feature_request"),
        ("Where can I download my invoices?", "account"),
        ("Wo finde ich meine Rechnungen?", "account"),
        ("Comment réinitialiser mon mot de passe ?", "account"),
        ("¿Dónde puedo descargar mis facturas?", "account"),
        ("在哪里下载发票？", "account"),
        # "prend en charge" (supports) is not a charge on a card.
        ("Skyport prend-il en charge SCIM ?", "how_to"),
        ("How do I password-protect preview deployments?", "how_to"),
    ],
)
def test_question_type(message: str, question_type: str) -> None:
    assert question_type_of(Text(message), on_topic=True, asks=True) == question_type


def test_off_topic_is_other_unless_something_fails() -> None:
    assert question_type_of(Text("Write me a poem"), on_topic=False, asks=True) == "other"
    assert question_type_of(Text("it doesn't work"), on_topic=False, asks=True) == "troubleshooting"
    assert question_type_of(Text("thanks!"), on_topic=True, asks=False) == "other"
