"""The labels an LLM is asked for, as msgspec Structs: the JSON schema sent with the request is
generated from them, and the answer is decoded and checked by them, then normalised to Labels."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from threadline.insights.labels.gap import gap_summary
from threadline.insights.labels.language import message_language
from threadline.insights.model import Emotion, Labels, QuestionType, Sentiment

# Bounds on what an answer may put in a thread row, whatever the model says.
MAX_ENTITIES = 20
MAX_ENTITY_CHARS = 80
MAX_GAP_SUMMARY_CHARS = 300
_LANGUAGE = re.compile(r"[a-z]{2}")


class LlmLabels(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """The per-thread labels of shared/reference/semantic-threads.md, named as in the view."""

    languages: list[str]
    sentiment: Sentiment
    emotion: Emotion
    question_type: QuestionType
    is_on_topic: bool
    is_clear: bool
    is_answer_confident: bool
    is_documented: bool
    is_feature_supported: bool | None
    gap_summary: str | None
    first_party_entities: list[str]
    third_party_entities: list[str]


class SchemaViolation(ValueError):
    """The model's answer decoded, but breaks a rule the schema cannot say (a language code)."""


def response_format() -> dict[str, Any]:
    """The chat-completions `response_format` constraining the answer to LlmLabels (OpenAI's
    strict structured outputs: every property required, no others)."""
    (_ref,), definitions = msgspec.json.schema_components([LlmLabels])
    schema = definitions["LlmLabels"]
    schema.pop("title", None)
    schema["description"] = "The labels of one question/answer thread."
    for field in schema["properties"].values():
        if "enum" in field:  # some servers' grammar engines want the type spelled out
            field["type"] = "string"
    schema["required"] = list(schema["properties"])
    schema["additionalProperties"] = False
    return {
        "type": "json_schema",
        "json_schema": {"name": "thread_labels", "strict": True, "schema": schema},
    }


_decoder = msgspec.json.Decoder(LlmLabels)


def decode_labels(content: str, question: str) -> Labels:
    """Labels from the model's JSON answer: enums checked by msgspec, language codes normalised
    ("EN-us" -> "en"), entities bounded, gapSummary present exactly for on-topic gaps (the
    local one-sentence summary when the model gave none). Raises msgspec.ValidationError,
    msgspec.DecodeError or SchemaViolation."""
    raw = _decoder.decode(content)
    on_topic = raw.is_on_topic
    gap = on_topic and not (raw.is_documented and raw.is_answer_confident)
    summary = (raw.gap_summary or "").strip()[:MAX_GAP_SUMMARY_CHARS] if gap else ""
    if gap and not summary:
        summary = gap_summary(question, english=message_language(question) in ("en", None))
    return Labels(
        languages=_languages(raw.languages),
        sentiment=raw.sentiment,
        emotion=raw.emotion,
        question_type=raw.question_type,
        is_on_topic=on_topic,
        is_clear=raw.is_clear,
        is_answer_confident=raw.is_answer_confident,
        is_documented=raw.is_documented,
        is_feature_supported=raw.is_feature_supported if on_topic else None,
        gap_summary=summary or None,
        first_party_entities=_entities(raw.first_party_entities),
        third_party_entities=_entities(raw.third_party_entities),
    )


def _languages(codes: list[str]) -> tuple[str, ...]:
    """ISO 639-1, lowercase, sorted, without duplicates; region or script subtags dropped."""
    out = set()
    for code in codes:
        primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
        if not _LANGUAGE.fullmatch(primary):
            raise SchemaViolation(f"not an ISO 639-1 language code: {code[:20]!r}")
        out.add(primary)
    return tuple(sorted(out))


def _entities(names: list[str]) -> tuple[str, ...]:
    kept = {n.strip()[:MAX_ENTITY_CHARS] for n in names if n.strip()}
    return tuple(sorted(kept, key=lambda name: (name.lower(), name))[:MAX_ENTITIES])
