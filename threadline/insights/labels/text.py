"""Text as the labellers read it: cleaned once, lowercased, tokenised, with cue phrases matched
on whole words (Latin scripts) or as substrings (CJK, which has no spaces)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A message longer than this is labelled on its head: what a thread asks and how it is answered
# shows early, and a 50,000-character paste must not cost the pipeline its time budget.
MAX_CHARS = 4000
# The same for a thread's messages taken together (a thread of many long answers).
MAX_THREAD_CHARS = 12000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FENCED = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE = re.compile(r"`[^`\n]*`")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# Kana, Han and Hangul: scripts written without spaces between words.
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# A letter or digit of a script that separates words with spaces.
SPACED = rf"[^\W{CJK_CHARS}]"
# Words of spaced scripts, and runs of CJK, as separate tokens ("Deploy の error": 3 tokens).
_WORD = re.compile(rf"{SPACED}+(?:'{SPACED}+)*|[{CJK_CHARS}]+")
_CJK = re.compile(f"[{CJK_CHARS}]")


def clean(text: str) -> str:
    """The text without NULs and control characters, cut to MAX_CHARS, with one apostrophe."""
    return _CONTROL.sub(" ", text[:MAX_CHARS]).replace("\u2019", "'")


def prose(text: str) -> str:
    """What a person wrote, without code blocks, inline code and URLs (they say nothing about
    language or mood and would otherwise look like English)."""
    return _URL.sub(" ", _INLINE.sub(" ", _FENCED.sub(" ", text)))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


class Text:
    """One piece of text, prepared once for every cue lookup the labellers make."""

    __slots__ = ("lower", "norm", "raw", "tokens", "wordset")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.lower = raw.lower()
        self.tokens = words(self.lower)
        self.wordset = frozenset(self.tokens)
        # Space-padded so " not sure " matches whole words only.
        self.norm = " " + " ".join(self.tokens) + " "


class Cues:
    """A set of phrases in several languages; single words are looked up in a token set, phrases
    of several words by substring over the normalised text (only those whose first word occurs),
    CJK phrases over the raw text."""

    __slots__ = ("by_first", "cjk", "single")

    def __init__(self, phrases: Iterable[str]) -> None:
        single: set[str] = set()
        by_first: dict[str, list[str]] = {}
        cjk: list[str] = []
        for phrase in phrases:
            phrase = phrase.strip().lower().replace("\u2019", "'")
            if has_cjk(phrase):
                cjk.append(phrase)
                continue
            tokens = words(phrase)
            if len(tokens) == 1 and tokens[0] == phrase:
                single.add(phrase)
            elif tokens:
                by_first.setdefault(tokens[0], []).append(" " + " ".join(tokens) + " ")
        self.single = frozenset(single)
        self.by_first = {first: tuple(phrases) for first, phrases in by_first.items()}
        self.cjk = tuple(cjk)

    def _phrases_in(self, text: Text) -> list[str]:
        firsts = text.wordset.intersection(self.by_first)
        return [
            phrase for first in firsts for phrase in self.by_first[first] if phrase in text.norm
        ]

    def count(self, text: Text) -> int:
        hits = sum(1 for token in text.tokens if token in self.single)
        hits += sum(text.norm.count(phrase) for phrase in self._phrases_in(text))
        hits += sum(1 for phrase in self.cjk if phrase in text.lower)
        return hits

    def any(self, text: Text) -> bool:
        if not self.single.isdisjoint(text.wordset) or self._phrases_in(text):
            return True
        return any(phrase in text.lower for phrase in self.cjk)


def cues(phrases: str) -> Cues:
    """Cues from a "|"-separated list that may run over several lines."""
    return Cues(phrase for phrase in phrases.replace("\n", "").split("|") if phrase.strip())
