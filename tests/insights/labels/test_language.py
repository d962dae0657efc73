"""languages: ISO 639-1 codes of the user's messages, sorted, with a default when undecidable."""

from __future__ import annotations

import pytest

from threadline.insights.labels.language import detect_languages, message_language


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("How do I add a custom domain to my project?", "en"),
        ("Wie füge ich meinem Projekt eine eigene Domain hinzu?", "de"),
        ("Comment ajouter un domaine personnalisé à mon projet ?", "fr"),
        ("¿Cómo agrego un dominio personalizado a mi proyecto?", "es"),
        ("Como adiciono um domínio personalizado ao meu projeto?", "pt"),
        ("Come aggiungo un dominio personalizzato al mio progetto?", "it"),
        ("Hoe stel ik een eigen domein in voor mijn project?", "nl"),
        ("プロジェクトに独自ドメインを追加するにはどうすればいいですか？", "ja"),
        ("如何为我的项目添加自定义域名？", "zh"),
        ("Как добавить свой домен?", "ru"),
        ("프로젝트에 도메인을 추가하려면?", "ko"),
        # An English error message quoted in a French sentence does not make it English.
        ("Le build échoue avec « JavaScript heap out of memory »", "fr"),
    ],
)
def test_message_language(message: str, language: str) -> None:
    assert message_language(message) == language


@pytest.mark.parametrize("message", ["", "👍", "```\nnpm run build\n```", "12345", "https://a.b/c"])
def test_undecidable_message(message: str) -> None:
    assert message_language(message) is None


def test_thread_languages_are_sorted_and_unique() -> None:
    messages = [
        "Wie verbinde ich meine Domain?",
        "Sorry, let me ask in English: do I need a CNAME?",
    ]
    assert detect_languages(messages, []) == ("de", "en")
    assert detect_languages(["Hallo, wie geht das?", "Und was ist mit DNS?"], []) == ("de",)


def test_undecidable_user_falls_back_to_the_answer_then_english() -> None:
    assert detect_languages(["Skyport?"], ["Bonjour ! Comment puis-je vous aider ?"]) == ("fr",)
    assert detect_languages(["👍"], []) == ("en",)
    assert detect_languages(["`x`", "Skyport"], ["👍"]) == ("en",)
