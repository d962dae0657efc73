"""The per-thread labellers of semantic threads: pure, deterministic, offline functions from a
thread's text and the project's vocabulary to its Labels (shared/reference/semantic-threads.md).

One module per concern: language, sentiment (and emotion), question_type, topic (on topic,
clear), answer (confident, documented, feature supported), gap (summary), entities.
"""

from __future__ import annotations

from threadline.insights.labels.answer import feature_support, has_source, is_confident
from threadline.insights.labels.entities import find_entities
from threadline.insights.labels.gap import gap_summary
from threadline.insights.labels.language import detect_languages, message_language
from threadline.insights.labels.question_type import TROUBLESHOOTING, question_type_of
from threadline.insights.labels.sentiment import emotion_of, is_asking, sentiment_of
from threadline.insights.labels.text import MAX_THREAD_CHARS, Text, clean, prose
from threadline.insights.labels.topic import (
    domain_hit,
    is_clear,
    is_on_topic,
    only_thanks_or_greeting,
)
from threadline.insights.model import Labels, ProjectVocabulary, ThreadText

__all__ = ["label_thread"]


def label_thread(thread: ThreadText, vocabulary: ProjectVocabulary) -> Labels:
    """Every per-thread label of `thread` (all but subject and category, which come from
    clustering a project's threads together). Never raises on any text."""
    question_raw = clean(thread.question)
    user_messages = _bounded([clean(m) for m in thread.user_messages]) or [question_raw]
    assistant_messages = _bounded([clean(m) for m in thread.assistant_messages])
    question = Text(prose(question_raw))
    user_text = Text(prose("\n".join(user_messages)))
    answer = Text("\n\n".join(assistant_messages))

    names = vocabulary.product_names + vocabulary.learned_terms
    user_first, user_third = find_entities("\n".join(user_messages), names)
    answer_first, answer_third = find_entities(answer.raw, names)

    # Judged on the question: a thread that ends on "thanks!" still asked something.
    thanks_only = only_thanks_or_greeting(
        question, is_asking(question), TROUBLESHOOTING.any(question)
    )
    confident = is_confident(answer)
    sourced = has_source(answer, thread.cited_urls)
    known_word = bool(user_first or user_third) or domain_hit(question)
    clear = is_clear(question, known_word=known_word)
    on_topic = is_on_topic(
        user_text,
        answer,
        product_hit=bool(user_first),
        tool_hit=bool(user_third),
        clear=clear,
        thanks_only=thanks_only,
        grounded=confident and sourced,
    )
    question_type = question_type_of(user_text, on_topic=on_topic, asks=not thanks_only)
    documented = on_topic and confident and sourced and not thread.has_negative_feedback
    sentiment = sentiment_of(user_text)
    gap = None
    if on_topic and not (documented and confident):
        gap = gap_summary(question_raw, english=message_language(question_raw) in ("en", None))
    return Labels(
        languages=detect_languages(user_messages, assistant_messages),
        sentiment=sentiment,
        emotion=emotion_of(user_text, Text(prose(user_messages[-1])), sentiment),
        question_type=question_type,
        is_on_topic=on_topic,
        is_clear=clear,
        is_answer_confident=confident,
        is_documented=documented,
        is_feature_supported=feature_support(
            question,
            answer,
            confident=confident,
            asks_for_feature=question_type == "feature_request",
        )
        if on_topic
        else None,
        gap_summary=gap,
        first_party_entities=_union(user_first, answer_first),
        third_party_entities=_union(user_third, answer_third),
    )


def _bounded(messages: list[str]) -> list[str]:
    """The first messages up to MAX_THREAD_CHARS in all (the last one cut)."""
    kept: list[str] = []
    room = MAX_THREAD_CHARS
    for message in messages:
        if room <= 0:
            break
        kept.append(message[:room])
        room -= len(message)
    return kept


def _union(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(left) | set(right), key=lambda name: (name.lower(), name)))
