"""isOnTopic and isClear."""

from __future__ import annotations

import pytest

from tests.insights.conftest import make_thread
from threadline.insights.labels import label_thread
from threadline.insights.model import ProjectVocabulary

DECLINE = "I can only help with questions about Skyport."


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Write me a poem about the ocean", DECLINE),
        ("Wie wird das Wetter morgen in München?", "Ich kann nur Fragen zu Skyport beantworten."),
        ("Écris-moi un poème sur la mer", "Désolé, je ne peux aider que pour Skyport."),
        ("Hazme la tarea de historia", "No puedo ayudar con eso; solo respondo preguntas."),
        ("Me conta uma piada", "Desculpe, só posso ajudar com perguntas sobre o Skyport."),
        ("明日の東京の天気は？", "Skyport に関する質問にのみお答えできます。"),
        ("给我写一首诗", "抱歉，我只能回答与 Skyport 相关的问题。"),
        # Off-topic by what is asked, even when the answer plays along.
        ("What's the weather like in Berlin tomorrow?", "Sunny, 20 degrees."),
        # Thanks alone asks nothing.
        ("Rollback worked, thank you so much! 🙏", "Glad it worked!"),
    ],
)
def test_off_topic(vocabulary: ProjectVocabulary, question: str, answer: str) -> None:
    labels = label_thread(make_thread(question, answer), vocabulary)
    assert labels.is_on_topic is False
    assert labels.gap_summary is None
    assert labels.is_feature_supported is None


@pytest.mark.parametrize(
    "question",
    [
        "How do I add a custom domain to my project?",
        "Kann ich Skyport Postgres mit Django verwenden?",
        "能不能增加对 MongoDB 的托管支持？",
        "Is there a size limit for environment variables?",
    ],
)
def test_on_topic(vocabulary: ProjectVocabulary, question: str) -> None:
    assert (
        label_thread(make_thread(question, "Yes, see the guide."), vocabulary).is_on_topic is True
    )


@pytest.mark.parametrize(
    "question", ["help", "it doesn't work", "geht nicht", "???", "asdf jkl", "👍", "hi"]
)
def test_unclear(vocabulary: ProjectVocabulary, question: str) -> None:
    labels = label_thread(make_thread(question, "Could you tell me more?"), vocabulary)
    assert labels.is_clear is False
    assert labels.is_on_topic is False


@pytest.mark.parametrize(
    "question",
    ["Build fails on deploy", "Where are my invoices?", "Me conta uma piada", "如何重置我的密码？"],
)
def test_clear(vocabulary: ProjectVocabulary, question: str) -> None:
    assert label_thread(make_thread(question, "Sure."), vocabulary).is_clear is True
