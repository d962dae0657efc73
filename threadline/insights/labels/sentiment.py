"""The user's sentiment and dominant emotion over a thread, from cue lexicons in every language
the labellers know, emoji, and negation ("not bad", "no problem" are not complaints).

A plain question is neutral; thanks and praise are positive; complaints, frustration and
"this is broken" are negative (shared/reference/semantic-threads.md).
"""

from __future__ import annotations

from threadline.insights.labels.text import Text, cues
from threadline.insights.model import Emotion, Sentiment

POSITIVE = cues(
    """thanks|thank you|thx|ty|great|awesome|love|perfect|perfectly|amazing|excellent|saved|
    glad|works now|worked|helpful|nice|brilliant|fantastic|exactly what i needed|cool|
    danke|vielen dank|super|perfekt|geklappt|toll|klasse|prima|hilfreich|
    merci|parfait|génial|excellent|fonctionné|top|
    gracias|genial|perfecto|excelente|funciona perfecto|
    obrigado|obrigada|valeu|ótimo|perfeito|deu certo|maravilha|
    grazie|perfetto|bedankt|
    ありがとう|できました|よかった|助かりました|谢谢|太好了|感谢|解决了"""
)
NEGATIVE = cues(
    """annoying|frustrating|frustrated|useless|broken|ridiculous|unacceptable|terrible|awful|
    horrible|disaster|worst|hate|again|still broken|is down|waste|fix this|
    can't log in|cannot log in|can't login|always rejected|it doesn't work|doesn't work|
    not working|nothing works|
    nervig|ärgerlich|inakzeptabel|kaputt|schrecklich|geht nicht|funktioniert nicht|wieder|
    immer abgelehnt|kann mich nicht anmelden|
    pénible|inacceptable|nul|ça ne marche pas|ne marche pas|ne fonctionne pas|horrible|
    desastre|inaceptable|no funciona|no puedo iniciar|ya no sé qué hacer|terrible|
    que saco|não aguento|não funciona|péssimo|horrível|inaceitável|
    困って|ひどい|最悪|糟糕|太差|垃圾|无法登录"""
)
# Politeness, not praise: "Thanks in advance!" closes a plain question.
POLITE = cues(
    """thanks in advance|thank you in advance|danke im voraus|merci d'avance|gracias de antemano|
    obrigado desde já|would be great|would be nice|would love|sería genial|seria ótimo|
    das wäre super|wäre toll|wäre super|ce serait"""
)
NEGATORS = frozenset(
    {"not", "no", "never", "don't", "doesn't", "isn't", "wasn't", "nicht", "kein", "keine"}
    | {"pas", "jamais", "nunca", "não", "nao", "non", "niet"}
)
CONFUSED = cues(
    """confused|confusing|i don't understand|don't get it|makes no sense|not sure what|
    even though|works locally|but it works|obwohl|lokal funktioniert|alors que|pero nada|
    mesmo assim|但本地|
    verstehe nicht|verstehe ich nicht|je ne comprends pas|je comprends pas|no entiendo|
    não entendo|não estou entendendo|わからない|分からない|不明白|不懂|看不懂"""
)
POSITIVE_EMOJI = frozenset("🙏😊👍🎉😍👏🙂❤💯🚀😀😃😄🥳✅")
NEGATIVE_EMOJI = frozenset("😤😩😭😡🤬👎💩😠😞😢😫🙄")
CONFUSED_EMOJI = frozenset("🤔😕❓")


def _score(text: Text) -> int:
    """Positive minus negative cues; a positive word right after a negator counts negative."""
    score = max(0, POSITIVE.count(text) - POLITE.count(text)) - NEGATIVE.count(text)
    for index, token in enumerate(text.tokens[1:], start=1):
        if token in POSITIVE.single and text.tokens[index - 1] in NEGATORS:
            score -= 2
    score += sum(1 for char in text.raw if char in POSITIVE_EMOJI)
    score -= 2 * sum(1 for char in text.raw if char in NEGATIVE_EMOJI)
    if "!!" in text.raw and score <= 0:
        score -= 1
    return score


def sentiment_of(user_text: Text) -> Sentiment:
    score = _score(user_text)
    if score > 0:
        return "positive"
    if score < 0:
        return "negative"
    return "neutral"


def emotion_of(user_text: Text, last_message: Text, sentiment: Sentiment) -> Emotion:
    """Frustrated when negative; confused when the user says so; satisfied when the thread ends
    on thanks; curious while asking; neutral otherwise."""
    if sentiment == "negative":
        return "frustrated"
    if CONFUSED.any(user_text) or any(char in CONFUSED_EMOJI for char in user_text.raw):
        return "confused"
    asking = is_asking(last_message)
    if sentiment == "positive" and not asking:
        return "satisfied"
    if asking or is_asking(user_text):
        return "curious"
    if user_text.raw.strip() and set(user_text.raw.strip()) <= {"?"}:
        return "confused"
    return "neutral"


QUESTION_WORDS = cues(
    """how|what|why|where|which|when|who|can|could|does|do|is|are|should|what's|how's|where's|
    wie|was|warum|wo|welche|welcher|kann|gibt|
    comment|pourquoi|où|quel|quelle|est-ce|peut|
    cómo|qué|por qué|dónde|cuál|cuánto|cuántos|se puede|
    como|porque|onde|qual|quanto|quantos|
    come|perché|dove|hoe|wat|waarom|
    ですか|ますか|でしょうか|吗|如何|怎么|什么|哪里|是否|多少|多久"""
)
# Requests ask as much as questions do ("Please add…", "Schreib mir…", "追加してほしい").
REQUESTS = cues(
    """please|can you|could you|would love|tell me|give me|write me|show me|
    schreib mir|zeig mir|bitte|écris-moi|montre-moi|pourriez-vous|
    hazme|dime|muéstrame|podrían|me conta|me mostra|poderiam|
    してほしい|ください|请|给我"""
)


def is_asking(text: Text) -> bool:
    raw = text.raw
    if "?" in raw or "\uff1f" in raw:  # the fullwidth question mark of CJK text
        return True
    if REQUESTS.any(text):
        return True
    return bool(text.tokens) and QUESTION_WORDS.any(Text(" ".join(text.tokens[:2])))
