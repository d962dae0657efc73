"""What is sent to the LLM for one thread: the vocabulary's rules, the project's product names,
and the thread's messages, each cut to a bounded size."""

from __future__ import annotations

from typing import Any

import msgspec

from threadline.insights.model import ProjectVocabulary, ThreadText

# Characters of the thread sent at most: the user side, the answer, and cited URLs.
MAX_USER_CHARS = 4_000
MAX_ANSWER_CHARS = 8_000
MAX_URLS = 20
MAX_PRODUCT_NAMES = 50

SYSTEM = """You label one question/answer thread from a product's documentation assistant.
Answer with JSON only, matching the schema. The rules:
- languages: ISO 639-1 codes (lowercase) of the user's messages.
- sentiment: the user's over the thread. positive = thanks/praise; negative = complaint, \
frustration, "this is broken/useless"; neutral = a plain question.
- emotion: the user's dominant one: neutral, curious, confused, frustrated or satisfied.
- questionType: how_to = how do I do X; troubleshooting = X fails / error / not working; \
conceptual = what is / why / difference between; feature_request = asks for something the \
product lacks or "can you add"; account = billing, plans, invoices, login, seats; \
other = off-topic or anything else.
- isOnTopic: the question is about the product the assistant serves (false for poems, \
weather, trivia, homework).
- isClear: the question can be understood and answered as asked.
- isAnswerConfident: false when the answer hedges, does not know, could not find it, or declines.
- isDocumented: true when the answer is confident and grounded in documentation (cites or \
links a page); false when it says the docs do not cover it or has no source.
- isFeatureSupported: false when the answer says the product does not support what was asked, \
true when it says it does, null when not applicable or off topic.
- gapSummary: when on topic and (isDocumented is false or isAnswerConfident is false), one \
short sentence naming what the documentation is missing; otherwise null.
- firstPartyEntities: names of the operator's own product, features and components mentioned \
(the product names given, and others of the same product).
- thirdPartyEntities: names of other products, services or tools mentioned (Okta, Docker, ...)."""


def messages(thread: ThreadText, vocabulary: ProjectVocabulary) -> list[dict[str, str]]:
    """The chat messages for one thread."""
    names = list((vocabulary.product_names + vocabulary.learned_terms)[:MAX_PRODUCT_NAMES])
    user_messages = _bounded(thread.user_messages or (thread.question,), MAX_USER_CHARS)
    thread_json: dict[str, Any] = {
        "productNames": names,
        "userMessages": user_messages,
        "assistantAnswer": _bounded((thread.answer,), MAX_ANSWER_CHARS)[0] if thread.answer else "",
        "citedUrls": [url[:500] for url in thread.cited_urls[:MAX_URLS]],
        "hasNegativeFeedback": thread.has_negative_feedback,
    }
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": msgspec.json.encode(thread_json).decode()},
    ]


def _bounded(texts: tuple[str, ...], limit: int) -> list[str]:
    """The first texts up to `limit` characters in all, the last one cut (marked with …)."""
    kept: list[str] = []
    room = limit
    for text in texts:
        if room <= 0:
            break
        kept.append(text if len(text) <= room else text[:room] + "…")
        room -= len(text)
    return kept
