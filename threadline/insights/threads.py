"""From stored rows to segments and back: message text, content hashes, and the
semantic_threads row of a labelled segment (shared/reference/semantic-threads.md)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from threadline.insights.model import Labels, ThreadText
from threadline.insights.segment import Message, Segment


def text_of(content: Any, parts: Any) -> str:
    """A message's text: its string content, or the text parts of array content."""
    if isinstance(content, str):
        return content
    if isinstance(parts, list):
        return "\n".join(
            str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def urls_of(links: Any) -> tuple[str, ...]:
    if not isinstance(links, list):
        return ()
    return tuple(str(link["url"]) for link in links if isinstance(link, dict) and link.get("url"))


def message_of(row: Any) -> Message:
    return Message(
        id=row.id,
        role=row.role,
        content=text_of(row.content, row.content_parts),
        created_at=int(row.created_at),
        cited_urls=urls_of(row.links),
    )


def content_hash(segment: Segment, product_names: tuple[str, ...], *, llm: bool = False) -> str:
    """What the labels depend on, apart from feedback (kept current without relabelling). `llm`:
    the thread is for the LLM labeller, so opting a project in (or out) makes `insights run`
    relabel its threads; the local labeller's hashes stay as they were."""
    payload: list[object] = [
        segment.is_initial,
        list(product_names),
        [[m.id, m.role, m.content, list(m.cited_urls)] for m in segment.messages],
    ]
    if llm:
        payload.append("llm")
    return hashlib.sha256(msgspec.json.encode(payload)).hexdigest()


def feedback_flags(segment: Segment, feedback: dict[str, set[str]]) -> tuple[bool, bool]:
    kinds = set().union(*(feedback.get(m.id, set()) for m in segment.messages))
    return "positive" in kinds, "negative" in kinds


def thread_text(segment: Segment, positive: bool, negative: bool) -> ThreadText:
    return ThreadText(
        question=segment.question,
        user_messages=segment.user_messages,
        assistant_messages=segment.assistant_messages,
        cited_urls=segment.cited_urls,
        has_positive_feedback=positive,
        has_negative_feedback=negative,
    )


def thread_row(
    segment: Segment,
    text: ThreadText,
    labels: Labels,
    conversation: Any,
    subject: tuple[str, str] | None,
    now: int,
) -> dict[str, Any]:
    """The semantic_threads row of one labelled thread."""
    return {
        "project_id": conversation.project_id,
        "id": segment.id,
        "integration_id": conversation.integration_id,
        "message_ids": [m.id for m in segment.messages],
        "messages_count": len(segment.messages),
        "question": text.question,
        "question_length": len(text.question),
        "answer": text.answer,
        "is_on_topic": labels.is_on_topic,
        "is_clear": labels.is_clear,
        "is_documented": labels.is_documented,
        "is_feature_supported": labels.is_feature_supported,
        "is_answer_confident": labels.is_answer_confident,
        "gap_summary": labels.gap_summary,
        "subject": subject[0] if subject else None,
        "category": subject[1] if subject else None,
        "question_type": labels.question_type,
        "languages": list(labels.languages),
        "first_party_entities": list(labels.first_party_entities),
        "third_party_entities": list(labels.third_party_entities),
        "emotion": labels.emotion,
        "sentiment": labels.sentiment,
        "properties": conversation.properties,
        "user_properties": conversation.user_properties,
        "first_message_at": segment.messages[0].created_at,
        "last_message_at": segment.messages[-1].created_at,
        "last_updated_at": now,
        "has_positive_feedback": text.has_positive_feedback,
        "has_negative_feedback": text.has_negative_feedback,
        "conversation_ids": [conversation.id],
        "are_ai_annotations_verified": False,
        "is_initial_question_answer": segment.is_initial,
    }
