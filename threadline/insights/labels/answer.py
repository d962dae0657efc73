"""What the answer says about itself: whether it is confident, grounded in documentation, and
whether the product supports what was asked, with hedges and refusals written out in every
language the labellers know (not one English regex)."""

from __future__ import annotations

import re

from threadline.insights.labels.text import Text, cues

HEDGES = cues(
    """i'm not sure|i am not sure|not certain|i'm not certain|i don't know|i do not know|
    couldn't find|could not find|can't find|cannot find|don't have information|
    don't have enough information|do not have information|no information about|not documented|
    doesn't cover|does not cover|don't cover|isn't covered|not covered|i can't help|
    i cannot help|can't see or change|cannot see|hard to say|can't tell|cannot tell|might be|
    possibly|i don't think|it's unclear|i can only|i'm only able|outside what i can help|
    here to help with|don't have access|can't say|no guarantee|unable to find|i'm sorry|sorry|
    nicht sicher|weiß ich nicht|weiß nicht|keine informationen|keine angaben|nichts gefunden|
    nicht gefunden|nicht dokumentiert|kann ich leider nicht|nicht einsehen|nicht genau sagen|
    möglicherweise|ich kann nur|nicht helfen|beantworte nur|leider keine|
    pas sûr|pas certain|je ne sais pas|n'ai pas trouvé|n'ai rien trouvé|ne couvre pas|
    pas d'information|je ne peux pas|ne peux répondre|ne peux aider|peut-être|désolé|
    no estoy seguro|no sé|no encontré|no tengo información|no cubre|no puedo|solo puedo|
    solo respondo|es posible que|lo siento|
    não tenho certeza|não sei|não encontrei|não cobre|não posso|só posso|respondo apenas|
    desculpe|
    non sono sicuro|non so|non ho trovato|weet ik niet|niet zeker|
    確かではありません|わかりません|分かりません|見つかりませんでした|記載がありません|
    記載が見つかりません|のみお答えできます|申し訳ありません|
    不确定|不知道|没有关于|没有找到|无法查看|只能回答|抱歉|没有相关"""
)
UNSUPPORTED = cues(
    """not supported|doesn't support|don't support|does not support|do not support|
    isn't supported|aren't supported|doesn't offer|does not offer|not available|no support for|
    can't be|cannot be|
    nicht unterstützt|unterstützt nicht|nicht möglich|gibt es nicht|bietet nicht|
    pas pris en charge|ne prend pas en charge|pas possible|n'est pas disponible|
    no está soportado|no están soportados|no admite|no soporta|no soportan|no es posible|
    no es compatible|no ofrece|
    não são suportados|não é suportado|não suporta|não aceita|não oferece|não é possível|
    non è supportato|non supporta|niet ondersteund|
    対応していません|サポートしていません|できません|不支持|无法支持"""
)
AFFIRMS = cues(
    """yes|supports|is supported|are supported|ja|unterstützt|oui|prend en charge|sí|admite|
    soporta|sim|suporta|sì|はい|対応しています|支持|可以"""
)
CAPABILITY = re.compile(
    r"^\s*(?:can|could) (?:i|we|you|it|functions?)\b|\bdoes .{0,40}\bsupport|\bdo (?:you|they|"
    r"skyport|[a-z]+ functions) .{0,20}(?:support|offer)|\bis (?:it|there) (?:possible|a|an)\b|"
    r"\bare .{0,30} supported|^\s*kann (?:ich|man)\b|unterstützt|^\s*gibt es\b|könnt ihr|"
    r"peut-on|puis-je|est-il possible|prend-il en charge|¿?se puede|¿?puedo|soporta|admite|"
    r"¿?podrían|dá para|^\s*posso\b|suporta|oferecem|é possível|できますか|対応していますか|"
    r"支持.{0,20}吗|能不能|可以.{0,20}吗",
    re.IGNORECASE,
)
_LINK = re.compile(r"https?://|\]\(", re.IGNORECASE)


def is_confident(answer: Text) -> bool:
    """False when the answer hedges, does not know, could not find it, or declines; an empty
    answer is not confident."""
    return bool(answer.tokens) and not HEDGES.any(answer)


def has_source(answer: Text, cited_urls: tuple[str, ...]) -> bool:
    return bool(cited_urls) or _LINK.search(answer.raw) is not None


def feature_support(
    question: Text, answer: Text, *, confident: bool, asks_for_feature: bool
) -> bool | None:
    """False when the answer says the product does not support it (whatever else it says);
    True when a capability question or feature request is answered yes, confidently; else None."""
    if UNSUPPORTED.any(answer):
        return False
    if not (asks_for_feature or CAPABILITY.search(question.raw)):
        return None
    opening = Text(" ".join(answer.tokens[:12]) if answer.tokens else "")
    if confident and AFFIRMS.any(opening):
        return True
    return None
