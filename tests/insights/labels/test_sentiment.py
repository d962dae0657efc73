"""sentiment and emotion: lexicons in several languages, emoji, negation."""

from __future__ import annotations

import pytest

from threadline.insights.labels.sentiment import emotion_of, sentiment_of
from threadline.insights.labels.text import Text


@pytest.mark.parametrize(
    ("message", "sentiment"),
    [
        ("Rollback worked, thank you so much!", "positive"),
        ("Danke, das hat perfekt geklappt!", "positive"),
        ("Merci beaucoup, ça a fonctionné !", "positive"),
        ("¡Gracias! Ya funciona perfecto", "positive"),
        ("Valeu, deu tudo certo!", "positive"),
        ("ありがとうございます！できました", "positive"),
        ("谢谢，太好了", "positive"),
        ("This is useless, the build is broken again", "negative"),
        ("Das ist echt ärgerlich, funktioniert nicht", "negative"),
        ("C'est pénible, ça ne marche pas", "negative"),
        ("No funciona y ya no sé qué hacer", "negative"),
        ("Não funciona, não aguento mais", "negative"),
        ("本当に困っています", "negative"),
        ("I can't log in with SSO 😡", "negative"),
        ("How do I add a custom domain?", "neutral"),
        ("How do I remove a member? Thanks in advance!", "neutral"),
        ("Would be great if webhooks could retry.", "neutral"),
        ("preview URLs are awesome 😍", "positive"),
        ("this is not great", "negative"),
    ],
)
def test_sentiment(message: str, sentiment: str) -> None:
    assert sentiment_of(Text(message)) == sentiment


@pytest.mark.parametrize(
    ("messages", "emotion"),
    [
        (["How do I add a custom domain?"], "curious"),
        (["I don't understand the invoice at all"], "confused"),
        (["Je ne comprends pas pourquoi"], "confused"),
        (["this is broken 😤"], "frustrated"),
        (["what's the limit", "thanks, that's exactly what I needed 👍"], "satisfied"),
        (["Love it! Can it filter by status?"], "curious"),
        (["help"], "neutral"),
        # A request asks as much as a question.
        (["Schreib mir ein Gedicht über den Herbst"], "curious"),
        (["MySQLを追加してほしいです"], "curious"),
        # "か" inside a word (届かなく) does not make a statement a question.
        (["Webhookが届かなくなりました。"], "neutral"),
        (["The deploy fails even though it works locally"], "confused"),
    ],
)
def test_emotion(messages: list[str], emotion: str) -> None:
    text = Text("\n".join(messages))
    assert emotion_of(text, Text(messages[-1]), sentiment_of(text)) == emotion
