"""Entities: the operator's own names (the project's vocabulary) and third-party products,
services and tools (a gazetteer shipped as package data, threadline/insights/data/third_party.txt,
plus CamelCase names it does not know), matched on whole words with canonical casing.

Names that are also ordinary words (Go, Rust, Slack) are marked in the gazetteer and match only
with their own casing and never as a sentence's first word ("Go to Settings" names nothing).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from importlib import resources

from threadline.insights.labels.text import prose

_TOKEN = re.compile(r"\.?\w[\w+#]*(?:[.'/@&-]\w[\w+#]*)*[+#]*")
_FENCED = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_CAMEL = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+")
_SENTENCE_END = frozenset(".!?:;\n")
# CamelCase words that are techniques or formats, not products.
_NOT_NAMES = frozenset(
    {"websocket", "websockets", "webhook", "webhooks", "webrtc", "oauth", "openid", "devops"}
    | {"fullstack", "backend", "frontend", "localhost", "javascript", "typescript", "readme"}
)
# The longest name, in tokens, the matcher looks for.
MAX_WORDS = 5


@dataclasses.dataclass(frozen=True)
class Gazetteer:
    """Names by their tokens: lowercased for ordinary names, as written for the marked ones."""

    insensitive: dict[tuple[str, ...], str]
    sensitive: dict[tuple[str, ...], str]
    # First tokens of names longer than one token, so most tokens cost one set lookup.
    starts: frozenset[str]

    def match(
        self, tokens: list[str], lowered: list[str], at: int, initial: bool
    ) -> tuple[str, int] | None:
        """The longest name starting at token `at`: (canonical name, tokens used)."""
        longest = MAX_WORDS if lowered[at] in self.starts else 1
        for size in range(min(longest, len(tokens) - at), 0, -1):
            name = self.insensitive.get(tuple(lowered[at : at + size]))
            if name is None and not (initial and size == 1):
                name = self.sensitive.get(tuple(tokens[at : at + size]))
            if name is not None:
                return name, size
        return None


def build_gazetteer(lines: Iterable[str]) -> Gazetteer:
    insensitive: dict[tuple[str, ...], str] = {}
    sensitive: dict[tuple[str, ...], str] = {}
    starts: set[str] = set()
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        marked = line.startswith("=")
        names = [name.strip() for name in line.lstrip("=").split("|") if name.strip()]
        for name in names:
            tokens = tuple(_TOKEN.findall(name))
            if not tokens:
                continue
            key = tokens if marked else tuple(token.lower() for token in tokens)
            (sensitive if marked else insensitive).setdefault(key, names[0])
            if len(tokens) > 1:
                starts.add(tokens[0].lower())
    return Gazetteer(insensitive, sensitive, frozenset(starts))


@functools.cache
def third_party_gazetteer() -> Gazetteer:
    text = (
        resources.files("threadline.insights.data").joinpath("third_party.txt").read_text("utf-8")
    )
    return build_gazetteer(text.splitlines())


@functools.lru_cache(maxsize=64)
def vocabulary_gazetteer(names: tuple[str, ...]) -> Gazetteer:
    """The project's own names; every one matched whatever its casing."""
    return build_gazetteer(name.replace("|", " ").replace("=", " ") for name in names)


def _tokens(text: str) -> tuple[list[str], list[bool]]:
    """Tokens of the text and, for each, whether it opens a sentence (or follows a number)."""
    tokens: list[str] = []
    initial: list[bool] = []
    for match in _TOKEN.finditer(text):
        before = _previous_char(text, match.start())
        # After a number a capitalised word is a unit ("8 Go de mémoire"), not a name.
        initial.append(not before or before in _SENTENCE_END or before.isdigit())
        tokens.append(match.group(0))
    return tokens, initial


def _previous_char(text: str, index: int) -> str:
    """The last character before `index` that is not a space or tab ("" at the start)."""
    index -= 1
    while index >= 0 and text[index] in " \t":
        index -= 1
    return text[index] if index >= 0 else ""


def _shorten(token: str) -> str:
    """A compound that is not a name as a whole ("Redis-compatible", "Skyport's") is tried
    again cut at its first apostrophe or hyphen."""
    for separator in ("'", "-"):
        if separator in token and not token.startswith(separator):
            return token.split(separator, 1)[0]
    return token


def find_entities(
    text: str, vocabulary: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first-party names, third-party names) mentioned in the text, each sorted and unique.
    Fenced code blocks and URLs are not mentions; inline code is (`npm install`)."""
    body = _URL.sub(" ", _FENCED.sub(" ", text))
    tokens, initial = _tokens(body)
    lowered = [token.lower() for token in tokens]
    own = vocabulary_gazetteer(vocabulary)
    other = third_party_gazetteer()
    first: set[str] = set()
    third: set[str] = set()
    at = 0
    while at < len(tokens):
        found = _match_at(own, other, tokens, lowered, at, initial[at])
        if found is None:
            at += 1
            continue
        name, size, is_own = found
        (first if is_own else third).add(name)
        at += size
    third |= _camel_case_names(prose(body), first | third, own, other)
    return _sorted(first), _sorted(third - first)


def _match_at(
    own: Gazetteer, other: Gazetteer, tokens: list[str], lowered: list[str], at: int, initial: bool
) -> tuple[str, int, bool] | None:
    found = _longest(own, other, tokens, lowered, at, initial)
    head = _shorten(tokens[at])
    if found is None and head != tokens[at]:
        found = _longest(own, other, [head], [head.lower()], 0, initial)
        return (found[0], 1, found[2]) if found else None
    return found


def _longest(
    own: Gazetteer, other: Gazetteer, tokens: list[str], lowered: list[str], at: int, initial: bool
) -> tuple[str, int, bool] | None:
    mine = own.match(tokens, lowered, at, initial)
    theirs = other.match(tokens, lowered, at, initial)
    if mine and (not theirs or mine[1] >= theirs[1]):
        return mine[0], mine[1], True
    if theirs:
        return theirs[0], theirs[1], False
    return None


def _camel_case_names(text: str, known: set[str], own: Gazetteer, other: Gazetteer) -> set[str]:
    """CamelCase words the gazetteer lacks ("PlanetScale", "NextAuth") are named products more
    often than not; known names and the project's own are left out."""
    found: set[str] = set()
    known_lower = {name.lower() for name in known}
    for match in _CAMEL.finditer(text):
        word = match.group(0)
        start, end = match.span()
        if (start and (text[start - 1].isalnum() or text[start - 1] in "-_.")) or (
            end < len(text) and (text[end].isalnum() or text[end] in "-_")
        ):
            continue
        key = (word.lower(),)
        if (
            len(word) < 6
            or word.lower() in _NOT_NAMES
            or word.lower() in known_lower
            or key in own.insensitive
            or key in other.insensitive
        ):
            continue
        found.add(word)
    return found


def _sorted(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda name: (name.lower(), name)))
