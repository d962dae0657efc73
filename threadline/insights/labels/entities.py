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
from collections.abc import Callable, Iterable
from importlib import resources

from threadline.insights.labels.text import SPACED, prose

_PART = rf"{SPACED}(?:{SPACED}|[+#])*"
_TOKEN = re.compile(rf"\.?{_PART}(?:[.'/@&-]{_PART})*")
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
    """Names by their tokens (lowercased for ordinary names, as written for the marked ones),
    each as (canonical name, whether it is the project's own)."""

    insensitive: dict[tuple[str, ...], tuple[str, bool]]
    sensitive: dict[tuple[str, ...], tuple[str, bool]]
    # First tokens of every name, so most tokens cost one set lookup.
    starts: frozenset[str]
    # First tokens of names longer than one token.
    long_starts: frozenset[str]

    def match(
        self,
        tokens: list[str],
        lowered: list[str],
        at: int,
        opens_sentence: Callable[[int], bool],
        origin: int | None = None,
    ) -> tuple[str, bool, int] | None:
        """The longest name starting at token `at`: (canonical name, own, tokens used).
        `origin` is the token's index in the text when `tokens` is a window of its own."""
        token, low = tokens[at], lowered[at]
        if low not in self.starts and token not in self.starts:
            return None
        longest = MAX_WORDS if (low in self.long_starts or token in self.long_starts) else 1
        for size in range(min(longest, len(tokens) - at), 0, -1):
            name = self.insensitive.get(tuple(lowered[at : at + size]))
            if name is None:
                name = self.sensitive.get(tuple(tokens[at : at + size]))
                if (
                    name is not None
                    and size == 1
                    and opens_sentence(at if origin is None else origin)
                ):
                    name = None
            if name is not None:
                return name[0], name[1], size
        return None


def build_gazetteer(lines: Iterable[str], *, own: bool = False) -> Gazetteer:
    insensitive: dict[tuple[str, ...], tuple[str, bool]] = {}
    sensitive: dict[tuple[str, ...], tuple[str, bool]] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        marked = line.startswith("=") and not own
        names = [name.strip() for name in line.lstrip("=").split("|") if name.strip()]
        for name in names:
            tokens = tuple(_TOKEN.findall(name))
            if tokens:
                key = tokens if marked else tuple(token.lower() for token in tokens)
                (sensitive if marked else insensitive).setdefault(key, (names[0], own))
    return _indexed(insensitive, sensitive)


def _indexed(
    insensitive: dict[tuple[str, ...], tuple[str, bool]],
    sensitive: dict[tuple[str, ...], tuple[str, bool]],
) -> Gazetteer:
    keys = [*insensitive, *sensitive]
    return Gazetteer(
        insensitive,
        sensitive,
        frozenset(key[0] for key in keys),
        frozenset(key[0] for key in keys if len(key) > 1),
    )


@functools.cache
def third_party_gazetteer() -> Gazetteer:
    text = (
        resources.files("threadline.insights.data").joinpath("third_party.txt").read_text("utf-8")
    )
    return build_gazetteer(text.splitlines())


@functools.lru_cache(maxsize=64)
def project_gazetteer(names: tuple[str, ...]) -> Gazetteer:
    """The gazetteer with the project's own names added, matched whatever their casing; where a
    name is both, it is the project's."""
    own = build_gazetteer((name.replace("|", " ") for name in names), own=True)
    third = third_party_gazetteer()
    return _indexed(third.insensitive | own.insensitive, third.sensitive)


def find_entities(
    text: str, vocabulary: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first-party names, third-party names) mentioned in the text, each sorted and unique.
    Fenced code blocks and URLs are not mentions; inline code is (`npm install`)."""
    body = _URL.sub(" ", _FENCED.sub(" ", text))
    matches = list(_TOKEN.finditer(body))
    tokens = [match.group(0) for match in matches]
    lowered = [token.lower() for token in tokens]
    gazetteer = project_gazetteer(vocabulary)

    def opens_sentence(at: int) -> bool:
        # After a number a capitalised word is a unit ("8 Go de mémoire"), not a name.
        before = _previous_char(body, matches[at].start())
        return not before or before in _SENTENCE_END or before.isdigit()

    first: set[str] = set()
    third: set[str] = set()
    free = 0  # the first token not yet inside a found name
    for at in _candidates(tokens, lowered, gazetteer.starts):
        if at < free:
            continue
        found = gazetteer.match(tokens, lowered, at, opens_sentence)
        if found is None and ("'" in tokens[at] or "-" in tokens[at]):
            head = _shorten(tokens[at])
            found = gazetteer.match([head], [head.lower()], 0, opens_sentence, origin=at)
            found = (found[0], found[1], 1) if found else None
        if found is not None:
            name, own, size = found
            (first if own else third).add(name)
            free = at + size
    third |= _camel_case_names(prose(body), first | third, gazetteer)
    return _sorted(first), _sorted(third - first)


def _candidates(tokens: list[str], lowered: list[str], starts: frozenset[str]) -> list[int]:
    """Indexes of the tokens a name could start at (most tokens start none)."""
    return [
        at
        for at, (token, low) in enumerate(zip(tokens, lowered, strict=True))
        if low in starts or token in starts or "'" in token or "-" in token
    ]


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


def _camel_case_names(text: str, known: set[str], gazetteer: Gazetteer) -> set[str]:
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
            or key in gazetteer.insensitive
            or (word,) in gazetteer.sensitive
        ):
            continue
        found.add(word)
    return found


def _sorted(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda name: (name.lower(), name)))
