"""gapSummary: one short English sentence naming what the documentation is missing, built from
the question's key phrase ("How do I configure SAML with Okta?" -> "No documentation on how to
configure SAML with Okta.")."""

from __future__ import annotations

import re

from threadline.insights.labels.text import prose

MAX_PHRASE_CHARS = 100

# Ends of sentences, the CJK full stop, question and exclamation marks included.
_FIRST_SENTENCE = re.compile("[^?!.\u3002\uff1f\uff01\\n]+")
# English openings rewritten to a phrase that reads after "No documentation on ...".
_LEADS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (r"^(?:how|where) (?:do|can|should|would) (?:i|we|you) ", "how to "),
        (r"^how to ", "how to "),
        (r"^(?:can|could) (?:i|we) ", "whether you can "),
        (r"^(?:does|do) (?:skyport|you|it|\S+ \S+) support ", "support for "),
        (r"^(?:is there|are there) (?:a way to |any |an? )?", ""),
        (r"^(?:what is|what's|what are) (?:the )?", ""),
        (r"^why ", "why "),
        (r"^(?:please |can you |could you )?add ", "support for "),
    )
)
_PRONOUNS = {"my": "your", "i": "you", "we": "you", "our": "your", "me": "you", "i'm": "you're"}
_WORD = re.compile(r"[\w']+")


def key_phrase(question: str, *, english: bool) -> tuple[str, bool]:
    """The first sentence of the question without code, at most MAX_PHRASE_CHARS, and whether an
    English opening was rewritten (then first-person words turn to second person too)."""
    text = " ".join(prose(question).split())
    match = _FIRST_SENTENCE.search(text)
    phrase = match.group(0).strip(" ,;:-") if match else ""
    rewritten = False
    if english:
        for pattern, replacement in _LEADS:
            if pattern.search(phrase):
                phrase = pattern.sub(replacement, phrase, count=1)
                rewritten = True
                break
    if rewritten:
        phrase = _WORD.sub(lambda word: _PRONOUNS.get(word.group(0).lower(), word.group(0)), phrase)
    if len(phrase) > MAX_PHRASE_CHARS:
        phrase = phrase[:MAX_PHRASE_CHARS].rsplit(" ", 1)[0] + "…"
    return phrase, rewritten


def gap_summary(question: str, *, english: bool) -> str:
    """ "No documentation on how to X." when the opening could be rewritten, else the key phrase
    quoted as the user wrote it (in their language)."""
    phrase, rewritten = key_phrase(question, english=english)
    if not phrase:
        return "No documentation answers this question."
    if rewritten and phrase:
        return f"No documentation on {phrase}."
    return f"No documentation on “{phrase}”."
